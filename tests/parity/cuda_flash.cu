// tests/parity/cuda_flash.cu: the fused causal attention (backend/cuda/flash_attention.cuh) against
// the CPU ops it replaces (rope_forward + attention_forward; attention_backward + rope_backward)
// over a sweep of shapes: every supported head size (16, 32, 64), T below, at and across the
// 64-row tile (1, 37, 64, 65, 130, 200), with and without the fused RoPE, in precise (3xTF32) and
// TF32 mode. Outputs are poisoned with NaN first, so an unwritten element fails. The log-sum-exp
// is checked against a double-precision host computation.
#include <catch2/catch.hpp>

#include <dma/backend/cuda/flash_attention.cuh>
#include <dma/backend/cuda/rope.cuh>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "cpu_reference.hpp"
#include "parity_util.hpp"

namespace {

using namespace dma;
using namespace dma::parity;
using backend::cuda::DeviceBuffer;

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::fabs(x)));
  return m;
}

// lse[b, h, t] of the scaled causal scores of (already rotated) qkv, in double.
std::vector<float> host_lse(const std::vector<float>& qkv, std::size_t Bn, std::size_t T, std::size_t C,
                            std::size_t NH) {
  const std::size_t hs = C / NH;
  std::vector<float> out(Bn * NH * T);
  for (std::size_t b = 0; b < Bn; ++b)
    for (std::size_t h = 0; h < NH; ++h)
      for (std::size_t t = 0; t < T; ++t) {
        std::vector<double> s(t + 1);
        double mx = -INFINITY;
        for (std::size_t k = 0; k <= t; ++k) {
          double d = 0;
          for (std::size_t i = 0; i < hs; ++i)
            d += double(qkv[(b * T + t) * 3 * C + h * hs + i]) * double(qkv[(b * T + k) * 3 * C + C + h * hs + i]);
          s[k] = d / std::sqrt(double(hs));
          mx = std::max(mx, s[k]);
        }
        double z = 0;
        for (double v : s) z += std::exp(v - mx);
        out[(b * NH + h) * T + t] = float(mx + std::log(z));
      }
  return out;
}

void check_case(std::size_t Bn, std::size_t T, std::size_t C, std::size_t NH, bool rope, bool precise) {
  const std::size_t hs = C / NH, N = Bn * T;
  INFO("Bn " << Bn << " T " << T << " C " << C << " NH " << NH << " (hs " << hs << ")" << (rope ? " rope" : "")
             << (precise ? " precise" : " tf32"));
  Rng rng(Bn * 1000 + T * 10 + C + NH + (rope ? 7 : 0));
  const auto qkv = random_floats(N * 3 * C, rng);
  const auto dout = random_floats(N * C, rng);
  std::vector<float> cs(T * hs / 2), sn(T * hs / 2);
  cpu_rope_tables(cs.data(), sn.data(), T, hs, 10000.0);

  // CPU: rotate (if rope), attention forward/backward, inverse-rotate the q/k gradient.
  std::vector<float> rot = qkv;
  if (rope) cpu_rope_forward(rot.data(), cs.data(), sn.data(), Bn, T, C, NH);
  std::vector<float> out(N * C), att(Bn * NH * T * T), dqkv(N * 3 * C), scratch(Bn * NH * T * T);
  cpu_attention_forward(out.data(), att.data(), rot.data(), Bn, T, C, NH);
  cpu_attention_backward(dqkv.data(), scratch.data(), dout.data(), rot.data(), att.data(), Bn, T, C, NH);
  if (rope) cpu_rope_backward(dqkv.data(), cs.data(), sn.data(), Bn, T, C, NH);
  const auto lse = host_lse(rot, Bn, T, C, NH);

  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto d_qkv = DeviceBuffer<float>::from_host(qkv), d_dout = DeviceBuffer<float>::from_host(dout);
  auto d_cos = DeviceBuffer<float>::from_host(cs), d_sin = DeviceBuffer<float>::from_host(sn);
  auto d_out = DeviceBuffer<float>::from_host(std::vector<float>(N * C, nan));
  auto d_lse = DeviceBuffer<float>::from_host(std::vector<float>(Bn * NH * T, nan));
  auto d_dqkv = DeviceBuffer<float>::from_host(std::vector<float>(N * 3 * C, nan));
  DeviceBuffer<float> d_D(Bn * NH * T);
  const float* gc = rope ? d_cos.data() : nullptr;
  const float* gs = rope ? d_sin.data() : nullptr;
  backend::cuda::flash_attention_forward(d_out.data(), d_lse.data(), d_qkv.data(), gc, gs, Bn, T, C, NH, precise);
  backend::cuda::flash_attention_backward(d_dqkv.data(), d_D.data(), d_dout.data(), d_out.data(), d_qkv.data(),
                                          d_lse.data(), gc, gs, Bn, T, C, NH, precise);
  const auto g_out = d_out.to_host(), g_lse = d_lse.to_host(), g_dqkv = d_dqkv.to_host();
  // precise: FP32-level (summation order, expf); TF32: 10-bit operand mantissas (~5e-4 relative
  // per product), scaled by the tensor's largest entry because small entries are cancelling sums.
  const double ro = max_abs(out), rg = max_abs(dqkv);
  if (precise) {
    check_close(g_out, out, 2e-5 * ro, 1e-4, "flash out");
    check_close(g_lse, lse, 2e-5, 1e-5, "flash lse");
    check_close(g_dqkv, dqkv, 5e-5 * rg, 1e-4, "flash dqkv");
  } else {
    check_close(g_out, out, 4e-3 * ro, 1e-2, "flash out (tf32)");
    check_close(g_lse, lse, 4e-3, 1e-3, "flash lse (tf32)");
    check_close(g_dqkv, dqkv, 8e-3 * rg, 2e-2, "flash dqkv (tf32)");
  }
}

const std::vector<std::tuple<std::size_t, std::size_t, std::size_t, std::size_t>> kShapes{
    // Bn, T, C, NH
    {1, 1, 16, 1},   {2, 37, 64, 2},  {3, 65, 192, 3}, {1, 130, 64, 1},
    {2, 64, 64, 4},  {1, 200, 128, 2}, {2, 129, 96, 6}, {1, 70, 192, 6},
};

}  // namespace

TEST_CASE("cuda flash attention: precise mode matches the CPU rope + attention ops", "[cuda][attention][flash]") {
  for (auto [Bn, T, C, NH] : kShapes)
    for (bool rope : {false, true}) check_case(Bn, T, C, NH, rope, true);
}

TEST_CASE("cuda flash attention: TF32 mode matches the CPU within TF32 tolerance", "[cuda][attention][flash]") {
  for (auto [Bn, T, C, NH] : kShapes)
    for (bool rope : {false, true}) check_case(Bn, T, C, NH, rope, false);
}

TEST_CASE("cuda flash attention: is bit-reproducible run to run", "[cuda][attention][flash]") {
  const std::size_t Bn = 2, T = 150, C = 128, NH = 2, N = Bn * T;
  Rng rng(5);
  auto d_qkv = DeviceBuffer<float>::from_host(random_floats(N * 3 * C, rng));
  auto d_dout = DeviceBuffer<float>::from_host(random_floats(N * C, rng));
  DeviceBuffer<float> out(N * C), lse(Bn * NH * T), D(Bn * NH * T), g1(N * 3 * C), g2(N * 3 * C);
  for (auto* g : {&g1, &g2}) {
    backend::cuda::flash_attention_forward(out.data(), lse.data(), d_qkv.data(), nullptr, nullptr, Bn, T, C, NH, false);
    backend::cuda::flash_attention_backward(g->data(), D.data(), d_dout.data(), out.data(), d_qkv.data(), lse.data(),
                                            nullptr, nullptr, Bn, T, C, NH, false);
  }
  CHECK(g1.to_host() == g2.to_host());
}

TEST_CASE("cuda flash attention: unsupported head sizes are rejected with a message", "[cuda][attention][flash]") {
  using Catch::Matchers::Contains;
  CHECK_FALSE(backend::cuda::flash_attention_supported(24));
  CHECK(backend::cuda::flash_attention_supported(64));
  DeviceBuffer<float> buf(3 * 48 * 2);
  REQUIRE_THROWS_WITH(backend::cuda::flash_attention_forward(buf.data(), buf.data(), buf.data(), nullptr, nullptr,
                                                             1, 2, 48, 2, false),
                      Contains("head size 24"));
}
