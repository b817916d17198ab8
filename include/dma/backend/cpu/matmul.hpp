// dma/backend/cpu/matmul.hpp: the Linear layer (weight [OC, IC], no bias) for backend::Cpu as
// Eigen GEMMs over the caller's buffers (no temporaries: .noalias()). Every projection of the
// proxy runs here; it is where the FLOPs are. Signatures: model/ops.hpp. Tested against
// PyTorch (tests/reference/model_torch_parity.cpp) and timed by benchmarks/bench_proxy.cpp.
#pragma once

#include <cstddef>

#include "dma/backend/cpu/eigen.hpp"
#include "dma/backend/tags.hpp"

namespace dma::backend {

// out[N, OC] = inp[N, IC] W^T
inline void matmul_forward(Cpu, float* out, const float* inp, const float* weight, std::size_t N,
                           std::size_t IC, std::size_t OC) {
  cpu::as_mat(out, N, OC).noalias() = cpu::as_mat(inp, N, IC) * cpu::as_mat(weight, OC, IC).transpose();
}

// out = residual + inp W^T: the residual add fused into the GEMM's accumulation. out may alias
// residual.
inline void matmul_residual_forward(Cpu, float* out, const float* residual, const float* inp,
                                    const float* weight, std::size_t N, std::size_t IC,
                                    std::size_t OC) {
  auto o = cpu::as_mat(out, N, OC);
  if (out != residual) o = cpu::as_mat(residual, N, OC);
  o.noalias() += cpu::as_mat(inp, N, IC) * cpu::as_mat(weight, OC, IC).transpose();
}

// dinp[N, IC] = dout W (skipped when dinp is null); dweight[OC, IC] += dout^T inp.
inline void matmul_backward(Cpu, float* dinp, float* dweight, const float* dout, const float* inp,
                            const float* weight, std::size_t N, std::size_t IC, std::size_t OC) {
  const auto g = cpu::as_mat(dout, N, OC);
  if (dinp) cpu::as_mat(dinp, N, IC).noalias() = g * cpu::as_mat(weight, OC, IC);
  cpu::as_mat(dweight, OC, IC).noalias() += g.transpose() * cpu::as_mat(inp, N, IC);
}

}  // namespace dma::backend
