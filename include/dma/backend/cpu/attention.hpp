// dma/backend/cpu/attention.hpp: causal multi-head softmax attention over the rotated qkv rows,
// for backend::Cpu: per (sequence, head) two Eigen GEMMs over strided maps (no copies of q, k,
// v), the probabilities kept for the backward pass. Signatures and layouts: model/ops.hpp.
// Tested against PyTorch through the whole model (tests/reference/model_torch_parity.cpp).
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/cpu/eigen.hpp"
#include "dma/backend/tags.hpp"

namespace dma::backend {

// out[b, t, h*hs + :] = sum_{j<=t} softmax_j(q_t . k_j / sqrt(hs)) v_j  (Vaswani et al. 2017, eq. 1)
inline void attention_forward(Cpu, float* out, float* att, const float* qkv, std::size_t Bn,
                              std::size_t T, std::size_t C, std::size_t NH) {
  const std::size_t hs = C / NH, C3 = 3 * C;
  const float scale = 1.0f / std::sqrt(float(hs));
  for (std::size_t b = 0; b < Bn; ++b)
    for (std::size_t h = 0; h < NH; ++h) {
      const float* q = qkv + b * T * C3 + h * hs;
      float* a = att + (b * NH + h) * T * T;
      auto A = cpu::as_mat(a, T, T);
      A.noalias() = cpu::as_mat(q, T, hs, C3) * cpu::as_mat(q + C, T, hs, C3).transpose();
      for (std::size_t t = 0; t < T; ++t) {
        float* row = a + t * T;
        float mx = row[0];
        for (std::size_t j = 1; j <= t; ++j) mx = row[j] > mx ? row[j] : mx;
        auto r = cpu::as_array(row, t + 1);
        r = ((r - mx) * scale).exp();  // vectorized exp
        r *= 1.0f / r.sum();
        for (std::size_t j = t + 1; j < T; ++j) row[j] = 0.f;
      }
      cpu::as_mat(out + b * T * C + h * hs, T, hs, C).noalias() = A * cpu::as_mat(q + 2 * C, T, hs, C3);
    }
}

// dqkv is overwritten. scratch: this op uses T*T floats of it.
inline void attention_backward(Cpu, float* dqkv, float* scratch, const float* dout, const float* qkv,
                               const float* att, std::size_t Bn, std::size_t T, std::size_t C,
                               std::size_t NH) {
  const std::size_t hs = C / NH, C3 = 3 * C;
  const float scale = 1.0f / std::sqrt(float(hs));
  for (std::size_t b = 0; b < Bn; ++b)
    for (std::size_t h = 0; h < NH; ++h) {
      const float* q = qkv + b * T * C3 + h * hs;
      float* dq = dqkv + b * T * C3 + h * hs;
      const auto A = cpu::as_mat(att + (b * NH + h) * T * T, T, T);
      const auto dO = cpu::as_mat(dout + b * T * C + h * hs, T, hs, C);
      auto dA = cpu::as_mat(scratch, T, T);
      dA.noalias() = dO * cpu::as_mat(q + 2 * C, T, hs, C3).transpose();
      cpu::as_mat(dq + 2 * C, T, hs, C3).noalias() = A.transpose() * dO;
      // softmax backward: dS = A * (dA - rowsum(A * dA)), times the logit scale
      for (std::size_t t = 0; t < T; ++t) {
        const float* ar = att + (b * NH + h) * T * T + t * T;
        float* dr = scratch + t * T;
        const auto a = cpu::as_array(ar, t + 1);
        auto d = cpu::as_array(dr, t + 1);
        const float s = (a * d).sum();
        d = a * (d - s) * scale;
        for (std::size_t j = t + 1; j < T; ++j) dr[j] = 0.f;
      }
      cpu::as_mat(dq, T, hs, C3).noalias() = dA * cpu::as_mat(q + C, T, hs, C3);
      cpu::as_mat(dq + C, T, hs, C3).noalias() = dA.transpose() * cpu::as_mat(q, T, hs, C3);
    }
}

}  // namespace dma::backend
