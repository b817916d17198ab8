// dma/collect/collector.hpp: Collector, which runs schedule generators against environments and
// computes rewards: the "collect" box of the data flow, producing Trajectories (optionally
// appended to a trajectory store as they finish). Single process. With prefix sharing
// (options.prefix_stages = k > 0, options.branches = b) one prefix of k stages is trained once
// and fork()ed into b continuations, saving (b - 1) * k environment stages per group; branches
// inherit the prefix's noise stream (a fork continues the same run). A generator is open loop
// (ScheduleGenerator: a whole schedule drawn in advance) or draws Plans (PlanGenerator), which may
// be closed-loop rules that read the history before each stage (collect/rules.hpp). Tested in
// tests/unit/collect_collector.cpp (determinism, prefix sharing = replaying the full schedule)
// and tests/unit/collect_rules.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dma/collect/store.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/progress.hpp"
#include "dma/mixers/episode.hpp"
#include "dma/space/simplex.hpp"

namespace dma::collect {

// What one trajectory follows: an open-loop schedule, or a closed-loop rule (a fresh Mixer's
// next(), reset once) that is asked before every stage.
struct Plan {
  std::string name;
  std::vector<Mixture> schedule;                               // open loop (rule empty)
  std::shared_ptr<std::function<Mixture(const History&)>> rule; // closed loop

  [[nodiscard]] Mixture at(const History& h) const { return rule ? (*rule)(h) : schedule.at(h.t()); }

  template <Mixer M>
  static Plan closed_loop(M mixer, const EpisodeSpec& spec) {
    mixer.reset(spec);
    Plan p;
    p.name = mixer.name();
    p.rule = std::make_shared<std::function<Mixture(const History&)>>(
        [m = std::move(mixer)](const History& h) mutable { return Mixture(m.next(h)); });
    return p;
  }
};

// A generator of Plans (open- or closed-loop), e.g. collect::WithRules.
template <class G>
concept PlanGenerator = requires(const G g, const EpisodeSpec& spec, std::size_t steps, Rng& rng) {
  { g.sample_plan(spec, steps, rng) } -> std::same_as<Plan>;
  { g.name() } -> std::convertible_to<std::string>;
};

// One Plan from any generator: its own sample_plan(), or an open-loop schedule (named by
// sample_named() where the generator has it, e.g. Mixed).
template <class G>
  requires ScheduleGenerator<G> || PlanGenerator<G>
Plan draw_plan(const G& gen, const EpisodeSpec& spec, std::size_t steps, Rng& rng) {
  if constexpr (PlanGenerator<G>) {
    return gen.sample_plan(spec, steps, rng);
  } else if constexpr (requires { gen.sample_named(spec, steps, rng); }) {
    auto [name, sched] = gen.sample_named(spec, steps, rng);
    return Plan{std::move(name), std::move(sched), nullptr};
  } else {
    return Plan{gen.name(), gen.sample(spec, steps, rng), nullptr};
  }
}

struct CollectOptions {
  std::size_t per_instance = 4;    // trajectories per environment instance
  std::size_t prefix_stages = 0;   // k: 0 disables prefix sharing
  std::size_t branches = 4;        // b: continuations per shared prefix
  std::uint64_t seed = 1;          // schedules and run seeds derive from it
  bool progress = false;
};

struct CollectStats {
  std::size_t trajectories = 0;
  std::size_t env_stages = 0;     // stages actually simulated/trained
  std::size_t stages_saved = 0;   // stages that prefix sharing did not have to train
  double tokens = 0, seconds = 0; // cost reported by the environments
};

template <Environment Env, Reward R>
class Collector {
 public:
  using MakeEnv = std::function<Env(std::uint64_t instance_seed)>;
  Collector(MakeEnv make_env, R reward, CollectOptions opt = {})
      : m_make(std::move(make_env)), m_reward(std::move(reward)), m_opt(opt) {}

  // Runs per_instance trajectories on each instance; appends each to `store` when given.
  template <class G>
    requires ScheduleGenerator<G> || PlanGenerator<G>
  std::vector<Trajectory> run(const G& gen, const std::vector<std::uint64_t>& instances,
                              StoreWriter* store = nullptr) {
    std::vector<Trajectory> out;
    Progress prog("collect", instances.size() * m_opt.per_instance, 1.0, m_opt.progress);
    const Rng root(m_opt.seed);
    for (const std::uint64_t inst : instances) {
      Env base_env = m_make(inst);
      const EpisodeSpec spec = base_env.spec();
      Rng rng = root.split(inst).split("collect.schedules");
      std::size_t done = 0;
      while (done < m_opt.per_instance) {
        const std::uint64_t run_seed = rng.next_u64();
        const bool share = m_opt.prefix_stages > 0 && m_opt.prefix_stages < spec.stages && m_opt.branches > 1;
        const std::size_t nb = share ? std::min(m_opt.branches, m_opt.per_instance - done) : 1;
        // The prefix: the first k stages of the first branch's schedule, trained once.
        Plan plan0 = draw(gen, spec, rng);
        Env env = base_env.fork();
        Trajectory prefix;
        prefix.history.initial = env.reset(run_seed);
        prefix.history.spec = spec;
        const std::size_t k = share ? m_opt.prefix_stages : 0;
        for (std::size_t t = 0; t < k; ++t) advance(env, prefix, plan0.at(prefix.history));
        for (std::size_t b = 0; b < nb; ++b) {
          Env e = b + 1 < nb ? env.fork() : std::move(env);
          Trajectory tr = prefix;
          // Branch 0 continues the prefix's plan; the others draw their own (a rule then takes
          // over a history it did not write, as a rule deployed mid-run would).
          const Plan plan = b > 0 ? draw(gen, spec, rng) : plan0;
          for (std::size_t t = k; t < spec.stages; ++t) advance(e, tr, plan.at(tr.history));
          tr.generator = share ? plan.name + "/branch" : plan.name;
          if constexpr (requires { e.instance_seed(); }) tr.episode_seed = e.instance_seed();
          else tr.episode_seed = inst;
          tr.id = m_next_id++;
          m_stats.stages_saved += b > 0 ? k : 0;
          m_stats.tokens += tr.history.last().tokens;
          m_stats.seconds += tr.history.last().seconds;
          ++m_stats.trajectories;
          if (store) store->append(tr);
          out.push_back(std::move(tr));
          prog.tick();
        }
        done += nb;
      }
    }
    return out;
  }

  [[nodiscard]] const CollectStats& stats() const noexcept { return m_stats; }
  void set_next_id(std::uint64_t id) noexcept { m_next_id = id; }

 private:
  template <class G>
  static Plan draw(const G& gen, const EpisodeSpec& spec, Rng& rng) { return draw_plan(gen, spec, spec.stages, rng); }
  void advance(Env& env, Trajectory& tr, const Mixture& m) {
    mixers::step_stage(env, tr.history, m, "collect: generated mixture", m_reward);
    ++m_stats.env_stages;
  }

  MakeEnv m_make;
  R m_reward;
  CollectOptions m_opt;
  CollectStats m_stats;
  std::uint64_t m_next_id = 0;
};

}  // namespace dma::collect
