// dma/backend/cpu/rope.hpp: rotary position embeddings (Su et al. 2021, RoFormer eq. 34) applied in
// place to the q and k parts of the qkv rows, for backend::Cpu; "rotate-half" pairing (i, i+hs/2)
// as in HF LLaMA. Also builds the cos/sin tables. Signatures: model/ops.hpp. Tested against
// PyTorch through the whole model (tests/reference/model_torch_parity.cpp).
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/tags.hpp"

namespace dma::backend {

namespace cpu {
// cos/sin[T, hs/2]: angle(t, i) = t * theta^(-2i/hs), computed in double.
inline void rope_tables(float* cos_t, float* sin_t, std::size_t T, std::size_t hs, double theta) {
  const std::size_t half = hs / 2;
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < half; ++i) {
      const double freq = std::pow(theta, -2.0 * double(i) / double(hs));
      const double a = double(t) * freq;
      cos_t[t * half + i] = float(std::cos(a));
      sin_t[t * half + i] = float(std::sin(a));
    }
}

// Rotates one head vector x[hs] at position t by +angle (sign = 1) or -angle (sign = -1).
inline void rope_rotate(float* x, const float* c, const float* s, std::size_t half, float sign) {
  for (std::size_t i = 0; i < half; ++i) {
    const float x1 = x[i], x2 = x[i + half];
    const float si = sign * s[i];
    x[i] = x1 * c[i] - x2 * si;
    x[i + half] = x2 * c[i] + x1 * si;
  }
}

inline void rope_apply(float* qkv, const float* cos_t, const float* sin_t, std::size_t Bn,
                       std::size_t T, std::size_t C, std::size_t NH, float sign) {
  const std::size_t hs = C / NH, half = hs / 2;
  for (std::size_t b = 0; b < Bn; ++b)
    for (std::size_t t = 0; t < T; ++t) {
      float* row = qkv + (b * T + t) * 3 * C;
      const float* c = cos_t + t * half;
      const float* s = sin_t + t * half;
      for (std::size_t h = 0; h < 2 * NH; ++h)  // q heads then k heads: contiguous in the row
        rope_rotate(row + h * hs, c, s, half, sign);
    }
}
}  // namespace cpu

inline void rope_forward(Cpu, float* qkv, const float* cos_t, const float* sin_t, std::size_t Bn,
                         std::size_t T, std::size_t C, std::size_t NH) {
  cpu::rope_apply(qkv, cos_t, sin_t, Bn, T, C, NH, 1.0f);
}

// The rotation is orthogonal: its gradient is the inverse rotation.
inline void rope_backward(Cpu, float* dqkv, const float* cos_t, const float* sin_t, std::size_t Bn,
                          std::size_t T, std::size_t C, std::size_t NH) {
  cpu::rope_apply(dqkv, cos_t, sin_t, Bn, T, C, NH, -1.0f);
}

}  // namespace dma::backend
