// dma/trainer/trainer.hpp: Trainer<Space, Env, Reward, Learner, Backend>, the composition of the
// policies (docs/ARCHITECTURE.md): collect (generators x environments -> trajectories), learn
// (the Learner fits an agent), compare (every method deployed on held-out instances and run
// seeds -> ResultsTable, with an optional per-instance oracle). Each template argument is checked
// by a static_assert that names the concept it violates (tests/compile/trainer_*_fail.cpp).
// Tested in tests/unit/trainer_compare.cpp and tests/integration/quickstart_sim.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "dma/backend/tags.hpp"
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

template <class Space, class Env, class R, class L = NoLearner, class B = backend::Cpu>
class Trainer {
  static_assert(DomainSpace<Space>, "dma::Trainer: template argument 1 (Space) must model dma::DomainSpace");
  static_assert(Environment<Env>, "dma::Trainer: template argument 2 (Env) must model dma::Environment");
  static_assert(Reward<R>, "dma::Trainer: template argument 3 (Reward) must model dma::Reward");
  static_assert(Backend<B>, "dma::Trainer: template argument 5 (Backend) must model dma::Backend");

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

  template <class Agent>
  auto learn(const std::vector<Trajectory>& data, Agent& agent) {
    static_assert(Learner<L, Agent>, "dma::Trainer: template argument 4 (Learner) must model dma::Learner for this agent");
    return m_learner.fit(data, agent);
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
