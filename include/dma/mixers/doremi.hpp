// dma/mixers/doremi.hpp: DoReMi (Xie et al., 2023, "DoReMi: Optimizing Data Mixtures Speeds Up
// Language Model Pretraining", arXiv 2305.10429, Alg. 1): a reference run, then a proxy run whose
// domain weights follow Group-DRO exponentiated-gradient steps on the per-domain excess loss,
// alpha <- normalise(alpha * exp(eta * max(loss - ref, 0))), smoothed with uniform by c; the
// average of the weights over the proxy run is deployed as a static mixture (option: online,
// where the deployed run itself is re-weighted each stage). A Mixer; cost() counts the runs.
// CPT adaptation [ours] and the rest: docs/BASELINES.md. Tested in tests/unit/mixers_doremi.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/rng.hpp"
#include "dma/mixers/proxy.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

struct DoremiOptions {
  double eta = 1.0;          // DoReMi's step size (1 in the paper)
  double smoothing = 1e-3;   // c: alpha <- (1 - c) alpha + c / D (1e-3 in the paper)
  // Reference losses: the reference run's final held-out losses (the analogue of DoReMi's fully
  // trained reference model), or, with stage_matched, its loss after the same stage.
  bool stage_matched = false;
  bool online = false;       // re-weight the deployed run itself instead of deploying the average
  std::uint64_t seed = 1;    // run seeds of the reference and proxy runs
};

// The Group-DRO weights of one run (proxy or online deployment).
class DroWeights {
 public:
  DroWeights() = default;
  DroWeights(std::size_t d, double eta, double smoothing)
      : m_alpha(space::uniform(d)), m_eta(eta), m_c(smoothing) {}
  // One step from the losses after a stage and the reference losses; returns the excess used.
  std::vector<double> update(const std::vector<double>& loss, const std::vector<double>& ref) {
    const std::size_t D = m_alpha.size();
    if (loss.size() != D || ref.size() != D)
      fail("doremi: ", loss.size(), " domain losses and ", ref.size(), " reference losses, expected ", D);
    std::vector<double> excess(D);
    for (std::size_t i = 0; i < D; ++i) {
      excess[i] = std::max(loss[i] - ref[i], 0.0);
      m_alpha[i] *= std::exp(m_eta * excess[i]);
    }
    m_alpha = space::normalize(m_alpha);
    for (double& a : m_alpha) a = (1.0 - m_c) * a + m_c / double(D);
    return excess;
  }
  [[nodiscard]] const Mixture& alpha() const noexcept { return m_alpha; }

 private:
  Mixture m_alpha;
  double m_eta = 1.0, m_c = 1e-3;
};

template <Environment Env>
class DoReMi {
 public:
  // factory() returns the environment the reference and proxy runs are made on.
  using Factory = std::function<Env()>;
  // The reference run's mixture (default: uniform, as DoReMi's GLaM setting).
  using ReferenceMixture = std::function<Mixture(const EpisodeSpec&)>;

  explicit DoReMi(Factory factory, DoremiOptions opt = {}, std::string name = {}, ReferenceMixture ref = {})
      : m_factory(std::move(factory)), m_opt(opt), m_name(std::move(name)), m_ref_mix(std::move(ref)) {
    if (m_name.empty()) m_name = opt.online ? "doremi(online)" : "doremi";
    if (!m_factory) fail("mixer '", m_name, "': an environment factory is required");
    if (!(opt.eta >= 0) || !std::isfinite(opt.eta)) fail("mixer '", m_name, "': 'eta' must be finite and >= 0");
    if (!(opt.smoothing >= 0 && opt.smoothing <= 1)) fail("mixer '", m_name, "': 'smoothing' must be in [0, 1]");
  }

  // The reference run, then (offline) the proxy run; idempotent (cost is counted once).
  void fit() {
    if (m_fitted) return;
    Rng root(m_opt.seed);
    Rng seeds = root.split("doremi.runs");
    const std::string who = "mixer '" + m_name + "'";
    Env ref_env = m_factory();
    m_spec = ref_env.spec();
    const Mixture ref_mix = m_ref_mix ? m_ref_mix(m_spec) : space::uniform(m_spec.num_domains());
    space::validate_mixture(ref_mix, m_spec.num_domains(), who + ": reference mixture");
    const History ref = proxy_run(ref_env, seeds.next_u64(), [&](const History&) { return ref_mix; }, m_cost, who);
    m_ref_losses.clear();
    m_ref_losses.push_back(ref.initial.loss);
    for (const auto& s : ref.steps) m_ref_losses.push_back(s.feedback.loss);
    if (!m_opt.online) {
      Env proxy_env = m_factory();
      if (!same_domains(proxy_env.spec(), m_spec)) fail(who, ": the factory returned two different domain spaces");
      DroWeights dro(m_spec.num_domains(), m_opt.eta, m_opt.smoothing);
      m_alphas.clear();
      m_excess.clear();
      auto rule = [&](const History& h) {
        if (h.t() > 0) {
          m_excess.push_back(dro.update(h.last().loss, reference_for(h.t())));
          m_alphas.push_back(dro.alpha());
        }
        return dro.alpha();
      };
      const History proxy = proxy_run(proxy_env, seeds.next_u64(), rule, m_cost, who);
      // The update after the last stage counts too (DoReMi averages all T updates).
      m_excess.push_back(dro.update(proxy.last().loss, reference_for(proxy.t())));
      m_alphas.push_back(dro.alpha());
      m_static.assign(m_spec.num_domains(), 0.0);
      for (const auto& a : m_alphas)
        for (std::size_t i = 0; i < a.size(); ++i) m_static[i] += a[i] / double(m_alphas.size());
      m_static = space::normalize(m_static);
    }
    m_fitted = true;
  }

  void reset(const EpisodeSpec& spec) {
    fit();
    if (!same_domains(spec, m_spec))
      fail("mixer '", m_name, "': fitted on a space of ", m_spec.num_domains(), " domains, deployed on a different one (",
           spec.num_domains(), " domains); DoReMi's reference and proxy runs must be made on the deployment's space");
    m_online = DroWeights(spec.num_domains(), m_opt.eta, m_opt.smoothing);
    m_seen = 0;
  }
  Mixture next(const History& h) {
    if (!m_opt.online) return m_static;
    for (; m_seen < h.t(); ++m_seen) m_online.update(h.steps[m_seen].feedback.loss, reference_for(m_seen + 1));
    return m_online.alpha();
  }
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] bool open_loop() const noexcept { return !m_opt.online; }  // the offline mixture is static

  [[nodiscard]] const ProxyCost& cost() const noexcept { return m_cost; }
  // The deployed static mixture (offline), the proxy run's weights after each stage and the
  // excess losses that produced them, the reference run's losses (index 0 = base model).
  [[nodiscard]] const Mixture& mixture() const noexcept { return m_static; }
  [[nodiscard]] const std::vector<Mixture>& proxy_weights() const noexcept { return m_alphas; }
  [[nodiscard]] const std::vector<std::vector<double>>& proxy_excess() const noexcept { return m_excess; }
  [[nodiscard]] const std::vector<std::vector<double>>& reference_losses() const noexcept { return m_ref_losses; }
  [[nodiscard]] Json report() const {
    return Json{{"online", m_opt.online}, {"mixture", m_static}, {"proxy_weights", m_alphas},
                {"reference_final_loss", m_ref_losses.empty() ? Json(nullptr) : Json(m_ref_losses.back())},
                {"cost", m_cost.to_json()}};
  }

 private:
  // Reference losses for the losses observed after stage t (1-based).
  [[nodiscard]] const std::vector<double>& reference_for(std::size_t t) const {
    if (!m_opt.stage_matched) return m_ref_losses.back();
    return m_ref_losses[std::min(t, m_ref_losses.size() - 1)];
  }

  Factory m_factory;
  DoremiOptions m_opt;
  std::string m_name;
  ReferenceMixture m_ref_mix;
  bool m_fitted = false;
  EpisodeSpec m_spec;
  std::vector<std::vector<double>> m_ref_losses, m_excess;
  std::vector<Mixture> m_alphas;
  Mixture m_static;
  ProxyCost m_cost;
  DroWeights m_online;
  std::size_t m_seen = 0;
};

static_assert(Mixer<DoReMi<detail::ArchetypeEnv>>);

}  // namespace dma::mixers
