// dma/backend/cpu/adamw.hpp: the AdamW update and the squared norm used for gradient clipping,
// for backend::Cpu. model/optim.hpp calls them once per parameter tensor after each
// (accumulated) backward pass. Signatures: model/ops.hpp. Tested against PyTorch's 10-step loss
// trajectory (tests/reference/model_torch_parity.cpp).
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/tags.hpp"

namespace dma::backend {

// PyTorch's AdamW (Loshchilov & Hutter 2019, Alg. 2): p *= 1 - lr*wd; m, v moments;
// p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps). grads are scaled by grad_scale (clipping) first.
inline void adamw_update(Cpu, float* params, const float* grads, float* m, float* v, std::size_t n,
                         float lr, float beta1, float beta2, float eps, float weight_decay,
                         float grad_scale, int step) {
  const float bc1 = 1.0f - float(std::pow(double(beta1), step));
  const float bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(beta2), step)));
  const float step_size = lr / bc1;
  const float decay = 1.0f - lr * weight_decay;
  for (std::size_t i = 0; i < n; ++i) {
    const float g = grads[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = params[i] * decay;
    params[i] = p - step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
  }
}

inline double norm_squared(Cpu, const float* x, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
  return s;
}

}  // namespace dma::backend
