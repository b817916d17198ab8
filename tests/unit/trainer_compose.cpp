#include <catch2/catch.hpp>

#include <dma/core/concepts.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/uniform.hpp>
#include <dma/rl/then.hpp>
#include <dma/trainer/trainer.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_trainer_compose {

using dma::Feedback;
using dma::Field;
using dma::Mixture;
using dma::Trajectory;

// A user's environment, written here: two domains; a stage's target share t raises the target
// skill by 0.2 t and lowers the source skill by 0.1 t (forgetting). Scores are the two skills.
class Skills {
 public:
  explicit Skills(std::uint64_t instance = 0) : m_instance(instance) {}
  [[nodiscard]] dma::EpisodeSpec spec() const {
    return dma::EpisodeSpec{{{"text", Field::Source}, {"math", Field::Target}}, 4, 0.5};
  }
  Feedback reset(std::uint64_t) {
    m_skill = {0.5, 0.0};
    m_tokens = 0;
    return feedback();
  }
  Feedback step(const Mixture& m) {
    m_skill[1] += 0.2 * m[1];
    m_skill[0] -= 0.1 * m[1];
    m_tokens += 100;
    return feedback();
  }
  [[nodiscard]] Skills fork() const { return *this; }
  void save(const std::filesystem::path&) const {}
  void load(const std::filesystem::path&) {}
  [[nodiscard]] double tokens_seen() const { return m_tokens; }
  [[nodiscard]] std::uint64_t instance_seed() const { return m_instance; }

 private:
  [[nodiscard]] Feedback feedback() const {
    Feedback f;
    f.loss = {1.0 - m_skill[0], 1.0 - m_skill[1]};
    f.score = m_skill;
    f.score_field = {Field::Source, Field::Target};
    f.score_name = {"text", "math"};
    f.tokens = m_tokens;
    return f;
  }
  std::uint64_t m_instance;
  std::vector<double> m_skill{0.5, 0.0};
  double m_tokens = 0;
};
static_assert(dma::Environment<Skills>);

// A user's reward: the target skill gained this stage.
struct TargetGain {
  double operator()(const Feedback& prev, const Feedback& next, const Mixture&, const dma::RewardContext&) const {
    return next.score[1] - prev.score[1];
  }
};
static_assert(dma::Reward<TargetGain>);

// A user's generator: constant schedules at a target share of 0, 0.25, ..., 1.
struct ConstantShares {
  std::vector<Mixture> sample(const dma::EpisodeSpec&, std::size_t steps, dma::Rng& rng) const {
    const double t = 0.25 * double(rng.next_u64() % 5);
    return std::vector<Mixture>(steps, Mixture{1.0 - t, t});
  }
  [[nodiscard]] std::string name() const { return "constant"; }
};
static_assert(dma::ScheduleGenerator<ConstantShares>);

// A user's agent and learner: the agent is one target share; the learner copies the share of the
// trajectory with the highest return.
struct ShareAgent {
  double share = -1;
  int fits = 0;
};
struct BestShare {
  int fit(const std::vector<Trajectory>& data, ShareAgent& a) const {
    const auto best = std::max_element(data.begin(), data.end(), [](const Trajectory& x, const Trajectory& y) {
      return x.total_return() < y.total_return();
    });
    a.share = best->history.steps.front().mixture[1];
    return ++a.fits;
  }
  [[nodiscard]] std::string name() const { return "best_share"; }
};
static_assert(dma::Learner<BestShare, ShareAgent>);

// A second learner that only counts, to compose with the first.
struct Count {
  int fit(const std::vector<Trajectory>&, ShareAgent& a) const { return ++a.fits; }
  [[nodiscard]] std::string name() const { return "count"; }
};

auto deploy(const ShareAgent& a) {
  return dma::mixers::Schedule({Mixture{1.0 - a.share, a.share}}, "learned");
}

TEST_CASE("trainer run: a custom environment, reward and learner compose into collect -> learn -> compare", "[trainer][cpu]") {
  dma::Trainer<Skills, TargetGain, BestShare> tr([](std::uint64_t s) { return Skills(s); });
  dma::trainer::RunPlan plan;
  plan.train_instances = {1, 2, 3};
  plan.collect.per_instance = 6;
  plan.collect.seed = 5;
  plan.eval_instances = {{101, "held-out"}, {102, "held-out"}};
  plan.run_seeds = {7, 8};
  const auto res = tr.run(ConstantShares{}, ShareAgent{}, deploy, {dma::mixers::Uniform{}}, plan);

  CHECK(res.data.size() == 18);
  CHECK(res.collect.trajectories == 18);
  for (const auto& t : res.data) CHECK(t.history.steps.size() == 4);
  // Target gain rewards the target share, so the best collected schedule is target-only.
  CHECK(res.agent.share == 1.0);
  CHECK(res.learned == 1);
  // 2 methods x 2 instances x 2 run seeds; the learned share beats uniform on the reward.
  CHECK(res.table.rows.size() == 8);
  double learned = 0, uniform = 0;
  for (const auto& r : res.table.rows) (r.method == "learned" ? learned : uniform) += r.ret;
  CHECK(learned == Approx(4 * 0.8));   // 4 runs x 4 stages x 0.2
  CHECK(uniform == Approx(4 * 0.4));
}

TEST_CASE("rl::Then composes learners as one type: both run in order, the callback sees the first's agent", "[trainer][cpu]") {
  using Both = dma::rl::Then<BestShare, Count>;
  static_assert(dma::Learner<Both, ShareAgent>);
  std::vector<Trajectory> data(1);
  data[0].history.steps.push_back({Mixture{0.3, 0.7}, {}, 1.0});
  ShareAgent a;
  ShareAgent between;
  const auto [r1, r2] = Both{}.fit(data, a, [&](const ShareAgent& x) { between = x; });
  CHECK(between.share == 0.7);  // the first learner had run, the second not yet
  CHECK(between.fits == 1);
  CHECK(r1 == 1);
  CHECK(r2 == 2);
  CHECK(a.fits == 2);
  CHECK(Both{}.name() == "best_share+count");
  // The Trainer takes the composed type as its Learner and passes the callback through.
  dma::Trainer<Skills, TargetGain, Both> tr([](std::uint64_t s) { return Skills(s); });
  ShareAgent b;
  int calls = 0;
  (void)tr.learn(data, b, [&](const ShareAgent&) { ++calls; });
  CHECK(calls == 1);
  CHECK(b.fits == 2);
}

}  // namespace dma_test_trainer_compose
