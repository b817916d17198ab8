// dma/backend/cpu/embedding.hpp: token embedding lookup (forward) and its scatter-add (backward)
// for backend::Cpu; the first op of the proxy's forward pass. Signatures: model/ops.hpp.
// Tested against PyTorch through the whole model (tests/reference/model_torch_parity.cpp).
#pragma once

#include <cstddef>
#include <cstring>

#include "dma/backend/tags.hpp"
#include "dma/core/types.hpp"

namespace dma::backend {

inline void encoder_forward(Cpu, float* out, const Token* inp, const float* wte, std::size_t N,
                            std::size_t C) {
  for (std::size_t n = 0; n < N; ++n)
    std::memcpy(out + n * C, wte + std::size_t(inp[n]) * C, C * sizeof(float));
}

// Rows are added in order n = 0..N-1, so the result is deterministic.
inline void encoder_backward(Cpu, float* dwte, const float* dout, const Token* inp, std::size_t N,
                             std::size_t C) {
  for (std::size_t n = 0; n < N; ++n) {
    float* d = dwte + std::size_t(inp[n]) * C;
    const float* g = dout + n * C;
    for (std::size_t c = 0; c < C; ++c) d[c] += g[c];
  }
}

}  // namespace dma::backend
