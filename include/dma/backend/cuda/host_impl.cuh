// dma/backend/cuda/host_impl.cuh: the definitions behind backend/cuda/host.hpp. Include it in
// exactly one .cu file of a program whose host code uses backend::Cuda (nvcc only; link
// CUDA::cudart and CUDA::cublas). It instantiates DeviceBuffer for float, Token and double and
// defines model::Llama<backend::Cuda> over model::LlamaCuda. Tested in tests/parity/env/cuda_env.cpp.
#pragma once

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "dma/backend/cuda/buffer.cuh"
#include "dma/backend/cuda/host.hpp"
#include "dma/backend/cuda/llama.cuh"

namespace dma::backend::cuda {
template class DeviceBuffer<float>;
template class DeviceBuffer<Token>;
template class DeviceBuffer<double>;

void set_tf32(bool on) { context().set_tf32(on); }
}  // namespace dma::backend::cuda

namespace dma::model {

struct Llama<backend::Cuda>::StepScalars {
  backend::cuda::DeviceBuffer<double> norm2{1};
  backend::cuda::DeviceBuffer<float> clip_scale{1};
};

Llama<backend::Cuda>::Llama(const ModelConfig& cfg, std::size_t max_batch, std::size_t /*threads*/)
    : m_cfg(cfg), m_layout(cfg), m_max_batch(max_batch),
      m_net(std::make_unique<LlamaCuda>(cfg, max_batch)), m_scalars(std::make_unique<StepScalars>()) {}
Llama<backend::Cuda>::~Llama() = default;
Llama<backend::Cuda>::Llama(Llama&&) noexcept = default;
Llama<backend::Cuda>& Llama<backend::Cuda>::operator=(Llama&&) noexcept = default;

float Llama<backend::Cuda>::forward(const float* params, const Token* inputs, const Token* targets, std::size_t Bn,
                                    std::size_t T) {
  m_logits_fresh = false;
  return m_net->forward(params, inputs, targets, Bn, T);
}
const float* Llama<backend::Cuda>::token_losses() const noexcept { return m_net->token_losses(); }

void Llama<backend::Cuda>::backward(float loss_scale) {
  m_logits_fresh = false;  // the backward overwrites the logits with their gradient
  m_net->backward(loss_scale);
}
void Llama<backend::Cuda>::zero_grads() { m_net->zero_grads(); }
float* Llama<backend::Cuda>::grads() noexcept { return m_net->grads(); }

const float* Llama<backend::Cuda>::logits() const {
  if (!m_logits_fresh) {
    // LlamaCuda keeps the last call's shape; its logits buffer is [Bn, T, V] of that call.
    const std::size_t n = m_net->last_rows() * m_cfg.vocab;
    m_host_logits.resize(n);
    DMA_CUDA_CHECK(cudaMemcpy(m_host_logits.data(), m_net->logits(), n * sizeof(float), cudaMemcpyDeviceToHost));
    m_logits_fresh = true;
  }
  return m_host_logits.data();
}

StepStats Llama<backend::Cuda>::train_step(TrainState<backend::Cuda>& s, const LrSchedule& sched, const AdamWConfig& c,
                                           std::span<const MicroBatch> micro) {
  if (s.params.size() != m_layout.total)
    fail("Llama<Cuda>::train_step: the state has ", s.params.size(), " parameters, the model ", m_layout.total);
  m_logits_fresh = false;
  StepStats st;
  cuda_forward_backward(*m_net, s.params.data(), micro);
  st.lr = sched.at(s.step);
  st.loss = m_net->read_loss();
  // Numerical faults (model/guard.hpp): a non-finite loss or gradient norm leaves the state as it was.
  if (!std::isfinite(st.loss)) {
    st.skipped = true;
    return st;
  }
  backend::cuda::grad_norm_and_clip(m_scalars->norm2.data(), m_scalars->clip_scale.data(), m_net->grads(),
                                    m_layout.total, c.grad_clip);
  double norm2 = 0.0;
  m_scalars->norm2.download(&norm2, 1);
  st.grad_norm = float(std::sqrt(norm2));
  if (!std::isfinite(st.grad_norm)) {
    st.skipped = true;
    return st;
  }
  s.step += 1;
  cuda_adamw_apply(m_layout, s.params.data(), s.m.data(), s.v.data(), m_net->grads(), s.step, st.lr, c,
                   m_scalars->clip_scale.data());
  return st;
}

}  // namespace dma::model
