// dma/backend/cuda/host.hpp: backend::Cuda for code compiled by the host compiler. With this
// header, everything above the backend layer that is templated on the backend tag runs on the
// GPU unchanged: model::TrainState<backend::Cuda> keeps parameters and AdamW moments in device
// memory, model::Llama<backend::Cuda> (a facade over the CUDA proxy, model::LlamaCuda of
// backend/cuda/llama.cuh) runs the forward, backward and the whole training step there, and so
// model::train_step, model::Scorer, env::CptWorld / env::Cpt (CPT environment and its
// evaluation), eval::Suite and the collectors work with B = backend::Cuda.
//
// No CUDA header is included here. The definitions live in backend/cuda/host_impl.cuh: include
// that in exactly one .cu file of the program (examples/cuda/host_impl.cu) and link CUDA::cudart
// and CUDA::cublas (CMake: dma_cuda_host_program in the top-level CMakeLists.txt). Tested against
// the CPU in tests/parity/env/cuda_env.cpp (skipped without a device).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "dma/backend/cuda/buffer.hpp"
#include "dma/backend/tags.hpp"
#include "dma/core/types.hpp"
#include "dma/model/config.hpp"
#include "dma/model/memory.hpp"
#include "dma/model/schedule.hpp"
#include "dma/model/state.hpp"
#include "dma/model/step.hpp"

namespace dma::model {

class LlamaCuda;  // backend/cuda/llama.cuh

// Tensors of backend::Cuda live in device buffers; copies to and from the host are explicit.
template <>
struct Memory<backend::Cuda> {
  using Floats = backend::cuda::DeviceBuffer<float>;
  static std::vector<float> host(const Floats& f) { return f.to_host(); }
  static Floats from_host(const float* src, std::size_t n) { return Floats::from_host(src, n); }
};

// The proxy on the GPU behind the interface of Llama<backend::Cpu> that the environment, the
// evaluator and the scorer use. Parameters are DEVICE pointers (TrainState<backend::Cuda>::params);
// tokens are host arrays; token_losses() and logits() are host copies of the last forward.
// Attention is the fused flash kernel where the head size has one (else the T x T path); the
// GEMM math mode is backend::cuda::context()'s (strict FP32 unless set_tf32(true) was called, see
// set_tf32 below).
template <>
class Llama<backend::Cuda> {
 public:
  // `threads` is accepted for the CPU signature and ignored.
  Llama(const ModelConfig& cfg, std::size_t max_batch, std::size_t threads = 1);
  ~Llama();
  Llama(Llama&&) noexcept;
  Llama& operator=(Llama&&) noexcept;
  Llama(const Llama&) = delete;
  Llama& operator=(const Llama&) = delete;

  [[nodiscard]] const ModelConfig& config() const noexcept { return m_cfg; }
  [[nodiscard]] const ParamLayout& layout() const noexcept { return m_layout; }
  [[nodiscard]] std::size_t num_params() const noexcept { return m_layout.total; }
  [[nodiscard]] std::size_t max_batch() const noexcept { return m_max_batch; }
  [[nodiscard]] std::size_t threads() const noexcept { return 1; }

  // As Llama<Cpu>::forward; the per-token losses are copied back (one sync).
  float forward(const float* params, const Token* inputs, const Token* targets, std::size_t Bn, std::size_t T);
  // Gradients of loss_scale * mean(losses) accumulate into grads() (device).
  void backward(float loss_scale = 1.0f);
  void zero_grads();
  [[nodiscard]] float* grads() noexcept;  // device
  // [Bn, T] per-token losses (nats) of the last forward with targets (host).
  [[nodiscard]] const float* token_losses() const noexcept;
  // [Bn, T, V] logits of the last forward (host copy, made on the first call after the forward).
  [[nodiscard]] const float* logits() const;

  // One training step as model::train_step (optim.hpp) on the CPU: zero grads, forward/backward
  // over the micro-batches, global-norm clipping, AdamW; a non-finite loss or gradient norm makes
  // no update (st.skipped). Loss and norm are read back (two syncs per step).
  StepStats train_step(TrainState<backend::Cuda>& s, const LrSchedule& sched, const AdamWConfig& c,
                       std::span<const MicroBatch> micro);

  [[nodiscard]] double train_flops(std::size_t Bn, std::size_t T) const noexcept { return 3.0 * forward_flops(Bn, T); }
  [[nodiscard]] double forward_flops(std::size_t Bn, std::size_t T) const noexcept {
    return model::forward_flops(m_cfg, Bn, T);
  }

  // Device scalars of the step (the squared gradient norm and the clipping factor).
  struct StepScalars;

 private:
  ModelConfig m_cfg;
  ParamLayout m_layout;
  std::size_t m_max_batch = 0;
  std::unique_ptr<LlamaCuda> m_net;
  std::unique_ptr<StepScalars> m_scalars;
  mutable std::vector<float> m_host_logits;
  mutable bool m_logits_fresh = false;
};

}  // namespace dma::model

namespace dma::backend::cuda {
// GEMM math mode of every CUDA model in the process (context.cuh): false = strict FP32 (default,
// the parity tolerances of docs/CUDA.md), true = TF32 tensor cores.
void set_tf32(bool on);
}  // namespace dma::backend::cuda
