// dma/backend/cpu/swiglu.hpp: the SwiGLU gate of the LLaMA MLP (Shazeer 2020, "GLU Variants",
// eq. 6: silu(x W) * (x V)) over the fused gate_up rows, for backend::Cpu. Signatures:
// model/ops.hpp. Tested against PyTorch through the whole model (tests/reference/).
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/cpu/eigen.hpp"
#include "dma/backend/tags.hpp"

namespace dma::backend {

inline void swiglu_forward(Cpu, float* out, const float* gate_up, std::size_t N, std::size_t H) {
  for (std::size_t n = 0; n < N; ++n) {
    const auto g = cpu::as_array(gate_up + n * 2 * H, H);
    const auto u = cpu::as_array(gate_up + n * 2 * H + H, H);
    cpu::as_array(out + n * H, H) = g * ((-g).exp() + 1.0f).inverse() * u;
  }
}

// d gate = dy * u * sig(g) * (1 + g (1 - sig(g))),  d up = dy * silu(g)
inline void swiglu_backward(Cpu, float* dgate_up, const float* dout, const float* gate_up,
                            std::size_t N, std::size_t H) {
  constexpr std::size_t kChunk = 64;
  float sig[kChunk];
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t i0 = 0; i0 < H; i0 += kChunk) {
      const std::size_t m = H - i0 < kChunk ? H - i0 : kChunk;
      const float* g = gate_up + n * 2 * H + i0;
      const float* u = g + H;
      const float* dy = dout + n * H + i0;
      float* dg = dgate_up + n * 2 * H + i0;
      float* du = dg + H;
      cpu::as_array(sig, m) = ((-cpu::as_array(g, m)).exp() + 1.0f).inverse();  // vectorized exp
      for (std::size_t i = 0; i < m; ++i) {
        dg[i] = dy[i] * u[i] * sig[i] * (1.0f + g[i] * (1.0f - sig[i]));
        du[i] = dy[i] * g[i] * sig[i];
      }
    }
}

}  // namespace dma::backend
