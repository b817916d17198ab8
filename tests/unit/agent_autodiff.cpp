#include <catch2/catch.hpp>

#include <dma/agent/adam.hpp>
#include <dma/agent/layers.hpp>
#include <dma/agent/tape.hpp>

#include <functional>

#include "../support/finite_diff.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_agent_autodiff {

namespace ag = dma::agent;
using ag::Mat;
using ag::ParamStore;
using ag::Tape;
using ag::Var;
using dma::test::grad_check;  // every entry, relative-error floor 1

namespace {

Mat rnd(Eigen::Index r, Eigen::Index c, dma::Rng& rng, double sd = 1.0) {
  return ag::random_normal(r, c, sd, rng);
}

// A fixed random projection to a scalar, so every output entry gets a distinct gradient.
Var project(Tape& t, Var x, std::uint64_t seed = 99) {
  dma::Rng r(seed);
  return ag::weighted_sum(x, rnd(x.rows(), x.cols(), r));
}

}  // namespace

TEST_CASE("autodiff: every elementary op matches finite differences", "[agent][cpu]") {
  dma::Rng rng(1);
  ParamStore ps;
  const int a = ps.add("a", rnd(4, 3, rng));
  const int b = ps.add("b", rnd(3, 5, rng));
  const int c = ps.add("c", rnd(4, 3, rng));
  const int row = ps.add("row", rnd(1, 3, rng));
  const int col = ps.add("col", rnd(4, 1, rng));
  const int sq = ps.add("sq", rnd(4, 4, rng));
  const int w = ps.add("w", rnd(6, 3, rng).cwiseAbs());  // 3 tokens x 2 group, D = 3
  const int e = ps.add("e", rnd(9, 2, rng));               // 3 tokens x D=3 embeddings

  using F = std::function<Var(Tape&)>;
  const std::vector<std::pair<const char*, F>> cases{
      {"matmul", [&](Tape& t) { return project(t, ag::matmul(t.param(ps, a), t.param(ps, b))); }},
      {"matmul_nt", [&](Tape& t) { return project(t, ag::matmul_nt(t.param(ps, a), t.param(ps, c))); }},
      {"add/sub/mul",
       [&](Tape& t) {
         const Var x = t.param(ps, a), y = t.param(ps, c);
         return project(t, ag::mul(ag::add(x, y), ag::sub(x, ag::scale(y, 0.3))));
       }},
      {"add_row/mul_row/add_col",
       [&](Tape& t) {
         const Var x = t.param(ps, a);
         return project(t, ag::add_col(ag::mul_row(ag::add_row(x, t.param(ps, row)), t.param(ps, row)),
                                       t.param(ps, col)));
       }},
      {"slice/concat/repeat/reshape",
       [&](Tape& t) {
         const Var x = t.param(ps, a);
         const Var j = ag::concat_cols({ag::slice_cols(x, 1, 2), x, ag::slice_rows(t.param(ps, c), 0, 4)});
         return project(t, ag::reshape(ag::repeat_rows(j, 3), 6, 16));
       }},
      {"silu/tanh/sigmoid/square",
       [&](Tape& t) {
         const Var x = t.param(ps, a);
         return project(t, ag::add(ag::add(ag::silu(x), ag::tanh(x)), ag::mul(ag::sigmoid(x), ag::square(x))));
       }},
      {"layer_norm_rows", [&](Tape& t) { return project(t, ag::layer_norm_rows(t.param(ps, b))); }},
      {"softmax_rows", [&](Tape& t) { return project(t, ag::softmax_rows(t.param(ps, a))); }},
      {"causal softmax", [&](Tape& t) { return project(t, ag::softmax_rows(t.param(ps, sq), true)); }},
      {"log_softmax_rows", [&](Tape& t) { return project(t, ag::log_softmax_rows(t.param(ps, a))); }},
      {"logsumexp_rows", [&](Tape& t) { return project(t, ag::logsumexp_rows(t.param(ps, a))); }},
      {"segment_weighted_sum",
       [&](Tape& t) { return project(t, ag::segment_weighted_sum(t.param(ps, w), t.param(ps, e), 2)); }},
      {"lmul_const/mean",
       [&](Tape& t) {
         dma::Rng r(3);
         return ag::mean(ag::square(ag::lmul_const(rnd(2, 4, r), t.param(ps, a))));
       }},
  };
  for (const auto& [name, fn] : cases) {
    INFO(name);
    CHECK(grad_check(ps, fn) < 1e-6);
  }
}

TEST_CASE("autodiff: each layer's gradient matches finite differences", "[agent][cpu]") {
  dma::Rng rng(7);
  ParamStore ps;
  const ag::Linear lin(ps, "lin", 5, 4, rng);
  const ag::Mlp mlp(ps, "mlp", 4, 6, 3, rng);
  const ag::LayerNorm ln(ps, "ln", 3);
  const ag::CausalSelfAttention attn(ps, "attn", 8, 2, rng, 0.5);
  const ag::Transformer tf(ps, "tf", 8, 2, 16, 2, rng);
  // Perturb LayerNorm's affine part away from (1, 0) so its gradient is generic.
  ps.value(ln.gamma) = rnd(1, 3, rng);
  ps.value(ln.beta) = rnd(1, 3, rng);
  const Mat x5 = rnd(4, 5, rng), x8 = rnd(5, 8, rng);

  CHECK(grad_check(ps, [&](Tape& t) { return project(t, lin(t, ps, t.constant(x5))); }) < 1e-6);
  CHECK(grad_check(ps, [&](Tape& t) {
          return project(t, ln(t, ps, mlp(t, ps, lin(t, ps, t.constant(x5)))));
        }) < 1e-6);
  CHECK(grad_check(ps, [&](Tape& t) { return project(t, attn(t, ps, t.constant(x8))); }) < 1e-6);
  CHECK(grad_check(ps, [&](Tape& t) { return project(t, tf(t, ps, t.constant(x8))); }) < 1e-6);
}

TEST_CASE("autodiff: gradients only flow into registered stores and respect causality",
          "[agent][cpu]") {
  dma::Rng rng(11);
  ParamStore trained, frozen;
  const int a = trained.add("a", rnd(3, 3, rng));
  const int f = frozen.add("f", rnd(3, 3, rng));
  Tape t;
  t.train(trained);
  t.backward(ag::sum(ag::matmul(t.param(trained, a), t.param(frozen, f))));
  CHECK(trained.grad(a).norm() > 0);
  CHECK(frozen.grad(f).norm() == 0);

  // A causal attention output at row 0 must not depend on later rows.
  ParamStore ps;
  const ag::CausalSelfAttention attn(ps, "attn", 4, 1, rng, 1.0);
  ParamStore in;
  const int x = in.add("x", rnd(3, 4, rng));
  Tape t2;
  t2.train(in);
  t2.backward(ag::sum(ag::slice_rows(attn(t2, ps, t2.param(in, x)), 0, 1)));
  CHECK(in.grad(x).row(0).norm() > 0);
  CHECK(in.grad(x).bottomRows(2).norm() == 0);
}

TEST_CASE("adam: minimises a quadratic to its known optimum", "[agent][cpu]") {
  ParamStore ps;
  const int x = ps.add("x", Mat::Zero(1, 3));
  Mat target(1, 3);
  target << 1.0, -2.0, 0.5;
  ag::Adam opt(ps, {.lr = 0.05, .clip_norm = 0});
  for (int it = 0; it < 2000; ++it) {
    Tape t;
    t.train(ps);
    t.backward(ag::sum(ag::square(ag::sub(t.param(ps, x), t.constant(target)))));
    opt.step(ps);
  }
  CHECK((ps.value(x) - target).norm() < 1e-3);
}

}  // namespace dma_test_agent_autodiff
