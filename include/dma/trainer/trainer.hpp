// dma/trainer/trainer.hpp: Trainer<Env, Reward, Learner>, the composition of the policies
// (docs/ARCHITECTURE.md): collect (generators x environments -> trajectories), learn (the
// Learner fits an agent; learners compose as types, e.g. rl::Then<rl::Sft, rl::Cql>), compare
// (every method deployed on held-out instances and run seeds -> ResultsTable, with optional
// per-instance columns such as the oracle), and run(): the three in one call. The domain space is
// the environment's (Env::spec()), and so is the tensor backend (env::Cpt<backend::Cuda> runs its
// model on the GPU): neither is a parameter of its own. Each template argument is checked by a
// static_assert that names the concept it violates (tests/compile/trainer_*_fail.cpp).
// Tested in tests/unit/trainer_compare.cpp, tests/unit/trainer_compose.cpp (a custom environment,
// reward and learner) and tests/integration/quickstart_sim.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "dma/collect/collector.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/progress.hpp"
#include "dma/mixers/episode.hpp"
#include "dma/reward/levels.hpp"
#include "dma/space/simplex.hpp"
#include "dma/trainer/any_mixer.hpp"
#include "dma/trainer/results.hpp"

namespace dma::trainer {

// A Learner placeholder for pipelines that only collect and compare.
struct NoLearner {
  template <class Agent>
  void fit(const std::vector<Trajectory>&, Agent&) {}
  [[nodiscard]] std::string name() const { return "none"; }
};

// A held-out environment instance and the group it is reported in.
struct Instance {
  std::uint64_t seed = 0;
  std::string group;
};

// What Trainer::run() does: collection instances and options, then the held-out instances and
// run seeds every method (the baselines and the learned agent) is compared on.
struct RunPlan {
  std::vector<std::uint64_t> train_instances;
  collect::CollectOptions collect;
  std::vector<Instance> eval_instances;
  std::vector<std::uint64_t> run_seeds;
  bool progress = false;
};

// What Trainer::run() returns: the trajectories, the learned agent with its learner's reports, and
// the comparison table (the agent's rows beside the baselines').
template <class Agent, class LearnResult>
struct RunResult {
  std::vector<Trajectory> data;
  collect::CollectStats collect;
  Agent agent;
  LearnResult learned;
  ResultsTable table;
};

template <class Env, class R, class L = NoLearner>
class Trainer {
  static_assert(Environment<Env>, "dma::Trainer: template argument 1 (Env) must model dma::Environment");
  static_assert(Reward<R>, "dma::Trainer: template argument 2 (Reward) must model dma::Reward");

 public:
  using MakeEnv = std::function<Env(std::uint64_t instance_seed)>;
  // The oracle: an open-loop schedule for one instance (e.g. env::sim_oracle's), replayed on the
  // same run seeds as every method.
  using Oracle = std::function<std::vector<Mixture>(const Env&, const R&)>;

  Trainer(MakeEnv make_env, R reward = {}, L learner = {})
      : m_make(std::move(make_env)), m_reward(std::move(reward)), m_learner(std::move(learner)) {}

  template <class G>
    requires ScheduleGenerator<G> || collect::PlanGenerator<G>
  std::vector<Trajectory> collect(const G& gen, const std::vector<std::uint64_t>& instances,
                                  const collect::CollectOptions& opt, collect::StoreWriter* store = nullptr) {
    collect::Collector<Env, R> c(m_make, m_reward, opt);
    if (store) c.set_next_id(store->count());
    auto out = c.run(gen, instances, store);
    m_collect_stats = c.stats();
    return out;
  }

  // Fits `agent` on `data` with the Learner; extra arguments go to its fit() (e.g. rl::Then's
  // callback between its steps).
  template <class Agent, class... Extra>
  auto learn(const std::vector<Trajectory>& data, Agent& agent, Extra&&... extra) {
    static_assert(Learner<L, Agent>, "dma::Trainer: template argument 3 (Learner) must model dma::Learner for this agent");
    return m_learner.fit(data, agent, std::forward<Extra>(extra)...);
  }

  // Collect -> learn -> compare: trajectories from `gen` on the plan's training instances, the
  // Learner fits `agent` on them, and deploy(agent) (the trained agent as a Mixer) is compared
  // with `baselines` on the held-out instances and run seeds.
  template <class G, class Agent, class Deploy>
  auto run(const G& gen, Agent agent, Deploy&& deploy, std::vector<AnyMixer> baselines, const RunPlan& plan,
           collect::StoreWriter* store = nullptr) {
    std::vector<Trajectory> data = collect(gen, plan.train_instances, plan.collect, store);
    auto learned = learn(data, agent);
    baselines.emplace_back(deploy(static_cast<const Agent&>(agent)));
    ResultsTable table = compare(baselines, plan.eval_instances, plan.run_seeds, Oracle{}, plan.progress);
    return RunResult<Agent, decltype(learned)>{std::move(data), m_collect_stats, std::move(agent), std::move(learned),
                                               std::move(table)};
  }

  // A per-instance open-loop method with its name (the oracle, the best static mixture in
  // hindsight, ...): computed once per instance, then replayed on every run seed.
  struct PerInstance {
    std::string name;
    Oracle schedule;
  };

  // Deploys every method (and the oracle, when given) on every instance and run seed.
  ResultsTable compare(const std::vector<AnyMixer>& methods, const std::vector<Instance>& instances,
                       const std::vector<std::uint64_t>& run_seeds, const Oracle& oracle = {},
                       bool progress = false) {
    std::vector<PerInstance> extra;
    if (oracle) extra.push_back({ResultsTable{}.oracle, oracle});
    return compare(methods, instances, run_seeds, extra, progress);
  }
  ResultsTable compare(const std::vector<AnyMixer>& methods, const std::vector<Instance>& instances,
                       const std::vector<std::uint64_t>& run_seeds, const std::vector<PerInstance>& per_instance,
                       bool progress = false) {
    ResultsTable table;
    Progress prog("compare", instances.size(), 1.0, progress);
    for (const auto& inst : instances) {
      const Env proto = m_make(inst.seed);
      std::vector<AnyMixer> all = methods;
      for (const auto& p : per_instance) all.emplace_back(mixers::Schedule(p.schedule(proto, m_reward), p.name));
      for (const auto& method : all)
        for (const std::uint64_t rs : run_seeds) {
          AnyMixer m = method;  // a fresh copy per episode
          Env env = proto.fork();
          Trajectory tr = mixers::run_episode(m, env, m_reward, rs);
          table.rows.push_back(row(tr, m.name(), inst, rs));
        }
      prog.tick();
    }
    return table;
  }

  [[nodiscard]] const collect::CollectStats& collect_stats() const noexcept { return m_collect_stats; }
  [[nodiscard]] const R& reward() const noexcept { return m_reward; }
  [[nodiscard]] L& learner() noexcept { return m_learner; }
  [[nodiscard]] Env make_env(std::uint64_t seed) const { return m_make(seed); }

  static ResultRow row(const Trajectory& tr, const std::string& method, const Instance& inst, std::uint64_t rs) {
    ResultRow r;
    r.method = method;
    r.group = inst.group;
    r.instance = inst.seed;
    r.run_seed = rs;
    r.ret = tr.total_return();
    const Feedback& last = tr.history.last();
    r.target_gain = reward::mean_gain(last, tr.history.initial, Field::Target);
    r.source_worst = reward::worst_gain(last, tr.history.initial, Field::Source);
    double sh = 0;
    for (const auto& s : tr.history.steps) sh += space::field_share(s.mixture, tr.history.spec, Field::Target);
    r.mean_target_share = tr.history.steps.empty() ? 0.0 : sh / double(tr.history.steps.size());
    r.tokens = last.tokens;
    r.seconds = last.seconds;
    return r;
  }

 private:
  MakeEnv m_make;
  R m_reward;
  L m_learner;
  collect::CollectStats m_collect_stats;
};

}  // namespace dma::trainer

namespace dma {
using trainer::Trainer;
}
