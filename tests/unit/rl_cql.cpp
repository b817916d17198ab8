#include <catch2/catch.hpp>

#include <dma/agent/agent.hpp>
#include <dma/rl/cql.hpp>
#include <dma/rl/sft.hpp>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_rl_cql {

namespace ag = dma::agent;
using dma::Field;

namespace {

// A one-stage offline problem over the simplex of 2 domains (a bandit): the action is the target
// share x, the true value is r(x) = 1 - 4 (x - 0.3)^2 (optimum 0.3). The dataset only covers
// x in [0.25, 0.45]: every action outside that band is out of distribution.
double true_value(double x) { return 1.0 - 4.0 * (x - 0.3) * (x - 0.3); }

dma::History bandit_history() {
  dma::History h;
  h.spec.domains = {{"src", Field::Source}, {"math", Field::Target}};
  h.spec.stages = 1;
  h.initial.loss = {2.0, 3.5};
  h.initial.score = {-1.0, -2.0};
  h.initial.score_field = {Field::Source, Field::Target};
  return h;
}

// One trajectory of the bandit: target share x, reward r(x) + noise.
dma::Trajectory bandit_trajectory(std::size_t id, double x, double noise) {
  dma::Trajectory tr;
  tr.history = bandit_history();
  dma::Step st;
  st.mixture = {1 - x, x};
  st.feedback = tr.history.initial;
  st.feedback.loss = {2.0 + 0.5 * (1 - x), 3.5 - x};
  st.reward = true_value(x) + noise;
  tr.history.steps.push_back(st);
  tr.id = id;
  tr.episode_seed = 1;
  return tr;
}

std::vector<dma::Trajectory> narrow_dataset(std::size_t n) {
  dma::Rng rng(21);
  std::vector<dma::Trajectory> data;
  for (std::size_t k = 0; k < n; ++k) {
    const double x = rng.uniform(0.25, 0.45);
    data.push_back(bandit_trajectory(k, x, rng.normal(0.0, 0.01)));
  }
  return data;
}

dma::rl::CqlConfig bandit_config(double alpha) {
  dma::rl::CqlConfig c;
  c.alpha = alpha;
  c.epochs = 50;
  c.batch = 8;
  c.warmup_epochs = 10;
  c.bc_weight = 0.0;  // pure Q maximisation: whatever the critic believes, the actor follows
  c.q_weight = 1.0;
  c.actor_adam.lr = 3e-3;
  c.seed = 4;
  return c;
}

}  // namespace

TEST_CASE("cql: plain Q-learning over-estimates poorly covered actions, CQL does not",
          "[rl][cpu]") {
  const auto data = narrow_dataset(64);
  const dma::History h = bandit_history();
  ag::AgentConfig acfg;
  acfg.q_heads = 1;
  ag::Agent plain(acfg, 9), cql(acfg, 9);
  const auto rp = dma::rl::Cql(bandit_config(0.0)).fit(data, plain);
  const auto rc = dma::rl::Cql(bandit_config(1.0)).fit(data, cql);
  CHECK(rp.learner == "actor_critic(alpha=0)");
  CHECK(rc.learner == "cql");

  // Out-of-distribution actions on both sides of the data band, and the actions each actor chose.
  const std::vector<double> ood{0.0, 0.05, 0.1, 0.6, 0.8, 1.0};
  double plain_over = -1e9, cql_over = -1e9;
  for (double x : ood) {
    plain_over = std::max(plain_over, plain.q_value(h, {1 - x, x}) - true_value(x));
    cql_over = std::max(cql_over, cql.q_value(h, {1 - x, x}) - true_value(x));
  }
  const double xp = plain.act(h)[1], xc = cql.act(h)[1];
  const double plain_pi_over = plain.q_value(h, plain.act(h)) - true_value(xp);
  const double cql_pi_over = cql.q_value(h, cql.act(h)) - true_value(xc);
  INFO("plain: worst OOD over-estimate " << plain_over << ", its action x=" << xp << " (Q - true "
                                         << plain_pi_over << ")");
  INFO("cql:   worst OOD over-estimate " << cql_over << ", its action x=" << xc << " (Q - true "
                                         << cql_pi_over << ")");
  CHECK(plain_over > 0.3);     // plain Q believes some unseen action is much better than it is
  CHECK(plain_pi_over > 0.2);  // ... and its actor goes there, out of the data
  CHECK(std::abs(xp - 0.35) > 0.2);
  CHECK(cql_over < 0.0);       // CQL's values of unseen actions are below their true values
  // CQL's actor stays in the covered band, near the known optimum, and does far better.
  CHECK(std::abs(xc - 0.3) < 0.1);
  CHECK(true_value(xc) > true_value(xp) + 0.2);
  // CQL(H)'s "- Q(data)" term lifts the values of dataset actions a little by design (the gap
  // to unseen actions widens); they stay in the right range and above every unseen action.
  const double q_in = cql.q_value(h, {0.65, 0.35});
  CHECK(std::abs(q_in - true_value(0.35)) < 0.4);
  for (double x : ood) CHECK(cql.q_value(h, {1 - x, x}) < q_in);
}

namespace {
// A one-head agent fit by the advantage-weighted actor (no BC term, 40 epochs) on bandit data
// covering x in [0.2, 0.8] evenly (optimum 0.3); the AWR and critic-guided tests share it.
// awr_beta = 1e6 weighs every action 1: plain behaviour cloning of all the data.
ag::Agent fit_awr_on_wide_bandit(double awr_beta, dma::rl::LearnReport* report = nullptr) {
  dma::Rng rng(5);
  std::vector<dma::Trajectory> data;
  for (std::size_t k = 0; k < 96; ++k) {
    const double x = 0.2 + 0.6 * double(k) / 95.0;
    data.push_back(bandit_trajectory(k, x, rng.normal(0.0, 0.01)));
  }
  ag::AgentConfig acfg;
  acfg.q_heads = 1;
  dma::rl::CqlConfig c = bandit_config(1.0);
  c.actor = dma::rl::ActorMode::Awr;
  c.bc_weight = 0.0;
  c.awr_beta = awr_beta;
  c.epochs = 40;
  ag::Agent a(acfg, 9);
  const auto rep = dma::rl::Cql(c).fit(data, a);
  if (report) *report = rep;
  return a;
}
}  // namespace

TEST_CASE("cql: the advantage-weighted actor moves toward the critic's best data actions",
          "[rl][cpu]") {
  // Data cover x in [0.2, 0.8] evenly (mean 0.5); the true optimum is 0.3. Cloning the data
  // would give ~0.5; weighting each action by exp(A/beta) under the conservative critic must
  // move clearly toward the optimum (measured: ~0.42 after 30 actor epochs) and stay in the data.
  dma::rl::LearnReport rep;
  const ag::Agent awr = fit_awr_on_wide_bandit(0.05, &rep);
  CHECK(rep.extra["config"]["actor"] == "awr");
  const ag::Agent clone = fit_awr_on_wide_bandit(1e6);
  const dma::History h = bandit_history();
  const double xa = awr.act(h)[1], xb = clone.act(h)[1];
  INFO("awr x=" << xa << ", cloning x=" << xb);
  CHECK(std::abs(xb - 0.5) < 0.08);
  CHECK(xa < xb - 0.05);
  CHECK(std::abs(xa - 0.3) < std::abs(xb - 0.3) - 0.05);
  CHECK(xa >= 0.2);
}

TEST_CASE("cql: critic-guided selection moves a cloned policy toward the critic's optimum",
          "[rl][cpu]") {
  // The AWR test's data (x in [0.2, 0.8], optimum 0.3) and its plain-cloning actor (x ~ 0.5):
  // scoring mixtures sampled around the policy's with the conservative critic and taking the best
  // (Agent::act_guided) must land closer to 0.3 with a higher true value, inside the data.
  const ag::Agent clone = fit_awr_on_wide_bandit(1e6);  // cloning
  const dma::History h = bandit_history();
  const double xb = clone.act(h)[1];
  const auto g = clone.act_guided(h, 64, 0.0, 3);
  const double xg = g[1];
  INFO("cloning x=" << xb << ", guided x=" << xg);
  CHECK(clone.act_guided(h, 0) == clone.act(h));
  CHECK(clone.act_guided(h, 64, 0.0, 3) == g);  // deterministic in the seed
  CHECK(std::abs(xg - 0.3) < std::abs(xb - 0.3) - 0.05);
  CHECK(true_value(xg) > true_value(xb) + 0.02);
  CHECK(clone.q_value(h, g) >= clone.q_value(h, clone.act(h)));
  CHECK(xg >= 0.2);
  // A margin no candidate can clear keeps the policy's own mixture.
  CHECK(clone.act_guided(h, 64, 1e6, 3) == clone.act(h));
  CHECK_THROWS_AS(clone.act_guided(h, -1), dma::Error);
}

}  // namespace dma_test_rl_cql
