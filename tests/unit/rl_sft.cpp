#include <catch2/catch.hpp>

#include <dma/agent/agent.hpp>
#include <dma/mixers/agent.hpp>
#include <dma/rl/sft.hpp>
#include <dma/space/simplex.hpp>

#include <memory>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_rl_sft {

namespace ag = dma::agent;
using dma::Field;

namespace {

// A toy "environment": losses respond to the mixture deterministically (target falls with its
// share, sources rise without replay), and the probe scores follow the losses.
dma::Feedback toy_feedback(const dma::Feedback& prev, const dma::Mixture& m, const dma::EpisodeSpec& spec) {
  dma::Feedback f = prev;
  double ts = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (spec.domains[i].field == Field::Target) {
      f.loss[i] -= 0.3 * m[i];
      ts += m[i];
    } else {
      f.loss[i] += 0.1 - 0.25 * m[i];
    }
  }
  f.score = {prev.score[0] - 0.05 * (1 - ts), prev.score[1] + 0.1 * ts};
  return f;
}

dma::EpisodeSpec toy_spec() {
  dma::EpisodeSpec s;
  s.domains = {{"a", Field::Source}, {"m", Field::Target}, {"b", Field::Source}};
  s.stages = 6;
  s.target_weight = 0.5;
  return s;
}

dma::Feedback toy_base() {
  dma::Feedback b;
  b.loss = {2.0, 3.5, 2.4};
  b.score = {-1.0, -2.0};
  b.score_field = {Field::Source, Field::Target};
  return b;
}

// The known good schedule: the target share ramps down 0.7 -> 0.2; the sources are replayed
// evenly at first, then 2:1 toward "a", the one that forgot more (relative to its base loss)
// at stage 1. (At stage 1 the sources look the same to a domain-count-agnostic agent, so an
// uneven first split could not be learned from features, only from domain order.)
dma::Mixture known(std::size_t t) {
  const double ts = 0.7 - 0.1 * double(t);
  const double fa = t == 0 ? 0.5 : 2.0 / 3.0;
  return {(1 - ts) * fa, ts, (1 - ts) * (1 - fa)};
}

dma::Trajectory rollout(const std::vector<dma::Mixture>& sched, double ret, std::uint64_t id) {
  dma::Trajectory tr;
  tr.history.spec = toy_spec();
  tr.history.initial = toy_base();
  for (const auto& m : sched) {
    dma::Step st;
    st.mixture = m;
    st.feedback = toy_feedback(tr.history.last(), m, tr.history.spec);
    st.reward = ret / double(sched.size());
    tr.history.steps.push_back(st);
  }
  tr.id = id;
  tr.episode_seed = 1;
  return tr;
}

std::vector<dma::Trajectory> toy_dataset() {
  std::vector<dma::Trajectory> data;
  dma::Rng rng(3);
  std::vector<dma::Mixture> good;
  for (std::size_t t = 0; t < 6; ++t) good.push_back(known(t));
  for (std::uint64_t k = 0; k < 40; ++k) {
    if (k % 4 == 0) {
      data.push_back(rollout(good, 1.0, k));  // the best quarter: the known schedule
    } else {
      std::vector<dma::Mixture> sched;
      for (int t = 0; t < 6; ++t) sched.push_back(dma::space::dirichlet(3, 1.0, rng));
      data.push_back(rollout(sched, -0.5 + 0.01 * double(k), k));
    }
  }
  return data;
}

}  // namespace

TEST_CASE("sft: top_by_return keeps the best fraction, per instance", "[rl][cpu]") {
  std::vector<dma::Trajectory> data(6);
  const double rets[6] = {0.1, 0.9, 0.5, 5.0, 4.0, 6.0};
  for (std::size_t k = 0; k < 6; ++k) {
    data[k].history.steps.resize(1);
    data[k].history.steps[0].reward = rets[k];
    data[k].episode_seed = k < 3 ? 1 : 2;
  }
  CHECK(dma::rl::top_by_return(data, 1.0 / 3.0, true) == std::vector<std::size_t>{1, 5});
  CHECK(dma::rl::top_by_return(data, 1.0 / 3.0, false) == std::vector<std::size_t>{3, 5});
  CHECK_THROWS_AS(dma::rl::top_by_return(data, 0.0, true), dma::Error);
}

TEST_CASE("sft: imitates a known schedule on a toy dataset, open and closed loop", "[rl][cpu]") {
  const auto data = toy_dataset();
  ag::Agent agent({}, 5);
  dma::rl::SftConfig cfg;
  cfg.top_fraction = 0.25;
  cfg.epochs = 150;
  const auto rep = dma::rl::Sft(cfg).fit(data, agent);
  CHECK(rep.learner == "sft");
  CHECK(rep.trajectories == 10);
  REQUIRE(rep.curve.size() == 150);
  CHECK(rep.curve.back() < rep.curve.front());
  CHECK(rep.to_json()["curve"].size() == 150);

  // Closed loop: the agent drives the toy dynamics from the base model on its own.
  auto shared = std::make_shared<const ag::Agent>(agent);
  dma::mixers::AgentMixer mixer(shared, "sft-agent");
  dma::History h;
  h.spec = toy_spec();
  h.initial = toy_base();
  mixer.reset(h.spec);
  double worst = 0;
  for (std::size_t t = 0; t < 6; ++t) {
    const dma::Mixture m = mixer.next(h);
    REQUIRE_NOTHROW(dma::space::validate_mixture(m, 3));
    const dma::Mixture want = known(t);
    for (std::size_t i = 0; i < 3; ++i) worst = std::max(worst, std::abs(m[i] - want[i]));
    h.steps.push_back({m, toy_feedback(h.last(), m, h.spec), 0.0});
  }
  INFO("largest weight error along the closed-loop schedule: " << worst);
  CHECK(worst < 0.05);
  CHECK(mixer.name() == "sft-agent");
}

TEST_CASE("sft: bad datasets and configs are rejected", "[rl][cpu]") {
  ag::Agent agent({}, 5);
  CHECK_THROWS_WITH(dma::rl::Sft().fit({}, agent), Catch::Contains("empty"));
  auto data = toy_dataset();
  data[3].history.steps[2].mixture = {0.5, 0.6, 0.1};
  CHECK_THROWS_WITH(dma::rl::Sft().fit(data, agent), Catch::Contains("trajectory 3 stage 3"));
  CHECK_THROWS_AS(dma::rl::Sft({.batch = 0}), dma::Error);
  CHECK_THROWS_AS(dma::mixers::AgentMixer(nullptr, "x"), dma::Error);
}

}  // namespace dma_test_rl_sft
