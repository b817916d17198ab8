// dma/env/sim.hpp: SimEnv, a cheap simulated continual pre-training run (an Environment).
// It stands in for env/ CPT on the LLM proxy so that collect -> learn -> deploy can be tested in
// seconds: per-domain held-out losses respond to the mixture (learning with diminishing returns,
// forgetting and interference through a transfer matrix, recency, an LR re-warm bump, a hidden
// limited target pool whose repetition stalls and then raises target loss). The model and every
// formula are documented in docs/SIM.md; parameters come from env/sim_params.hpp.
// Tested in tests/unit/sim_env.cpp (determinism, fork, save/load, the pilot's qualitative effects).
#pragma once

#include <cmath>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"
#include "dma/env/sim_params.hpp"
#include "dma/space/simplex.hpp"

namespace dma::env {

class SimEnv {
 public:
  static constexpr std::string_view kMagic = "DMASIMENV";
  static constexpr std::uint32_t kVersion = 1;  // bump when the state or instance layout changes

  SimEnv() = default;
  // A drawn instance of `family`; the run starts at the base model (reset(0) is implied).
  SimEnv(const SimFamily& family, std::uint64_t instance_seed, std::size_t num_domains = 0)
      : SimEnv(draw_instance(family, instance_seed, num_domains), instance_seed) {}
  SimEnv(SimInstance instance, std::uint64_t instance_seed)
      : m_in(std::move(instance)), m_instance_seed(instance_seed) {
    reset(0);
  }

  [[nodiscard]] EpisodeSpec spec() const { return EpisodeSpec{m_in.domains, m_in.stages, m_in.target_weight}; }
  [[nodiscard]] const SimInstance& instance() const noexcept { return m_in; }
  [[nodiscard]] std::uint64_t instance_seed() const noexcept { return m_instance_seed; }
  [[nodiscard]] std::size_t stage() const noexcept { return m_t; }
  [[nodiscard]] double tokens_seen() const noexcept { return m_tokens; }
  // Noise-free evaluation of what a schedule would do (the oracle uses it). The random stream
  // is still drawn, so switching noise off never shifts the noise of later stages.
  void set_noise(bool on) noexcept { m_noise = on; }
  [[nodiscard]] bool noise() const noexcept { return m_noise; }

  // A fresh run from the base model; `run_seed` seeds the training/evaluation noise only (the
  // instance itself is fixed at construction).
  Feedback reset(std::uint64_t run_seed) {
    const std::size_t D = m_in.size();
    m_run_seed = run_seed;
    std::uint64_t s = m_instance_seed;
    m_rng = Rng(splitmix64(s) ^ run_seed).split("sim.noise");
    m_t = 0;
    m_tokens = m_flops = m_seconds = 0;
    m_loss = m_in.base_loss;
    m_damage.assign(D, 0.0);
    m_skill.assign(D, 0.0);
    m_drawn.assign(D, 0.0);
    m_recent.assign(D, 0.0);
    return evaluate();
  }

  // Trains one stage on data drawn by `m`, then evaluates.
  Feedback step(const Mixture& m) {
    const std::size_t D = m_in.size();
    space::validate_mixture(m, D, "sim: mixture for stage " + std::to_string(m_t + 1));
    if (m_t >= m_in.stages)
      fail("sim: step ", m_t + 1, " is beyond the episode's ", m_in.stages, " stages");
    ++m_t;
    const double lr = lr_factor(m_t);
    const double ns = double(m_in.count(Field::Source)), nt = double(m_in.count(Field::Target));
    for (std::size_t i = 0; i < D; ++i) {
      double e = 0;  // exposure of domain i: its own share plus transfer from the others
      for (std::size_t j = 0; j < D; ++j) e += m_in.transfer[i * D + j] * m[j];
      e = std::max(e, 0.0);
      double eq;
      if (m_in.domains[i].field == Field::Source) {
        // Relative replay x = 1 when the source share is spread evenly and the run is source-only.
        const double x = e * ns;
        const double pressure = std::exp(-x / m_in.forget_scale[i]);
        m_damage[i] += lr * (m_in.damage_rate[i] * pressure * (m_in.forget[i] - m_damage[i]) -
                             m_in.repair_rate[i] * (1.0 - pressure) * m_damage[i]);
        eq = m_in.base_loss[i] + m_damage[i] + m_in.transient[i] * pressure + m_in.rewarm[i] * lr;
      } else {
        const double x = std::min(e * nt, 1.0);
        const double r = recall(x, m_in.recall_scale[i]);
        const double before = m_drawn[i] / m_in.pool[i];
        m_drawn[i] += m[i] * m_in.tokens_per_stage;
        const double after = m_drawn[i] / m_in.pool[i];  // epochs over the hidden pool
        const double mid = 0.5 * (before + after);
        // A repeated token is worth less (value halves at fresh_epochs over the whole run).
        const double fresh = 1.0 / (1.0 + (mid / m_in.fresh_epochs[i]) * (mid / m_in.fresh_epochs[i]));
        m_skill[i] += m_in.learn_rate[i] * lr * fresh * r * (1.0 - m_skill[i]);
        // Overfitting follows the RECENT epochs (memorisation fades when the pool is not
        // repeated): it raises held-out loss, saturating at overfit_rate.
        m_recent[i] = m_in.overfit_memory[i] * m_recent[i] + (after - before);
        const double over = m_in.overfit_rate[i] *
                            (1.0 - std::exp(-std::max(0.0, m_recent[i] - m_in.overfit_start[i]) / 2.0));
        eq = m_in.base_loss[i] -
             m_in.gain[i] * m_skill[i] * (m_in.retained[i] + (1.0 - m_in.retained[i]) * r) + over;
      }
      const double rho = m_in.recency;
      m_loss[i] = (1.0 - rho) * m_loss[i] + rho * eq + noise(m_in.noise_process);
    }
    m_tokens += m_in.tokens_per_stage;
    m_flops += 6.0 * m_in.params * m_in.tokens_per_stage;
    m_seconds += m_in.train_seconds_per_stage;
    return evaluate();
  }

  [[nodiscard]] SimEnv fork() const { return *this; }

  void save(const std::filesystem::path& path) const {
    io::Writer w;
    w.put_string(instance_json().dump());
    w.put<std::uint64_t>(m_instance_seed);
    w.put<std::uint64_t>(m_run_seed);
    w.put<std::uint64_t>(m_t);
    w.put<std::uint8_t>(m_noise ? 1 : 0);
    const auto st = m_rng.state();
    w.put(st.state);
    w.put(st.inc);
    w.put(st.seed);
    for (double v : {m_tokens, m_flops, m_seconds}) w.put(v);
    for (const auto* v : {&m_loss, &m_damage, &m_skill, &m_drawn, &m_recent}) w.put_array(v->data(), v->size());
    io::atomic_write(path, io::frame(kMagic, kVersion, w.bytes()));
  }
  void load(const std::filesystem::path& path) {
    const std::string bytes = io::read_file(path);
    io::Reader r(io::unframe(bytes, kMagic, kVersion, path.string()), path.string());
    SimEnv e;
    e.m_in = instance_from_json(parse_json(r.get_string("instance", 1u << 24), path.string() + ": instance"),
                                path.string());
    e.m_instance_seed = r.get<std::uint64_t>("instance seed");
    e.m_run_seed = r.get<std::uint64_t>("run seed");
    e.m_t = r.get<std::uint64_t>("stage");
    e.m_noise = r.get<std::uint8_t>("noise") != 0;
    Rng::State st{};
    st.state = r.get<std::uint64_t>("rng state");
    st.inc = r.get<std::uint64_t>("rng inc");
    st.seed = r.get<std::uint64_t>("rng seed");
    e.m_rng.set_state(st);
    e.m_tokens = r.get<double>("tokens");
    e.m_flops = r.get<double>("flops");
    e.m_seconds = r.get<double>("seconds");
    const std::size_t D = e.m_in.size();
    for (auto* v : {&e.m_loss, &e.m_damage, &e.m_skill, &e.m_drawn, &e.m_recent}) {
      v->resize(D);
      r.get_array(v->data(), D, "state");
    }
    if (e.m_t > e.m_in.stages) fail(path.string(), ": stage ", e.m_t, " exceeds the episode's stages");
    *this = std::move(e);
  }

  // LR factor of stage t (1-based): re-warmed to the peak, then cosine to 10% of it [ours,
  // after the pilot's schedule]. It scales learning, forgetting and the re-warm bump.
  [[nodiscard]] double lr_factor(std::size_t t) const noexcept {
    const double S = double(m_in.stages);
    const double p = S > 1 ? double(t - 1) / (S - 1) : 0.0;
    return 0.1 + 0.9 * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  }

  [[nodiscard]] Json instance_json() const {
    Json ds = Json::array();
    for (const auto& d : m_in.domains) ds.push_back({{"name", d.name}, {"field", to_string(d.field)}});
    auto vec = [](const std::vector<double>& v) {
      Json a = Json::array();
      for (double x : v) a.push_back(std::isinf(x) ? Json("inf") : Json(x));
      return a;
    };
    return Json{{"domains", ds}, {"stages", m_in.stages}, {"tokens_per_stage", m_in.tokens_per_stage},
                {"target_weight", m_in.target_weight}, {"recency", m_in.recency},
                {"transfer", vec(m_in.transfer)}, {"base_loss", vec(m_in.base_loss)},
                {"forget", vec(m_in.forget)}, {"forget_scale", vec(m_in.forget_scale)},
                {"damage_rate", vec(m_in.damage_rate)}, {"repair_rate", vec(m_in.repair_rate)},
                {"transient", vec(m_in.transient)}, {"rewarm", vec(m_in.rewarm)},
                {"gain", vec(m_in.gain)}, {"learn_rate", vec(m_in.learn_rate)},
                {"recall_scale", vec(m_in.recall_scale)}, {"retained", vec(m_in.retained)},
                {"pool", vec(m_in.pool)}, {"fresh_epochs", vec(m_in.fresh_epochs)},
                {"overfit_start", vec(m_in.overfit_start)}, {"overfit_rate", vec(m_in.overfit_rate)},
                {"overfit_memory", vec(m_in.overfit_memory)},
                {"noise_process", m_in.noise_process}, {"noise_eval", m_in.noise_eval},
                {"params", m_in.params}, {"train_seconds_per_stage", m_in.train_seconds_per_stage},
                {"eval_seconds_per_stage", m_in.eval_seconds_per_stage}};
  }
  static SimInstance instance_from_json(const Json& j, const std::string& source) {
    SimInstance in;
    try {
      for (const auto& d : j.at("domains"))
        in.domains.push_back({d.at("name").get<std::string>(),
                              d.at("field").get<std::string>() == "target" ? Field::Target : Field::Source});
      const std::size_t D = in.domains.size();
      auto vec = [&](const char* k, std::size_t n) {
        std::vector<double> v;
        for (const auto& x : j.at(k))
          v.push_back(x.is_string() ? std::numeric_limits<double>::infinity() : x.get<double>());
        if (v.size() != n) fail(source, ": instance field '", k, "': expected ", n, " values, got ", v.size());
        return v;
      };
      in.stages = j.at("stages").get<std::size_t>();
      in.tokens_per_stage = j.at("tokens_per_stage").get<double>();
      in.target_weight = j.at("target_weight").get<double>();
      in.recency = j.at("recency").get<double>();
      in.transfer = vec("transfer", D * D);
      in.base_loss = vec("base_loss", D);
      in.forget = vec("forget", D);
      in.forget_scale = vec("forget_scale", D);
      in.damage_rate = vec("damage_rate", D);
      in.repair_rate = vec("repair_rate", D);
      in.transient = vec("transient", D);
      in.rewarm = vec("rewarm", D);
      in.gain = vec("gain", D);
      in.learn_rate = vec("learn_rate", D);
      in.recall_scale = vec("recall_scale", D);
      in.retained = vec("retained", D);
      in.pool = vec("pool", D);
      in.fresh_epochs = vec("fresh_epochs", D);
      in.overfit_start = vec("overfit_start", D);
      in.overfit_rate = vec("overfit_rate", D);
      in.overfit_memory = vec("overfit_memory", D);
      in.noise_process = j.at("noise_process").get<double>();
      in.noise_eval = j.at("noise_eval").get<double>();
      in.params = j.at("params").get<double>();
      in.train_seconds_per_stage = j.at("train_seconds_per_stage").get<double>();
      in.eval_seconds_per_stage = j.at("eval_seconds_per_stage").get<double>();
    } catch (const Json::exception& e) {
      fail(source, ": bad sim instance: ", e.what());
    }
    return in;
  }

 private:
  // Share of what is learned that shows at exposure x in [0, 1]: concave, recall(1) = 1.
  static double recall(double x, double scale) noexcept {
    return (1.0 - std::exp(-x / scale)) / (1.0 - std::exp(-1.0 / scale));
  }
  double noise(double sd) noexcept {
    const double z = m_rng.normal();  // always drawn: the stream never depends on m_noise
    return m_noise ? sd * z : 0.0;
  }
  Feedback evaluate() {
    const std::size_t D = m_in.size();
    Feedback f;
    f.loss.resize(D);
    for (std::size_t i = 0; i < D; ++i) f.loss[i] = m_loss[i] + noise(m_in.noise_eval);
    // One probe per domain (e.g. gold-answer log-prob): tracks the held-out loss, with its own
    // evaluation noise; higher is better.
    for (std::size_t i = 0; i < D; ++i) {
      f.score.push_back(-(m_loss[i] + noise(m_in.noise_eval)));
      f.score_field.push_back(m_in.domains[i].field);
      f.score_name.push_back("probe:" + m_in.domains[i].name);
    }
    const double eval_tokens = 128.0 * 128.0 * double(D);
    m_flops += 2.0 * m_in.params * eval_tokens;
    m_seconds += m_in.eval_seconds_per_stage;
    f.tokens = m_tokens;
    f.flops = m_flops;
    f.seconds = m_seconds;
    return f;
  }

  SimInstance m_in;
  std::uint64_t m_instance_seed = 0, m_run_seed = 0;
  Rng m_rng;
  bool m_noise = true;
  std::size_t m_t = 0;
  double m_tokens = 0, m_flops = 0, m_seconds = 0;
  std::vector<double> m_loss, m_damage, m_skill, m_drawn, m_recent;
};

static_assert(Environment<SimEnv>);

}  // namespace dma::env
