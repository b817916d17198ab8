// dma/model/memory.hpp: what the model headers need below the ops, free of Eigen and of CUDA
// headers, so that both g++ and nvcc translation units can include it: where a backend keeps
// tensors (Memory<B>), the initial weights (init_params), and the declarations of Llama<B> and
// TrainState<B> with their default backend. backend::Cuda's Memory and Llama specialisations
// are declared in backend/cuda/host.hpp. Tested through tests/unit/model_state.cpp and
// tests/unit/model_train.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <span>

#include "dma/backend/tags.hpp"
#include "dma/core/buffer.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"
#include "dma/model/config.hpp"

namespace dma::model {

template <class B = backend::Cpu>
class Llama;
template <class B = backend::Cpu>
struct TrainState;

// Where a backend keeps tensors. A device backend specialises this (owning device buffers and
// host<->device copies); Llama<B> and TrainState<B> touch memory only through it and the ops.
template <class B>
struct Memory {
  static_assert(!B::is_device,
                "model::Memory<backend::Cuda> is declared in dma/backend/cuda/host.hpp: include it (and compile "
                "dma/backend/cuda/host_impl.cuh in one .cu file of the program)");
  using Floats = dma::Buffer<float>;
  using Tokens = dma::Buffer<Token>;
  static void upload(Token* dst, const Token* src, std::size_t n) {
    std::memcpy(dst, src, n * sizeof(Token));
  }
  // The values of `f` readable on the host: the buffer itself here (no copy).
  static std::span<const float> host(const Floats& f) noexcept { return {f.data(), f.size()}; }
  static Floats from_host(const float* src, std::size_t n) {
    Floats f(n, false);
    std::copy(src, src + n, f.data());
    return f;
  }
};

// Initial weights: N(0, 0.02) for matrices, N(0, 0.02/sqrt(2L)) for the projections that write
// into the residual stream (GPT-2, Radford et al. 2019), ones for norm gains.
inline void init_params(const ModelConfig& cfg, float* params, Rng rng) {
  const ParamLayout lay(cfg);
  const double resid_std = 0.02 / std::sqrt(2.0 * double(cfg.layers));
  for (const ParamTensor* t : lay.tensors()) {
    Rng r = rng.split(t->name);
    float* p = params + t->offset;
    if (!t->decay) {
      std::fill(p, p + t->size(), 1.0f);
      continue;
    }
    const double sd = (t == &lay.wo || t == &lay.w_down) ? resid_std : 0.02;
    for (std::size_t i = 0; i < t->size(); ++i) p[i] = float(r.normal(0.0, sd));
  }
}

}  // namespace dma::model
