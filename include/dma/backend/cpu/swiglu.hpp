// dma/backend/cpu/swiglu.hpp: the SwiGLU gate of the LLaMA MLP (Shazeer 2020, "GLU Variants",
// eq. 6: silu(x W) * (x V)) over the fused gate_up rows, for backend::Cpu. Signatures:
// model/ops.hpp. Tested against PyTorch through the whole model (tests/reference/).
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/tags.hpp"

namespace dma::backend {

inline void swiglu_forward(Cpu, float* out, const float* gate_up, std::size_t N, std::size_t H) {
  for (std::size_t n = 0; n < N; ++n) {
    const float* g = gate_up + n * 2 * H;
    const float* u = g + H;
    float* o = out + n * H;
    for (std::size_t i = 0; i < H; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  }
}

// d gate = dy * u * sig(g) * (1 + g (1 - sig(g))),  d up = dy * silu(g)
inline void swiglu_backward(Cpu, float* dgate_up, const float* dout, const float* gate_up,
                            std::size_t N, std::size_t H) {
  for (std::size_t n = 0; n < N; ++n) {
    const float* g = gate_up + n * 2 * H;
    const float* u = g + H;
    const float* dy = dout + n * H;
    float* dg = dgate_up + n * 2 * H;
    float* du = dg + H;
    for (std::size_t i = 0; i < H; ++i) {
      const float sig = 1.0f / (1.0f + std::exp(-g[i]));
      dg[i] = dy[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
      du[i] = dy[i] * g[i] * sig;
    }
  }
}

}  // namespace dma::backend
