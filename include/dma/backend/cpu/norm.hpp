// dma/backend/cpu/norm.hpp: RMSNorm forward/backward for backend::Cpu (pre-norm of every block
// and the final norm of the proxy). Signatures and write semantics: model/ops.hpp.
// Tested against PyTorch through the whole model (tests/reference/model_torch_parity.cpp).
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/cpu/eigen.hpp"
#include "dma/backend/tags.hpp"

namespace dma::backend {

// out = inp / sqrt(mean(inp^2) + eps) * weight (Zhang & Sennrich 2019, eq. 4).
inline void rmsnorm_forward(Cpu, float* out, float* rstd, const float* inp, const float* weight,
                            std::size_t N, std::size_t C, float eps) {
  for (std::size_t n = 0; n < N; ++n) {
    const float* x = inp + n * C;
    const float ss = cpu::as_array(x, C).square().sum();
    const float r = 1.0f / std::sqrt(ss / float(C) + eps);
    float* o = out + n * C;
    for (std::size_t c = 0; c < C; ++c) o[c] = x[c] * r * weight[c];
    rstd[n] = r;
  }
}

// dx_i = r w_i dy_i - r^3 x_i / C * sum_j dy_j w_j x_j ;  dw_i = sum_n dy_i x_i r   (both +=)
inline void rmsnorm_backward(Cpu, float* dinp, float* dweight, const float* dout, const float* inp,
                             const float* weight, const float* rstd, std::size_t N,
                             std::size_t C) {
  for (std::size_t n = 0; n < N; ++n) {
    const float* x = inp + n * C;
    const float* dy = dout + n * C;
    float* dx = dinp + n * C;
    const float r = rstd[n];
    const float dot = (cpu::as_array(dy, C) * cpu::as_array(weight, C) * cpu::as_array(x, C)).sum();
    const float k = r * r * r * dot / float(C);
    for (std::size_t c = 0; c < C; ++c) {
      dx[c] += r * weight[c] * dy[c] - k * x[c];
      dweight[c] += dy[c] * x[c] * r;
    }
  }
}

}  // namespace dma::backend
