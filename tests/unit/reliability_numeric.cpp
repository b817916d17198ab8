// Numerical faults (model/guard.hpp): a NaN/Inf loss or gradient skips the optimizer step and is
// counted; a run that keeps producing them fails with dma::Error; a non-finite Feedback never
// reaches a trajectory. Faults are injected by poisoning a parameter, the gradient and the LR.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "dma/model/guard.hpp"
#include "dma/model/llama.hpp"
#include "dma/model/optim.hpp"
#include "dma/model/state.hpp"
#include "env_cpt_fixture.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_reliability_numeric {

using namespace dma::model;

namespace {

ModelConfig tiny() {
  ModelConfig c;
  c.d_model = 16;
  c.layers = 1;
  c.heads = 2;
  c.context = 8;
  return c;
}

StepStats one_step(Llama<>& net, TrainState<>& s, float lr = 1e-3f) {
  std::vector<dma::Token> in(2 * 8), tg(2 * 8);
  for (std::size_t j = 0; j < in.size(); ++j) {
    in[j] = dma::Token(97 + j % 7);
    tg[j] = dma::Token(97 + (j + 1) % 7);
  }
  const MicroBatch mb{in.data(), tg.data(), 2, 8};
  return train_step(net, s, LrSchedule::constant(lr), AdamWConfig{}, std::span(&mb, 1));
}

bool same_bytes(const TrainState<>& a, const TrainState<>& b) {
  const auto eq = [](const auto& x, const auto& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
  };
  return a.step == b.step && eq(a.params, b.params) && eq(a.m, b.m) && eq(a.v, b.v);
}

}  // namespace

TEST_CASE("guard: a NaN parameter makes train_step skip the update and leave the state untouched", "[model][cpu]") {
  Llama<> net(tiny(), 2, 1);
  auto s = TrainState<>::create(tiny(), 3);
  REQUIRE_FALSE(one_step(net, s).skipped);  // a healthy step first: moments are non-zero
  s.params.data()[s.params.size() / 2] = std::numeric_limits<float>::quiet_NaN();  // inside a layer matrix
  const auto before = s.fork();
  const auto st = one_step(net, s);
  CHECK(st.skipped);
  CHECK_FALSE(std::isfinite(st.loss));
  CHECK(same_bytes(before, s));  // parameters, moments and the schedule position as they were
}

TEST_CASE("guard: an infinite gradient norm skips AdamW without touching moments or step", "[model][cpu]") {
  const auto cfg = tiny();
  auto s = TrainState<>::create(cfg, 4);
  const ParamLayout lay(cfg);
  std::vector<float> grads(lay.total, 0.01f);
  grads[7] = std::numeric_limits<float>::infinity();
  const auto before = s.fork();
  const float norm = adamw_step(dma::backend::Cpu{}, lay, s, grads.data(), 1e-3f, AdamWConfig{});
  CHECK_FALSE(std::isfinite(norm));
  CHECK(same_bytes(before, s));
  grads[7] = 0.01f;
  adamw_step(dma::backend::Cpu{}, lay, s, grads.data(), 1e-3f, AdamWConfig{});
  CHECK(s.step == before.step + 1);  // a finite gradient is applied as usual
}

TEST_CASE("guard: StepGuard counts skips, resets on a good step and fails after the limit", "[model][cpu]") {
  StepGuard g(FaultPolicy{3});
  g.record(true, NAN, NAN, "run x");
  g.record(true, NAN, NAN, "run x");
  g.record(false, 1.0f, 0.5f, "run x");  // one good step clears the streak
  CHECK(g.consecutive() == 0);
  CHECK(g.skipped() == 2);
  g.record(true, NAN, NAN, "run x");
  g.record(true, NAN, NAN, "run x");
  CHECK_THROWS_WITH(g.record(true, NAN, 1.0f, "run x stage 2"),
                    Catch::Contains("run x stage 2") && Catch::Contains("3 consecutive"));
  CHECK(g.skipped() == 5);
}

TEST_CASE("guard: require_finite names the field of a non-finite Feedback value", "[model][cpu]") {
  dma::Feedback f;
  f.loss = {1.0, 2.0};
  f.score = {0.5};
  CHECK_NOTHROW(require_finite(f, "env x"));
  f.loss[1] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(require_finite(f, "env x"), Catch::Contains("env x") && Catch::Contains("loss[1]"));
  f.loss[1] = 2.0;
  f.seconds = NAN;
  CHECK_THROWS_WITH(require_finite(f, "env x"), Catch::Contains("'seconds'"));
}

TEST_CASE("guard: env::Cpt with an infinite learning rate fails the stage instead of recording NaN", "[env][cpu]") {
  auto cfg = cpt_test::config();
  cfg.peak_lr = std::numeric_limits<float>::infinity();  // passes `> 0`: the poisoned-LR injection
  dma::env::Cpt<> env(cpt_test::world(cfg));
  const dma::Mixture mix{0.3, 0.3, 0.4};
  CHECK_THROWS_WITH(env.step(mix), Catch::Contains("env::Cpt: stage 1"));
  CHECK(env.steps().empty());  // nothing reached the step history (and so no trajectory)
  CHECK(env.skipped_steps() >= 1);
}

TEST_CASE("guard: a healthy env::Cpt run skips no step", "[env][cpu]") {
  dma::env::Cpt<> env(cpt_test::world());
  env.step({0.3, 0.3, 0.4});
  CHECK(env.skipped_steps() == 0);
  CHECK(env.steps().size() == 1);
}

}  // namespace dma_test_reliability_numeric
