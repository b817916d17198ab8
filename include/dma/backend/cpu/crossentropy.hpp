// dma/backend/cpu/crossentropy.hpp: softmax cross-entropy over the vocabulary for backend::Cpu,
// fused so that no probability tensor is stored (the backward recomputes softmax from logits and
// the saved log-sum-exp, in place). The last op of the forward pass; the scoring adapter reads its
// per-token losses. Signatures: model/ops.hpp. Tested against PyTorch (tests/reference/).
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/tags.hpp"
#include "dma/core/types.hpp"

namespace dma::backend {

inline void crossentropy_forward(Cpu, float* losses, float* lse, const float* logits,
                                 const Token* targets, std::size_t N, std::size_t V) {
  for (std::size_t n = 0; n < N; ++n) {
    const float* x = logits + n * V;
    float mx = x[0];
    for (std::size_t v = 1; v < V; ++v) mx = x[v] > mx ? x[v] : mx;
    float s = 0.f;
    for (std::size_t v = 0; v < V; ++v) s += std::exp(x[v] - mx);
    const float l = mx + std::log(s);
    lse[n] = l;
    losses[n] = l - x[targets[n]];
  }
}

// dlogits = (softmax(logits) - onehot(target)) * dloss; dlogits may equal logits.
inline void crossentropy_backward(Cpu, float* dlogits, const float* logits, const float* lse,
                                  const Token* targets, float dloss, std::size_t N, std::size_t V) {
  for (std::size_t n = 0; n < N; ++n) {
    const float* x = logits + n * V;
    float* d = dlogits + n * V;
    const float l = lse[n];
    for (std::size_t v = 0; v < V; ++v) d[v] = std::exp(x[v] - l) * dloss;
    d[targets[n]] -= dloss;
  }
}

}  // namespace dma::backend
