// tests/parity/cuda_ops.cu: every CUDA op of the proxy against its backend::Cpu counterpart
// (tests/parity/cpu_reference.cpp) over a sweep of shapes, including sizes that are not
// multiples of the warp (32) or of GEMM tiles; plus DeviceBuffer and DMA_CUDA_CHECK behaviour.
// Tolerances are stated per op: FP32 GEMMs 1e-5-ish relative, TF32 GEMMs ~1e-2 of the scale.
#include <catch2/catch.hpp>

#include <dma/backend/cuda/ops.cuh>

#include <cmath>
#include <tuple>
#include <vector>

#include "cpu_reference.hpp"
#include "parity_util.hpp"

namespace {

using namespace dma;
using namespace dma::parity;
using backend::cuda::DeviceBuffer;
constexpr backend::Cuda gpu{};

template <class T>
DeviceBuffer<T> up(const std::vector<T>& v) {
  return DeviceBuffer<T>::from_host(v);
}

struct Tf32Guard {  // restores strict FP32 GEMMs after a test
  explicit Tf32Guard(bool on) { backend::cuda::context().set_tf32(on); }
  ~Tf32Guard() { backend::cuda::context().set_tf32(false); }
};

}  // namespace

TEST_CASE("cuda buffer: round trip, clone, move and zero", "[cuda][backend]") {
  Rng rng(1);
  const auto h = random_floats(1001, rng);
  auto a = up(h);
  CHECK(a.to_host() == h);
  auto b = a.clone();
  DeviceBuffer<float> c(std::move(a));
  CHECK(a.data() == nullptr);
  CHECK(a.size() == 0);
  CHECK(c.to_host() == h);
  b.zero();
  CHECK(b.to_host() == std::vector<float>(1001, 0.f));
}

TEST_CASE("cuda check: a failing CUDA call throws dma::Error naming file, line and call", "[cuda][backend]") {
  using Catch::Matchers::Contains;
  // 2^50 floats cannot be allocated: cudaMalloc fails and DeviceBuffer reports it.
  REQUIRE_THROWS_WITH(DeviceBuffer<float>(std::size_t(1) << 50),
                      Contains("buffer.cuh:") && Contains("cudaMalloc") && Contains("CUDA error"));
  // The error was cleared: the next launch check passes.
  DeviceBuffer<float> ok(10);
  CHECK(ok.to_host().size() == 10);
}

TEST_CASE("cuda encoder: forward and both backward kernels match the CPU", "[cuda][embedding]") {
  for (auto [N, C, V] : std::vector<std::tuple<std::size_t, std::size_t, std::size_t>>{
           {1, 1, 2}, {7, 13, 5}, {130, 40, 259}, {1000, 33, 7}, {333, 300, 259}}) {
    INFO("N " << N << " C " << C << " V " << V);
    Rng rng(N * 131 + C);
    const auto wte = random_floats(V * C, rng);
    const auto inp = random_tokens(N, V, rng);
    const auto dout = random_floats(N * C, rng);
    const auto dwte0 = random_floats(V * C, rng);
    std::vector<float> out(N * C), dwte = dwte0;
    cpu_encoder_forward(out.data(), inp.data(), wte.data(), N, C);
    cpu_encoder_backward(dwte.data(), dout.data(), inp.data(), N, C);
    auto d_wte = up(wte), d_dout = up(dout), d_out = DeviceBuffer<float>(N * C);
    auto d_inp = up(inp);
    encoder_forward(gpu, d_out.data(), d_inp.data(), d_wte.data(), N, C);
    CHECK(d_out.to_host() == out);  // a copy: exact
    auto d_dw = up(dwte0);
    encoder_backward(gpu, d_dw.data(), d_dout.data(), d_inp.data(), N, C);
    check_close(d_dw.to_host(), dwte, 1e-5, 1e-5, "encoder_backward (atomic)");
    auto d_dw2 = up(dwte0), d_dw3 = up(dwte0);
    backend::cuda::encoder_backward_deterministic(d_dw2.data(), d_dout.data(), d_inp.data(), N, C, V);
    backend::cuda::encoder_backward_deterministic(d_dw3.data(), d_dout.data(), d_inp.data(), N, C, V);
    check_close(d_dw2.to_host(), dwte, 1e-5, 1e-5, "encoder_backward_deterministic");
    CHECK(d_dw2.to_host() == d_dw3.to_host());  // bit-reproducible
  }
}

TEST_CASE("cuda rmsnorm: forward and backward match the CPU", "[cuda][norm]") {
  for (auto [N, C] : std::vector<std::pair<std::size_t, std::size_t>>{
           {1, 1}, {7, 13}, {33, 40}, {300, 97}, {513, 640}}) {
    INFO("N " << N << " C " << C);
    Rng rng(N * 17 + C);
    const auto x = random_floats(N * C, rng), w = random_floats(C, rng, 0.5), dy = random_floats(N * C, rng);
    const auto dx0 = random_floats(N * C, rng), dw0 = random_floats(C, rng);
    std::vector<float> out(N * C), rstd(N), dx = dx0, dw = dw0;
    cpu_rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    cpu_rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, C);
    auto d_x = up(x), d_w = up(w), d_dy = up(dy), d_dx = up(dx0), d_dw = up(dw0);
    DeviceBuffer<float> d_out(N * C), d_rstd(N);
    rmsnorm_forward(gpu, d_out.data(), d_rstd.data(), d_x.data(), d_w.data(), N, C, 1e-5f);
    check_close(d_out.to_host(), out, 1e-5, 1e-5, "rmsnorm out");
    check_close(d_rstd.to_host(), rstd, 1e-6, 1e-5, "rmsnorm rstd");
    // backward from the CPU's rstd, so that only the backward is under test
    d_rstd.upload(rstd.data(), N);
    rmsnorm_backward(gpu, d_dx.data(), d_dw.data(), d_dy.data(), d_x.data(), d_w.data(), d_rstd.data(), N, C);
    check_close(d_dx.to_host(), dx, 1e-4, 1e-4, "rmsnorm dinp (+=)");
    check_close(d_dw.to_host(), dw, 1e-4 * std::sqrt(double(N)), 1e-4, "rmsnorm dweight (+=)");
  }
}

TEST_CASE("cuda matmul: forward, residual and backward match the CPU (FP32 and TF32)", "[cuda][matmul]") {
  for (bool tf32 : {false, true}) {
    Tf32Guard guard(tf32);
    // TF32 rounds inputs to 10 mantissa bits: errors grow like 2^-11 sqrt(K) of the products' scale.
    for (auto [N, IC, OC] : std::vector<std::tuple<std::size_t, std::size_t, std::size_t>>{
             {1, 1, 1}, {7, 13, 5}, {33, 40, 97}, {130, 96, 259}, {257, 129, 65}, {1024, 640, 1712}}) {
      INFO((tf32 ? "TF32" : "FP32") << " N " << N << " IC " << IC << " OC " << OC);
      Rng rng(N + 7 * IC + 13 * OC);
      const auto x = random_floats(N * IC, rng), w = random_floats(OC * IC, rng), res = random_floats(N * OC, rng);
      const auto dy = random_floats(N * OC, rng), dw0 = random_floats(OC * IC, rng);
      const double fa = tf32 ? 4e-3 : 2e-5;  // times sqrt(K): the typical size of a K-term dot
      std::vector<float> out(N * OC), outr(N * OC), dx(N * IC), dw = dw0;
      cpu_matmul_forward(out.data(), x.data(), w.data(), N, IC, OC);
      cpu_matmul_residual_forward(outr.data(), res.data(), x.data(), w.data(), N, IC, OC);
      cpu_matmul_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), N, IC, OC);
      auto d_x = up(x), d_w = up(w), d_res = up(res), d_dy = up(dy), d_dw = up(dw0);
      DeviceBuffer<float> d_out(N * OC), d_outr(N * OC), d_dx(N * IC);
      matmul_forward(gpu, d_out.data(), d_x.data(), d_w.data(), N, IC, OC);
      check_close(d_out.to_host(), out, fa * std::sqrt(double(IC)), 1e-4, "matmul out");
      matmul_residual_forward(gpu, d_outr.data(), d_res.data(), d_x.data(), d_w.data(), N, IC, OC);
      check_close(d_outr.to_host(), outr, fa * std::sqrt(double(IC)), 1e-4, "matmul residual out");
      matmul_residual_forward(gpu, d_res.data(), d_res.data(), d_x.data(), d_w.data(), N, IC, OC);
      check_close(d_res.to_host(), outr, fa * std::sqrt(double(IC)), 1e-4, "matmul residual in place");
      matmul_backward(gpu, d_dx.data(), d_dw.data(), d_dy.data(), d_x.data(), d_w.data(), N, IC, OC);
      check_close(d_dx.to_host(), dx, fa * std::sqrt(double(OC)), 1e-4, "matmul dinp");
      check_close(d_dw.to_host(), dw, fa * std::sqrt(double(N)), 1e-4, "matmul dweight (+=)");
      // dinp may be null: only dweight accumulates (again)
      matmul_backward(gpu, nullptr, d_dw.data(), d_dy.data(), d_x.data(), d_w.data(), N, IC, OC);
      cpu_matmul_backward(nullptr, dw.data(), dy.data(), x.data(), w.data(), N, IC, OC);
      check_close(d_dw.to_host(), dw, 2 * fa * std::sqrt(double(N)), 1e-4, "matmul dweight, null dinp");
    }
  }
}

// (Bn, T, C, NH): head sizes 4..48, T from 1 to past a warp multiple.
static const std::vector<std::tuple<std::size_t, std::size_t, std::size_t, std::size_t>> kAttShapes{
    {1, 1, 8, 2}, {2, 7, 12, 3}, {3, 33, 48, 3}, {2, 65, 96, 2}, {1, 130, 40, 5}, {4, 128, 128, 4}};

TEST_CASE("cuda rope: forward and backward match the CPU, backward inverts forward", "[cuda][rope]") {
  for (auto [Bn, T, C, NH] : kAttShapes) {
    INFO("Bn " << Bn << " T " << T << " C " << C << " NH " << NH);
    const std::size_t hs = C / NH, half = hs / 2;
    Rng rng(Bn * 1000 + T);
    const auto qkv = random_floats(Bn * T * 3 * C, rng);
    std::vector<float> cs(T * half), sn(T * half), gc, gs;
    cpu_rope_tables(cs.data(), sn.data(), T, hs, 10000.0);
    backend::cuda::rope_tables_host(gc, gs, T, hs, 10000.0);
    CHECK(gc == cs);
    CHECK(gs == sn);
    std::vector<float> f = qkv, b = qkv;
    cpu_rope_forward(f.data(), cs.data(), sn.data(), Bn, T, C, NH);
    cpu_rope_backward(b.data(), cs.data(), sn.data(), Bn, T, C, NH);
    auto d_c = up(cs), d_s = up(sn), d_f = up(qkv), d_b = up(qkv);
    rope_forward(gpu, d_f.data(), d_c.data(), d_s.data(), Bn, T, C, NH);
    rope_backward(gpu, d_b.data(), d_c.data(), d_s.data(), Bn, T, C, NH);
    check_close(d_f.to_host(), f, 1e-6, 1e-6, "rope forward");
    check_close(d_b.to_host(), b, 1e-6, 1e-6, "rope backward");
    rope_backward(gpu, d_f.data(), d_c.data(), d_s.data(), Bn, T, C, NH);
    check_close(d_f.to_host(), qkv, 1e-5, 1e-5, "rope backward(forward(x)) = x");
  }
}

TEST_CASE("cuda attention: causal forward and backward match the CPU", "[cuda][attention]") {
  for (auto [Bn, T, C, NH] : kAttShapes) {
    INFO("Bn " << Bn << " T " << T << " C " << C << " NH " << NH);
    Rng rng(Bn * 77 + T * 3 + C);
    const auto qkv = random_floats(Bn * T * 3 * C, rng), dout = random_floats(Bn * T * C, rng);
    std::vector<float> out(Bn * T * C), att(Bn * NH * T * T), dqkv(Bn * T * 3 * C), scratch(Bn * NH * T * T);
    cpu_attention_forward(out.data(), att.data(), qkv.data(), Bn, T, C, NH);
    cpu_attention_backward(dqkv.data(), scratch.data(), dout.data(), qkv.data(), att.data(), Bn, T, C, NH);
    auto d_qkv = up(qkv), d_dout = up(dout);
    DeviceBuffer<float> d_out(Bn * T * C), d_att(Bn * NH * T * T), d_dqkv(Bn * T * 3 * C),
        d_scr(Bn * NH * T * T);
    attention_forward(gpu, d_out.data(), d_att.data(), d_qkv.data(), Bn, T, C, NH);
    const auto g_att = d_att.to_host();
    check_close(g_att, att, 1e-6, 1e-4, "attention probabilities");
    bool upper_zero = true;  // the causal mask: exact zeros above the diagonal
    for (std::size_t z = 0; z < Bn * NH; ++z)
      for (std::size_t t = 0; t < T; ++t)
        for (std::size_t j = t + 1; j < T; ++j) upper_zero = upper_zero && g_att[(z * T + t) * T + j] == 0.f;
    CHECK(upper_zero);
    check_close(d_out.to_host(), out, 1e-5, 1e-4, "attention out");
    // backward from the CPU's probabilities, so that only the backward is under test
    d_att.upload(att.data(), att.size());
    attention_backward(gpu, d_dqkv.data(), d_scr.data(), d_dout.data(), d_qkv.data(), d_att.data(), Bn, T, C, NH);
    check_close(d_dqkv.to_host(), dqkv, 1e-4, 1e-4, "attention dqkv");
  }
}

TEST_CASE("cuda swiglu: forward and backward match the CPU", "[cuda][swiglu]") {
  for (auto [N, H] : std::vector<std::pair<std::size_t, std::size_t>>{{1, 1}, {7, 13}, {130, 344}, {257, 1712}}) {
    INFO("N " << N << " H " << H);
    Rng rng(N * 5 + H);
    const auto gu = random_floats(N * 2 * H, rng, 3.0), dy = random_floats(N * H, rng);
    std::vector<float> out(N * H), dgu(N * 2 * H);
    cpu_swiglu_forward(out.data(), gu.data(), N, H);
    cpu_swiglu_backward(dgu.data(), dy.data(), gu.data(), N, H);
    auto d_gu = up(gu), d_dy = up(dy);
    DeviceBuffer<float> d_out(N * H), d_dgu(N * 2 * H);
    swiglu_forward(gpu, d_out.data(), d_gu.data(), N, H);
    swiglu_backward(gpu, d_dgu.data(), d_dy.data(), d_gu.data(), N, H);
    check_close(d_out.to_host(), out, 1e-6, 1e-5, "swiglu out");
    check_close(d_dgu.to_host(), dgu, 1e-6, 1e-5, "swiglu dgate_up");
  }
}

TEST_CASE("cuda cross-entropy: losses, lse and in-place backward match the CPU", "[cuda][crossentropy]") {
  for (auto [N, V] : std::vector<std::pair<std::size_t, std::size_t>>{{1, 2}, {7, 33}, {130, 259}, {33, 1000}}) {
    INFO("N " << N << " V " << V);
    Rng rng(N * 3 + V);
    const auto logits = random_floats(N * V, rng, 4.0);
    const auto tg = random_tokens(N, V, rng);
    std::vector<float> losses(N), lse(N), dl(N * V);
    cpu_crossentropy_forward(losses.data(), lse.data(), logits.data(), tg.data(), N, V);
    cpu_crossentropy_backward(dl.data(), logits.data(), lse.data(), tg.data(), 0.25f, N, V);
    auto d_logits = up(logits);
    auto d_tg = up(tg);
    DeviceBuffer<float> d_losses(N), d_lse(N);
    crossentropy_forward(gpu, d_losses.data(), d_lse.data(), d_logits.data(), d_tg.data(), N, V);
    check_close(d_losses.to_host(), losses, 1e-5, 1e-5, "cross-entropy losses");
    check_close(d_lse.to_host(), lse, 1e-5, 1e-5, "cross-entropy lse");
    d_lse.upload(lse.data(), N);
    crossentropy_backward(gpu, d_logits.data(), d_logits.data(), d_lse.data(), d_tg.data(), 0.25f, N, V);
    check_close(d_logits.to_host(), dl, 1e-7, 1e-5, "cross-entropy dlogits (in place)");
  }
}

TEST_CASE("cuda adamw: three updates and the squared norm match the CPU", "[cuda][adamw]") {
  for (std::size_t n : {std::size_t(1), std::size_t(1000), std::size_t(100003)}) {
    INFO("n " << n);
    Rng rng(n);
    auto p = random_floats(n, rng), m = std::vector<float>(n, 0.f), v = m;
    auto d_p = up(p), d_m = up(m), d_v = up(v);
    for (int step = 1; step <= 3; ++step) {
      const auto g = random_floats(n, rng, 0.01);
      auto d_g = up(g);
      CHECK(norm_squared(gpu, d_g.data(), n) == Approx(cpu_norm_squared(g.data(), n)).epsilon(1e-12));
      cpu_adamw_update(p.data(), g.data(), m.data(), v.data(), n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.7f, step);
      adamw_update(gpu, d_p.data(), d_g.data(), d_m.data(), d_v.data(), n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f,
                   0.7f, step);
    }
    check_close(d_p.to_host(), p, 1e-6, 1e-6, "adamw params");
    check_close(d_m.to_host(), m, 1e-9, 1e-6, "adamw m");
    check_close(d_v.to_host(), v, 1e-12, 1e-5, "adamw v");
  }
}
