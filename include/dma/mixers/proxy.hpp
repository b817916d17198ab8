// dma/mixers/proxy.hpp: proxy runs, what the proxy-run-based baselines (RegMix, DoReMi) spend
// before deployment: proxy_run() drives one fresh run of any dma::Environment with a mixture
// rule and returns its History (proxy_run_static: one constant mixture, evaluated only after the
// last stage where the environment allows it); ProxyCost adds up what those runs cost (runs, stages, tokens,
// FLOPs, seconds, from each run's cumulative Feedback), so that a driver can report a method's
// cost next to its result (mixer.cost()). Tested through mixers_regmix.cpp and mixers_doremi.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/mixers/episode.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

struct ProxyCost {
  std::size_t runs = 0;    // proxy runs started
  std::size_t stages = 0;  // stages trained by them
  double tokens = 0, flops = 0, seconds = 0;

  // Adds one finished run (Feedback cost fields are cumulative since reset()).
  void add_run(const History& h) {
    runs += 1;
    stages += h.steps.size();
    const Feedback& f = h.last();
    tokens += f.tokens;
    flops += f.flops;
    seconds += f.seconds;
  }
  ProxyCost& operator+=(const ProxyCost& o) {
    runs += o.runs;
    stages += o.stages;
    tokens += o.tokens;
    flops += o.flops;
    seconds += o.seconds;
    return *this;
  }
  [[nodiscard]] Json to_json() const {
    return Json{{"runs", runs}, {"stages", stages}, {"tokens", tokens}, {"flops", flops}, {"seconds", seconds}};
  }
};

// One proxy run: env.reset(run_seed), then spec.stages stages whose mixtures come from
// rule(history) (validated; `who` names the method in errors). Rewards are left at 0: proxy
// runs are scored by the method that reads them.
template <Environment E, class Rule>
History proxy_run(E& env, std::uint64_t run_seed, Rule&& rule, ProxyCost& cost, const std::string& who) {
  History h;
  h.initial = env.reset(run_seed);
  h.spec = env.spec();
  for (std::size_t t = 0; t < h.spec.stages; ++t) step_stage(env, h, rule(static_cast<const History&>(h)), who + ": proxy mixture");
  cost.add_run(h);
  return h;
}

// A proxy run of one constant mixture, scored by its last feedback: open-loop, so an environment
// that can train without the per-stage evaluation evaluates only after the last stage.
template <Environment E>
History proxy_run_static(E& env, std::uint64_t run_seed, const Mixture& m, ProxyCost& cost, const std::string& who) {
  Schedule constant({m}, who + ": proxy mixture");  // validated by Schedule::reset and every stage
  History h = run_open_loop(constant, env, run_seed);
  cost.add_run(h);
  return h;
}

// Same domain list (names and fields, in order)?
inline bool same_domains(const EpisodeSpec& a, const EpisodeSpec& b) {
  if (a.num_domains() != b.num_domains()) return false;
  for (std::size_t i = 0; i < a.num_domains(); ++i)
    if (a.domains[i].name != b.domains[i].name || a.domains[i].field != b.domains[i].field) return false;
  return true;
}

namespace detail {
// An Environment with declarations only, so that a header can static_assert that a mixer
// template over any environment is a Mixer without including a real environment.
struct ArchetypeEnv {
  [[nodiscard]] EpisodeSpec spec() const;
  Feedback reset(std::uint64_t run_seed);
  Feedback step(const Mixture& m);
  [[nodiscard]] ArchetypeEnv fork() const;
  void save(const std::filesystem::path& path) const;
  void load(const std::filesystem::path& path);
  [[nodiscard]] double tokens_seen() const;
};
static_assert(Environment<ArchetypeEnv>);
}  // namespace detail

}  // namespace dma::mixers
