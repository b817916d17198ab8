// dma/backend/cpu/crossentropy.hpp: softmax cross-entropy over the vocabulary for backend::Cpu,
// fused so that no probability tensor is stored (the backward recomputes softmax from logits and
// the saved log-sum-exp, in place). The last op of the forward pass; the scoring adapter reads its
// per-token losses. Signatures: model/ops.hpp. Tested against PyTorch (tests/reference/).
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/cpu/eigen.hpp"
#include "dma/backend/tags.hpp"
#include "dma/core/types.hpp"

namespace dma::backend {

inline void crossentropy_forward(Cpu, float* losses, float* lse, const float* logits,
                                 const Token* targets, std::size_t N, std::size_t V) {
  for (std::size_t n = 0; n < N; ++n) {
    const float* x = logits + n * V;
    const auto xa = cpu::as_array(x, V);
    const float mx = xa.maxCoeff();
    const float l = mx + std::log((xa - mx).exp().sum());  // vectorized exp
    lse[n] = l;
    losses[n] = l - x[targets[n]];
  }
}

// dlogits = (softmax(logits) - onehot(target)) * dloss; dlogits may equal logits.
inline void crossentropy_backward(Cpu, float* dlogits, const float* logits, const float* lse,
                                  const Token* targets, float dloss, std::size_t N, std::size_t V) {
  for (std::size_t n = 0; n < N; ++n) {
    float* d = dlogits + n * V;
    cpu::as_array(d, V) = (cpu::as_array(logits + n * V, V) - lse[n]).exp() * dloss;
    d[targets[n]] -= dloss;
  }
}

}  // namespace dma::backend
