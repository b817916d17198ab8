// dma/mixers/registry.hpp: the list of baseline mixers, in ONE place: all_baselines(inputs)
// returns every baseline of the paper's comparison under its fixed name (target_only, uniform, replay_25/50/75,
// static_tuned, regmix_transfer, regmix_refit, dbl, doremi, odm; with `extended`, also natural,
// the two linear ramps, dbl_tuned and doremi_online), each with the proxy cost it spent before
// deployment and whether its runs depend on the user's target weight. Used by the experiment
// driver (examples/main_job/) and by examples/baselines_sim.cpp and quickstart_sim.cpp.
// fit_refits() makes the refit methods' proxy runs once for several deployments of a setting.
// Also tune_static_share(): the "static mixture tuned once" grid. Tested in tests/unit/trainer_experiment.cpp.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/mixers/dbl.hpp"
#include "dma/mixers/doremi.hpp"
#include "dma/mixers/fixed.hpp"
#include "dma/mixers/natural.hpp"
#include "dma/mixers/odm.hpp"
#include "dma/mixers/proxy.hpp"
#include "dma/mixers/ramp.hpp"
#include "dma/mixers/regmix.hpp"
#include "dma/mixers/replay.hpp"
#include "dma/mixers/target_only.hpp"
#include "dma/mixers/uniform.hpp"
#include "dma/trainer/any_mixer.hpp"

namespace dma::mixers {

// One baseline ready to deploy.
struct Baseline {
  std::string name;          // the fixed method name (results.json "method")
  trainer::AnyMixer mixer;   // copied per episode
  ProxyCost cost;            // spent on THIS deployment setting before deploying (refit proxies)
  bool uses_target_weight = false;  // false: its runs are the same for every target weight
  Json fit;                  // what a fitted method found (RegMix / DoReMi reports), else null
};

// What the baselines need besides the domain space (which they read from the spec at reset).
template <Environment Env>
struct BaselineInputs {
  // A fresh environment of the deployment setting, for the methods that refit on it with proxy
  // runs (RegMix refit, DoReMi). Empty: those methods are left out.
  std::function<Env()> proxy_env;
  double static_share = 0.5;  // the target share tuned once (tune_static_share) and carried
  // RegMix fitted once on the collection setting (field-share features), carried; null: left out.
  std::shared_ptr<const RegMix<Env>> regmix_transfer;
  std::size_t regmix_runs = 16;  // proxy runs of the refit RegMix
  // Optional, in/out: empty -> filled with the refit RegMix's proxy runs; filled -> those runs are
  // re-scored at this spec's target weight instead of run again. Share it only between calls on
  // the same setting (a run's training does not read the weight; fit_refits makes them once).
  std::shared_ptr<RegMixRuns> regmix_refit_runs;
  // Optional: DoReMi already fitted on this setting (fit_refits); null: fitted here on proxy_env.
  std::shared_ptr<const DoReMi<Env>> doremi_fitted;
  std::uint64_t seed = 1;        // seeds the proxy runs of the refit methods
  bool weight_free = true;       // false: leave out the methods whose runs do not depend on the weight
  bool extended = false;         // also natural, ramps, dbl_tuned, doremi_online
  std::vector<double> natural_sizes;  // extended: data size per domain (spec order) for natural
  double dbl_tuned_reference = 1.0;   // extended: DBL target reference tuned on training instances
};

// The refit methods as all_baselines makes them from `in` (seeds derived from in.seed), unfitted.
template <Environment Env>
RegMix<Env> make_regmix_refit(const BaselineInputs<Env>& in) {
  RegMixOptions ro;
  ro.runs = in.regmix_runs;
  ro.seed = in.seed + 202;  // baselines_sim passes the instance seed (its documented numbers)
  const auto make = in.proxy_env;
  return RegMix<Env>([make](std::size_t) { return make(); }, ro, "regmix_refit");
}
template <Environment Env>
DoReMi<Env> make_doremi(const BaselineInputs<Env>& in) {
  DoremiOptions d;
  d.seed = in.seed + 303;
  return DoReMi<Env>(in.proxy_env, d, "doremi");
}

// The deployment-time search of the refit methods made once, to serve several deployments of one
// setting: RegMix's proxy runs and DoReMi's reference and proxy runs on in.proxy_env. Pass them
// as in.regmix_refit_runs and in.doremi_fitted; each deployment then counts the same cost.
template <Environment Env>
void fit_refits(BaselineInputs<Env>& in) {
  if (!in.proxy_env) fail("fit_refits: the setting's proxy_env is required");
  RegMix<Env> refit = make_regmix_refit(in);
  refit.fit();
  in.regmix_refit_runs = std::make_shared<RegMixRuns>(refit.runs());
  auto doremi = std::make_shared<DoReMi<Env>>(make_doremi(in));
  doremi->fit();
  in.doremi_fitted = std::move(doremi);
}

// Every baseline for one deployment setting. Proxy-run methods are fitted here unless fitted
// beforehand (fit_refits); their cost is in Baseline::cost.
template <Environment Env>
std::vector<Baseline> all_baselines(const BaselineInputs<Env>& in) {
  std::vector<Baseline> out;
  auto add = [&](std::string name, trainer::AnyMixer m, bool tw, ProxyCost c = {}, Json fit = nullptr) {
    if (!tw && !in.weight_free) return;
    out.push_back(Baseline{std::move(name), std::move(m), c, tw, std::move(fit)});
  };
  add("target_only", trainer::AnyMixer(TargetOnly{}, "target_only"), false);
  add("uniform", trainer::AnyMixer(Uniform{}, "uniform"), false);
  // replay_R: R = share of SOURCE data replayed (the CPT practice), the rest is target.
  for (int r : {25, 50, 75})
    add("replay_" + std::to_string(r), trainer::AnyMixer(Replay(r / 100.0), "replay_" + std::to_string(r)), false);
  // Tuned for the user's weight, so it counts as weight-dependent.
  add("static_tuned", trainer::AnyMixer(FixedRatio(in.static_share), "static_tuned"), true);
  if (in.regmix_transfer)
    add("regmix_transfer", trainer::AnyMixer(*in.regmix_transfer, "regmix_transfer"), true);
  if (in.proxy_env) {
    RegMix<Env> refit = make_regmix_refit(in);
    if (in.regmix_refit_runs && !in.regmix_refit_runs->mixes.empty()) {
      refit.fit_from(in.regmix_refit_runs->at_weight(in.proxy_env().spec().target_weight));
    } else {
      refit.fit();
      if (in.regmix_refit_runs) *in.regmix_refit_runs = refit.runs();
    }
    add("regmix_refit", trainer::AnyMixer(refit, "regmix_refit"), true, refit.cost(), refit.report().to_json());
  }
  // DBL starts from the user's target weight as its initial share (DblOptions::initial_share < 0).
  add("dbl", trainer::AnyMixer(Dbl{}, "dbl"), true);
  if (in.proxy_env && in.weight_free) {
    DoReMi<Env> doremi = in.doremi_fitted ? *in.doremi_fitted : make_doremi(in);
    doremi.fit();
    add("doremi", trainer::AnyMixer(doremi, "doremi"), false, doremi.cost(), doremi.report());
  }
  add("odm", trainer::AnyMixer(Odm{}, "odm"), false);
  if (in.extended) {
    if (!in.natural_sizes.empty()) {
      const auto sizes = in.natural_sizes;
      add("natural", trainer::AnyMixer(Natural(sizes), "natural"), false);
    }
    add("ramp_80_20", trainer::AnyMixer(LinearRamp(0.8, 0.2), "ramp_80_20"), false);
    add("ramp_20_80", trainer::AnyMixer(LinearRamp(0.2, 0.8), "ramp_20_80"), false);
    DblOptions o;
    o.target_reference = in.dbl_tuned_reference;
    add("dbl_tuned", trainer::AnyMixer(Dbl(o), "dbl_tuned"), true);
    if (in.proxy_env && in.weight_free) {
      DoremiOptions d;
      d.seed = in.seed + 303;
      d.online = true;
      const auto make = in.proxy_env;
      DoReMi<Env> online(make, d, "doremi_online");
      online.fit();
      add("doremi_online", trainer::AnyMixer(online, "doremi_online"), false, online.cost(), online.report());
    }
  }
  return out;
}

// The "static mixture tuned once": the target share on `grid` with the highest value(share)
// (summed over whatever instances the caller evaluates); ties keep the first.
struct TunedShare {
  double share = 0.5, value = 0;
  std::vector<double> values;  // per grid point
};
inline TunedShare tune_static_share(const std::vector<double>& grid, const std::function<double(double)>& value) {
  if (grid.empty()) fail("tune_static_share: empty grid");
  TunedShare t;
  bool first = true;
  for (double s : grid) {
    const double v = value(s);
    t.values.push_back(v);
    if (first || v > t.value) t.share = s, t.value = v, first = false;
  }
  return t;
}

// The default grid: 0, 1/n, ..., 1.
inline std::vector<double> share_grid(std::size_t n) {
  if (n == 0) fail("share_grid: need at least 1 interval");
  std::vector<double> g;
  for (std::size_t k = 0; k <= n; ++k) g.push_back(double(k) / double(n));
  return g;
}

}  // namespace dma::mixers
