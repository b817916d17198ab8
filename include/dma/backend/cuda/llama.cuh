// dma/backend/cuda/llama.cuh: the LLM proxy on the GPU. model::LlamaCuda mirrors model::Llama<B>
// (model/llama.hpp) op for op over the CUDA ops, with the same ParamLayout (one contiguous float
// buffer, named offsets), so parameters, moments and gradients copy between the two with one
// memcpy. A separate class because Llama<B> reaches into host memory (loss sum, rope tables,
// memset) and includes Eigen, which never enters a .cu file. CudaTrainState / cuda_train_step
// mirror TrainState / train_step (with model/step.hpp's AdamWConfig, MicroBatch, StepStats) (model/state.hpp, model/optim.hpp). Attention is the fused
// flash kernel (flash_attention.cuh, RoPE folded in) by default; CudaAttention::materialized keeps
// the T x T path of model/ops.hpp for comparison. The step keeps loss, gradient norm and clipping
// on the device (read back only when asked). Tested against the CPU model in
// tests/parity/cuda_model.cu (both attention paths); timed by benchmarks/bench_proxy_cuda.cu.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "dma/backend/cuda/flash_attention.cuh"
#include "dma/backend/cuda/ops.cuh"
#include "dma/backend/tags.hpp"
#include "dma/core/error.hpp"
#include "dma/core/types.hpp"
#include "dma/model/config.hpp"
#include "dma/model/schedule.hpp"
#include "dma/model/step.hpp"

namespace dma::model {

namespace detail {
// acc[0] += weight * sum(losses[0..n)), in double, one block in a fixed order (bit-reproducible).
DMA_KERNEL void accumulate_loss(double* acc, const float* losses, std::size_t n, double weight) {
  __shared__ double red[1024];
  double s = 0.0;
  for (std::size_t i = threadIdx.x; i < n; i += blockDim.x) s += double(losses[i]);
  red[threadIdx.x] = s;
  __syncthreads();
  for (unsigned o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
    __syncthreads();
  }
  if (threadIdx.x == 0) acc[0] += weight * red[0];
}
}  // namespace detail

// Which attention LlamaCuda runs: the fused flash kernels (default; needs a head size with a
// kernel, see flash_attention_supported, else falls back) or the materialised T x T path.
enum class CudaAttention { flash, materialized };

class LlamaCuda {
  using Floats = backend::cuda::DeviceBuffer<float>;
  using Tokens = backend::cuda::DeviceBuffer<Token>;

 public:
  LlamaCuda(const ModelConfig& cfg, std::size_t max_batch, CudaAttention attention = CudaAttention::flash)
      : m_cfg(cfg), m_layout(cfg), m_max_batch(max_batch) {
    m_cfg.validate();
    if (max_batch == 0) fail("LlamaCuda: max_batch must be >= 1");
    const std::size_t C = cfg.d_model, L = cfg.layers, H = cfg.hidden(), V = cfg.vocab,
                      T = cfg.context, NH = cfg.heads, N = max_batch * T;
    m_x = Floats((L + 1) * N * C);
    m_xa = Floats(L * N * C);
    m_h1 = Floats(L * N * C);
    m_h2 = Floats(L * N * C);
    m_ao = Floats(L * N * C);
    m_r1 = Floats(L * N);
    m_r2 = Floats(L * N);
    m_qkv = Floats(L * N * 3 * C);
    m_flash = attention == CudaAttention::flash && backend::cuda::flash_attention_supported(cfg.head_size());
    if (m_flash) {
      m_alse = Floats(L * max_batch * NH * T);
      m_rowdot = Floats(max_batch * NH * T);
    } else {
      m_att = Floats(L * max_batch * NH * T * T);
      m_scratch = Floats(max_batch * NH * T * T);
    }
    m_gu = Floats(L * N * 2 * H);
    m_sw = Floats(L * N * H);
    m_hf = Floats(N * C);
    m_rf = Floats(N);
    m_logits = Floats(N * V);
    m_lse = Floats(N);
    m_losses = Floats(N);
    m_inputs = Tokens(N);
    m_targets = Tokens(N);
    m_dres = Floats(N * C);
    m_dh = Floats(N * C);
    m_dqkv = Floats(N * 3 * C);
    m_dgu = Floats(N * 2 * H);
    m_dsw = Floats(N * H);
    m_loss_acc = backend::cuda::DeviceBuffer<double>(1);
    m_grads = Floats(m_layout.total);
    m_host_losses.resize(N);
    std::vector<float> c, s;
    backend::cuda::rope_tables_host(c, s, T, cfg.head_size(), cfg.rope_theta);
    m_cos = Floats::from_host(c);
    m_sin = Floats::from_host(s);
  }

  [[nodiscard]] const ModelConfig& config() const noexcept { return m_cfg; }
  [[nodiscard]] const ParamLayout& layout() const noexcept { return m_layout; }
  [[nodiscard]] std::size_t num_params() const noexcept { return m_layout.total; }
  [[nodiscard]] std::size_t max_batch() const noexcept { return m_max_batch; }
  [[nodiscard]] CudaAttention attention() const noexcept {
    return m_flash ? CudaAttention::flash : CudaAttention::materialized;
  }

  // As Llama::forward: params is a DEVICE pointer (CudaTrainState::params), inputs and targets
  // are HOST tokens [Bn, T]. Returns the mean token loss (nats), or NaN without targets.
  float forward(const float* params, const Token* inputs, const Token* targets, std::size_t Bn,
                std::size_t T) {
    enqueue_forward(params, inputs, targets, Bn, T, 0.0);
    if (!targets) return std::numeric_limits<float>::quiet_NaN();
    const std::size_t N = Bn * T;
    m_losses.download(m_host_losses.data(), N);
    double s = 0.0;
    for (std::size_t n = 0; n < N; ++n) s += m_host_losses[n];
    return float(s / double(N));
  }

  // The forward without a read-back: with targets, adds loss_weight * (mean token loss) to the
  // device loss accumulator (reset_loss / read_loss). The step's path (cuda_train_step).
  void enqueue_forward(const float* params, const Token* inputs, const Token* targets, std::size_t Bn,
                       std::size_t T, double loss_weight) {
    if (Bn == 0 || Bn > m_max_batch)
      fail("LlamaCuda::forward: batch ", Bn, " outside 1..", m_max_batch, " (max_batch)");
    if (T == 0 || T > m_cfg.context)
      fail("LlamaCuda::forward: sequence length ", T, " outside 1..", m_cfg.context, " (context)");
    const std::size_t N = Bn * T;
    check_tokens(inputs, N, "inputs");
    m_B = Bn;
    m_T = T;
    m_params = params;
    m_has_targets = targets != nullptr;
    m_inputs.upload(inputs, N);
    if (targets) {
      check_tokens(targets, N, "targets");
      m_targets.upload(targets, N);
    }
    run_forward();
    if (targets && loss_weight != 0.0) {
      detail::accumulate_loss<<<1, 1024>>>(m_loss_acc.data(), m_losses.data(), N, loss_weight / double(N));
      DMA_CUDA_LAUNCH_CHECK();
    }
  }
  void reset_loss() { m_loss_acc.zero(); }
  // The accumulated loss (synchronises).
  [[nodiscard]] float read_loss() const {
    double v = 0.0;
    m_loss_acc.download(&v, 1);
    return float(v);
  }

  // As Llama::backward: gradients of loss_scale * mean(losses) ACCUMULATE into grads().
  void backward(float loss_scale = 1.0f) {
    DMA_ASSERT(m_has_targets, "LlamaCuda::backward needs a forward pass with targets");
    run_backward(loss_scale);
  }

  [[nodiscard]] float* grads() noexcept { return m_grads.data(); }            // device
  [[nodiscard]] const float* grads() const noexcept { return m_grads.data(); }
  void zero_grads() { m_grads.zero(); }
  [[nodiscard]] const float* logits() const noexcept { return m_logits.data(); }  // device [Bn,T,V]
  [[nodiscard]] std::size_t last_rows() const noexcept { return m_B * m_T; }      // Bn * T of the last forward
  // [Bn, T] per-token losses (nats) of the last forward() with targets (host copy; not filled by
  // enqueue_forward).
  [[nodiscard]] const float* token_losses() const noexcept { return m_host_losses.data(); }

  // Same FLOP convention as Llama (model/config.hpp, PaLM appendix B).
  [[nodiscard]] double train_flops(std::size_t Bn, std::size_t T) const noexcept {
    return 3.0 * forward_flops(Bn, T);
  }
  [[nodiscard]] double forward_flops(std::size_t Bn, std::size_t T) const noexcept {
    return model::forward_flops(m_cfg, Bn, T);
  }

 private:
  void check_tokens(const Token* t, std::size_t n, const char* what) const {
    for (std::size_t i = 0; i < n; ++i)
      if (t[i] >= m_cfg.vocab)
        fail("LlamaCuda: ", what, "[", i, "] = ", t[i], " is outside the vocabulary (", m_cfg.vocab, ")");
  }
  // Strict-FP32 runs get ~FP32 attention products (3xTF32), TF32 runs plain TF32.
  static bool precise() { return !backend::cuda::context().tf32(); }
  const float* P(const ParamTensor& t, std::size_t l = 0) const noexcept {
    return m_params + t.offset + l * t.layer_size();
  }
  float* G(const ParamTensor& t, std::size_t l = 0) noexcept {
    return m_grads.data() + t.offset + l * t.layer_size();
  }

  void run_forward() {
    const backend::Cuda be{};
    const std::size_t C = m_cfg.d_model, H = m_cfg.hidden(), V = m_cfg.vocab, NH = m_cfg.heads,
                      L = m_cfg.layers, T = m_T, Bn = m_B, N = Bn * T;
    const float eps = m_cfg.norm_eps;
    const auto& lay = m_layout;
    // Activation arrays are [L, N_max, width]; layer l starts at l * N * width like the CPU model
    // with one shard (N = this call's rows).
    auto act = [N](Floats& buf, std::size_t l, std::size_t w) { return buf.data() + l * N * w; };

    encoder_forward(be, act(m_x, 0, C), m_inputs.data(), P(lay.wte), N, C);
    for (std::size_t l = 0; l < L; ++l) {
      float* x = act(m_x, l, C);
      float* qkv = act(m_qkv, l, 3 * C);
      float* xa = act(m_xa, l, C);
      float* gu = act(m_gu, l, 2 * H);
      float* sw = act(m_sw, l, H);
      rmsnorm_forward(be, act(m_h1, l, C), act(m_r1, l, 1), x, P(lay.attn_norm, l), N, C, eps);
      matmul_forward(be, qkv, act(m_h1, l, C), P(lay.wqkv, l), N, C, 3 * C);
      if (m_flash) {  // RoPE on load; qkv stays un-rotated
        backend::cuda::flash_attention_forward(act(m_ao, l, C), m_alse.data() + l * Bn * NH * T, qkv,
                                               m_cos.data(), m_sin.data(), Bn, T, C, NH, precise());
      } else {
        rope_forward(be, qkv, m_cos.data(), m_sin.data(), Bn, T, C, NH);
        attention_forward(be, act(m_ao, l, C), m_att.data() + l * Bn * NH * T * T, qkv, Bn, T, C, NH);
      }
      matmul_residual_forward(be, xa, x, act(m_ao, l, C), P(lay.wo, l), N, C, C);
      rmsnorm_forward(be, act(m_h2, l, C), act(m_r2, l, 1), xa, P(lay.mlp_norm, l), N, C, eps);
      matmul_forward(be, gu, act(m_h2, l, C), P(lay.w_gate_up, l), N, C, 2 * H);
      swiglu_forward(be, sw, gu, N, H);
      matmul_residual_forward(be, act(m_x, l + 1, C), xa, sw, P(lay.w_down, l), N, H, C);
    }
    rmsnorm_forward(be, m_hf.data(), m_rf.data(), act(m_x, L, C), P(lay.final_norm), N, C, eps);
    matmul_forward(be, m_logits.data(), m_hf.data(), P(lay.lm_head), N, C, V);
    if (m_has_targets)
      crossentropy_forward(be, m_losses.data(), m_lse.data(), m_logits.data(), m_targets.data(), N, V);
  }

  void run_backward(float loss_scale) {
    const backend::Cuda be{};
    const std::size_t C = m_cfg.d_model, H = m_cfg.hidden(), V = m_cfg.vocab, NH = m_cfg.heads,
                      L = m_cfg.layers, T = m_T, Bn = m_B, N = Bn * T;
    const auto& lay = m_layout;
    auto act = [N](Floats& buf, std::size_t l, std::size_t w) { return buf.data() + l * N * w; };
    float* dres = m_dres.data();
    float* dh = m_dh.data();
    float* dlogits = m_logits.data();

    crossentropy_backward(be, dlogits, dlogits, m_lse.data(), m_targets.data(), loss_scale / float(N), N, V);
    DMA_CUDA_CHECK(cudaMemsetAsync(dres, 0, N * C * sizeof(float)));
    matmul_backward(be, dh, G(lay.lm_head), dlogits, m_hf.data(), P(lay.lm_head), N, C, V);
    rmsnorm_backward(be, dres, G(lay.final_norm), dh, act(m_x, L, C), P(lay.final_norm), m_rf.data(), N, C);
    for (std::size_t l = L; l-- > 0;) {
      const float* qkv = act(m_qkv, l, 3 * C);
      // MLP block: x_out = xa + W_down swiglu(W_gu rmsnorm(xa))
      matmul_backward(be, m_dsw.data(), G(lay.w_down, l), dres, act(m_sw, l, H), P(lay.w_down, l), N, H, C);
      swiglu_backward(be, m_dgu.data(), m_dsw.data(), act(m_gu, l, 2 * H), N, H);
      matmul_backward(be, dh, G(lay.w_gate_up, l), m_dgu.data(), act(m_h2, l, C), P(lay.w_gate_up, l), N, C, 2 * H);
      rmsnorm_backward(be, dres, G(lay.mlp_norm, l), dh, act(m_xa, l, C), P(lay.mlp_norm, l), act(m_r2, l, 1), N, C);
      // attention block: xa = x + W_o attention(rope(W_qkv rmsnorm(x)))
      matmul_backward(be, dh, G(lay.wo, l), dres, act(m_ao, l, C), P(lay.wo, l), N, C, C);
      if (m_flash) {
        backend::cuda::flash_attention_backward(m_dqkv.data(), m_rowdot.data(), dh, act(m_ao, l, C), qkv,
                                                m_alse.data() + l * Bn * NH * T, m_cos.data(), m_sin.data(),
                                                Bn, T, C, NH, precise());
      } else {
        attention_backward(be, m_dqkv.data(), m_scratch.data(), dh, qkv, m_att.data() + l * Bn * NH * T * T,
                           Bn, T, C, NH);
        rope_backward(be, m_dqkv.data(), m_cos.data(), m_sin.data(), Bn, T, C, NH);
      }
      matmul_backward(be, dh, G(lay.wqkv, l), m_dqkv.data(), act(m_h1, l, C), P(lay.wqkv, l), N, C, 3 * C);
      rmsnorm_backward(be, dres, G(lay.attn_norm, l), dh, act(m_x, l, C), P(lay.attn_norm, l), act(m_r1, l, 1), N, C);
    }
    backend::cuda::encoder_backward_deterministic(G(lay.wte), dres, m_inputs.data(), N, C, V);
  }

  ModelConfig m_cfg;
  ParamLayout m_layout;
  std::size_t m_max_batch;
  std::size_t m_B = 0, m_T = 0;
  bool m_has_targets = false;
  bool m_flash = false;
  const float* m_params = nullptr;
  Floats m_x, m_xa, m_h1, m_h2, m_ao, m_r1, m_r2, m_qkv, m_att, m_gu, m_sw, m_hf, m_rf, m_logits,
      m_lse, m_losses;
  Tokens m_inputs, m_targets;
  Floats m_dres, m_dh, m_dqkv, m_dgu, m_dsw, m_scratch, m_grads;
  Floats m_alse, m_rowdot;  // flash: per-layer log-sum-exp [L, Bn, NH, T]; backward row term
  backend::cuda::DeviceBuffer<double> m_loss_acc;
  Floats m_cos, m_sin;
  std::vector<float> m_host_losses;
};

// The device counterpart of TrainState: parameters and AdamW moments in GPU memory (same layout),
// the optimizer step count on the host. Built from host arrays (e.g. a TrainState<Cpu>'s).
struct CudaTrainState {
  using Floats = backend::cuda::DeviceBuffer<float>;
  ModelConfig config;
  Floats params, m, v;
  std::uint64_t step = 0;
  // The last step's squared gradient norm and clipping factor, kept on the device.
  backend::cuda::DeviceBuffer<double> norm2{1};
  Floats clip_scale{1};

  [[nodiscard]] float read_grad_norm() const {
    double v2 = 0.0;
    norm2.download(&v2, 1);
    return float(std::sqrt(v2));
  }

  static CudaTrainState from_host(const ModelConfig& cfg, const float* params, const float* m = nullptr,
                                  const float* v = nullptr, std::uint64_t step = 0) {
    cfg.validate();
    const std::size_t n = ParamLayout(cfg).total;
    CudaTrainState s;
    s.config = cfg;
    s.params = Floats::from_host(params, n);
    s.m = m ? Floats::from_host(m, n) : Floats(n);
    s.v = v ? Floats::from_host(v, n) : Floats(n);
    s.step = step;
    return s;
  }
  [[nodiscard]] std::size_t num_params() const noexcept { return params.size(); }
  [[nodiscard]] CudaTrainState fork() const {
    CudaTrainState s;
    s.config = config;
    s.params = params.clone();
    s.m = m.clone();
    s.v = v.clone();
    s.step = step;
    return s;
  }
};

// The AdamW update of every stored tensor at optimizer step `step` (1-based), the gradient scaled
// by the clipping factor in device memory. Shared by cuda_adamw_step_async and Llama<Cuda>.
// `Adam` is model::AdamWConfig or any type with its fields (the parity tests' AdamHyper).
template <class Adam>
void cuda_adamw_apply(const ParamLayout& lay, float* params, float* m, float* v, const float* grads,
                      std::uint64_t step, float lr, const Adam& c, const float* clip_scale_dev) {
  for (const ParamTensor* t : lay.tensors())
    backend::cuda::adamw_update_scaled(params + t->offset, grads + t->offset, m + t->offset, v + t->offset,
                                       t->size(), lr, c.beta1, c.beta2, c.eps, t->decay ? c.weight_decay : 0.0f,
                                       clip_scale_dev, int(step));
}

// As model::adamw_step: clipping as torch.nn.utils.clip_grad_norm_, then one AdamW update per
// stored tensor (weight decay on matrices only). Returns the global gradient norm before clipping.
// The norm and the clipping factor stay on the device (s.norm2, s.clip_scale): nothing is read
// back; cuda_adamw_step below returns the norm (one sync).
template <class Adam = AdamWConfig>
void cuda_adamw_step_async(const ParamLayout& lay, CudaTrainState& s, const float* grads, float lr,
                           const Adam& c) {
  backend::cuda::grad_norm_and_clip(s.norm2.data(), s.clip_scale.data(), grads, lay.total, c.grad_clip);
  s.step += 1;
  cuda_adamw_apply(lay, s.params.data(), s.m.data(), s.v.data(), grads, s.step, lr, c, s.clip_scale.data());
}
template <class Adam = AdamWConfig>
float cuda_adamw_step(const ParamLayout& lay, CudaTrainState& s, const float* grads, float lr,
                      const Adam& c) {
  cuda_adamw_step_async(lay, s, grads, lr, c);
  return s.read_grad_norm();
}

// Zeroes the gradients and the loss accumulator, then enqueues forward + backward over the
// micro-batches (HOST tokens, model/step.hpp) with loss scale 1/k: the gradient and the device
// loss of their mean. Shared by cuda_train_step and Llama<Cuda>::train_step.
inline void cuda_forward_backward(LlamaCuda& model, const float* params, std::span<const MicroBatch> micro) {
  DMA_ASSERT(!micro.empty(), "a training step needs at least one micro-batch");
  model.zero_grads();
  model.reset_loss();
  const float k = 1.0f / float(micro.size());
  for (const MicroBatch& mb : micro) {
    model.enqueue_forward(params, mb.inputs, mb.targets, mb.batch, mb.T, double(k));
    model.backward(k);
  }
}

// As model::train_step: zero grads, forward/backward over the micro-batches, clip, AdamW. With
// read_stats (default) the loss and gradient norm are read back (one sync); without, the step
// only enqueues work (loss and norm stay NaN here; model.read_loss(), s.read_grad_norm() later).
// Unlike model::train_step it has no non-finite guard (that needs a read-back before the update;
// Llama<backend::Cuda>::train_step has it).
template <class Adam = AdamWConfig>
StepStats cuda_train_step(LlamaCuda& model, CudaTrainState& s, const LrSchedule& sched, const Adam& c,
                          std::span<const MicroBatch> micro, bool read_stats = true) {
  StepStats st;
  cuda_forward_backward(model, s.params.data(), micro);
  st.lr = sched.at(s.step);
  cuda_adamw_step_async(model.layout(), s, model.grads(), st.lr, c);
  if (read_stats) {
    st.loss = model.read_loss();
    st.grad_norm = s.read_grad_norm();
  } else {
    st.loss = st.grad_norm = std::numeric_limits<float>::quiet_NaN();
  }
  return st;
}

}  // namespace dma::model
