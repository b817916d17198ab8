#include <catch2/catch.hpp>

#include <dma/agent/agent.hpp>
#include <dma/space/simplex.hpp>

#include <filesystem>
#include <functional>

#include "../support/finite_diff.hpp"
#include "../support/temp_dir.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_agent_network {

namespace ag = dma::agent;
namespace fs = std::filesystem;
using ag::Mat;
using ag::Tape;
using ag::Var;
using dma::test::grad_check;
// 3 sampled entries per tensor; floor 1e-2 so that tiny gradients still count.
constexpr dma::test::GradCheckOptions kSampled{.per_tensor = 3, .floor = 1e-2};

namespace {

// A history over `fields` (one entry per domain) with `steps` stages of made-up feedback:
// target losses fall with the target share, source losses rise with it.
dma::History make_history(const std::vector<dma::Field>& fields, std::size_t steps,
                          std::uint64_t seed, std::size_t stages = 8) {
  dma::History h;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string name = "d";
    name += std::to_string(i);  // (not "d" + ...: GCC 12 -Wrestrict false positive)
    h.spec.domains.push_back({name, fields[i]});
  }
  h.spec.stages = stages;
  h.spec.target_weight = 0.5;
  dma::Rng rng(seed);
  std::vector<double> loss(fields.size());
  for (auto& l : loss) l = 2.0 + rng.uniform();
  h.initial.loss = loss;
  h.initial.score = {-1.0, -2.0};
  h.initial.score_field = {dma::Field::Source, dma::Field::Target};
  for (std::size_t s = 0; s < steps; ++s) {
    dma::Step st;
    st.mixture = dma::space::dirichlet(fields.size(), 2.0, rng);
    const double tshare = dma::space::field_share(st.mixture, h.spec, dma::Field::Target);
    for (std::size_t i = 0; i < loss.size(); ++i)
      loss[i] += fields[i] == dma::Field::Target ? -0.2 * tshare : 0.1 * tshare - 0.02 * st.mixture[i];
    st.feedback.loss = loss;
    st.feedback.score = {-1.0 - 0.1 * tshare * double(s), -2.0 + 0.2 * tshare * double(s)};
    st.feedback.score_field = h.initial.score_field;
    h.steps.push_back(st);
  }
  return h;
}

const std::vector<dma::Field> kFields3{dma::Field::Source, dma::Field::Source, dma::Field::Target};

ag::AgentConfig small_config() {
  ag::AgentConfig c;
  c.d_embed = 6;
  c.enc_hidden = 7;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 10;
  c.scorer_hidden = 5;
  c.q_hidden = 6;
  return c;
}

}  // namespace

TEST_CASE("agent: the whole policy and critic match finite-difference gradients", "[agent][cpu]") {
  ag::Agent agent(small_config(), 3);
  const dma::History h = make_history(kFields3, 5, 1);
  const ag::Features f = agent.features(h);
  Mat target(f.tokens, f.D);
  for (Eigen::Index r = 0; r < f.tokens; ++r) target.row(r) << 0.2, 0.3, 0.5;
  // Policy: cross-entropy of the per-stage mixtures against a target mixture.
  const auto policy_loss = [&](Tape& t) {
    const auto out = agent.policy()(t, agent.policy_params(), f);
    return ag::weighted_sum(out.log_mix, -target);
  };
  CHECK(grad_check(agent.policy_params(), policy_loss, kSampled) < 1e-5);
  // Critic: a weighted sum of Q over sampled actions (group of 2 per token).
  dma::Rng rng(2);
  Mat acts(f.tokens * 2, f.D);
  for (Eigen::Index r = 0; r < acts.rows(); ++r) {
    const auto m = dma::space::dirichlet(3, 1.0, rng);
    for (Eigen::Index i = 0; i < 3; ++i) acts(r, i) = m[static_cast<std::size_t>(i)];
  }
  const auto critic_loss = [&](Tape& t) {
    const auto tr = agent.critic().trunk(t, agent.critic_params(), f);
    const Var q = agent.critic().q(t, agent.critic_params(), tr, f, t.constant(acts), 2);
    return ag::sum(ag::square(q));
  };
  CHECK(grad_check(agent.critic_params(), critic_loss, kSampled) < 1e-5);
  // Through the action: Q(s, pi(s)) differentiated into the policy (the actor's gradient).
  const auto actor_loss = [&](Tape& t) {
    const auto out = agent.policy()(t, agent.policy_params(), f);
    const auto tr = agent.critic().trunk(t, agent.critic_params(), f);
    return ag::sum(agent.critic().q(t, agent.critic_params(), tr, f, out.mixture, 1));
  };
  CHECK(grad_check(agent.policy_params(), actor_loss, kSampled) < 1e-5);
}

TEST_CASE("agent: the same weights act on 2, 3 and 8 domains with valid mixtures",
          "[agent][cpu]") {
  const ag::Agent agent({}, 42);
  using F = dma::Field;
  const std::vector<std::vector<F>> spaces{
      {F::Source, F::Target}, kFields3,
      {F::Source, F::Source, F::Target, F::Source, F::Source, F::Target, F::Source, F::Source}};
  for (const auto& fields : spaces) {
    for (std::size_t steps : {0u, 1u, 6u}) {
      const dma::History h = make_history(fields, steps, 9);
      const dma::Mixture m = agent.act(h);
      INFO("D = " << fields.size() << ", t = " << steps);
      REQUIRE_NOTHROW(dma::space::validate_mixture(m, fields.size()));
      dma::Rng rng(4);
      const dma::Mixture s = agent.sample(h, rng);
      REQUIRE_NOTHROW(dma::space::validate_mixture(s, fields.size()));
      CHECK(std::isfinite(agent.q_value(h, m)));
      CHECK(agent.act(h) == m);  // deterministic
    }
  }
  // A mixture of the wrong length is bad input, not a crash.
  CHECK_THROWS_AS(agent.q_value(make_history(kFields3, 2, 1), {0.5, 0.5}), dma::Error);
}

TEST_CASE("agent: splitting a domain into identical copies keeps the field shares",
          "[agent][cpu]") {
  // The D-agnostic design in one property: two identical copies of a source domain (each with
  // half its weight) are the same situation as the single domain, so the target share is kept.
  const ag::Agent agent({}, 8);
  dma::History one = make_history({dma::Field::Source, dma::Field::Target}, 3, 2);
  dma::History two = one;
  two.spec.domains = {{"a", dma::Field::Source}, {"a2", dma::Field::Source}, {"t", dma::Field::Target}};
  auto split = [](const std::vector<double>& v, bool halve) {
    return std::vector<double>{halve ? v[0] / 2 : v[0], halve ? v[0] / 2 : v[0], v[1]};
  };
  two.initial.loss = split(one.initial.loss, false);
  for (auto& s : two.steps) {
    s.mixture = split(s.mixture, true);
    s.feedback.loss = split(s.feedback.loss, false);
  }
  const dma::Mixture m1 = agent.act(one), m2 = agent.act(two);
  CHECK(m2[2] == Approx(m1[1]).margin(1e-12));
  CHECK(m2[0] == Approx(m2[1]).margin(1e-12));
}

TEST_CASE("agent: save and load round-trip gives identical outputs", "[agent][cpu]") {
  ag::Agent agent(small_config(), 17);
  agent.set_q_scale(2.5);
  const dma::test::TempDir tmp("agent_test");
  const fs::path& dir = tmp.path;
  agent.save(dir / "a.agent");
  const ag::Agent back = ag::Agent::load(dir / "a.agent");
  const dma::History h = make_history(kFields3, 4, 3);
  CHECK(back.act(h) == agent.act(h));
  CHECK(back.q_value(h, {0.2, 0.3, 0.5}) == agent.q_value(h, {0.2, 0.3, 0.5}));
  CHECK(back.config().to_json() == agent.config().to_json());
  CHECK(back.num_parameters() == agent.num_parameters());
}

TEST_CASE("agent: bad checkpoint files are rejected with a clear error", "[agent][cpu]") {
  const ag::Agent agent(small_config(), 17);
  const dma::test::TempDir tmp("agent_test");
  const fs::path& dir = tmp.path;
  const fs::path p = dir / "b.agent";
  agent.save(p);
  const std::string good = dma::io::read_file(p);

  CHECK_THROWS_WITH(ag::Agent::load(dir / "missing.agent"), Catch::Contains("cannot open"));
  dma::io::atomic_write(p, good.substr(0, good.size() / 2));
  CHECK_THROWS_WITH(ag::Agent::load(p), Catch::Contains("b.agent") && Catch::Contains("truncated"));
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x10;
  dma::io::atomic_write(p, bad);
  CHECK_THROWS_WITH(ag::Agent::load(p), Catch::Contains("checksum"));
  dma::io::atomic_write(p, "NOTANAGENTFILE......");
  CHECK_THROWS_WITH(ag::Agent::load(p), Catch::Contains("bad magic"));
  // A well-framed file whose feature schema differs from this build's.
  {
    dma::io::Writer w;
    w.put_string(agent.config().to_json().dump());
    w.put<std::uint32_t>(ag::kFeatureVersion + 1);
    dma::io::atomic_write(p, dma::io::frame(ag::Agent::kMagic, ag::Agent::kVersion, w.bytes()));
    CHECK_THROWS_WITH(ag::Agent::load(p), Catch::Contains("feature schema"));
  }
  // A config that does not validate.
  {
    dma::io::Writer w;
    w.put_string(R"({"d_model": 30, "heads": 4})");
    dma::io::atomic_write(p, dma::io::frame(ag::Agent::kMagic, ag::Agent::kVersion, w.bytes()));
    CHECK_THROWS_WITH(ag::Agent::load(p), Catch::Contains("divisible"));
  }
}

TEST_CASE("agent features: a mixture or loss of the wrong length is a clear error", "[agent][cpu]") {
  dma::History h = make_history(kFields3, 2, 1);
  h.steps[1].mixture = {0.5, 0.5};
  CHECK_THROWS_WITH(ag::extract_features(h), Catch::Contains("stage 2 mixture has 2 weights"));
  h = make_history(kFields3, 2, 1);
  h.steps[0].feedback.loss.pop_back();
  CHECK_THROWS_WITH(ag::extract_features(h), Catch::Contains("stage 1 feedback has 2 losses"));
}

}  // namespace dma_test_agent_network
