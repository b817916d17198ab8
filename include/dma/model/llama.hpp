// dma/model/llama.hpp: the LLM proxy, a decoder-only LLaMA-style LM (RMSNorm, rotary embeddings,
// causal attention, SwiGLU MLP, optional tied embeddings), written top to bottom over the ops of
// model/ops.hpp with the backend tag as template parameter. Llama<B> owns the compute: the
// activations, their gradients and the parameter gradients, all preallocated for (max_batch,
// context); the parameters themselves live in a TrainState (model/state.hpp) and are passed in,
// so one Llama serves many forked states. On Cpu the batch is split across threads (data
// parallel, per-thread gradient buffers reduced in a fixed order: deterministic for a given
// thread count). Tested against PyTorch (tests/reference/) and in tests/unit/model_train.cpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <vector>

#include "dma/backend/cpu/ops.hpp"
#include "dma/backend/cpu/thread_pool.hpp"
#include "dma/backend/tags.hpp"
#include "dma/core/buffer.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/core/rng.hpp"
#include "dma/model/config.hpp"
#include "dma/model/memory.hpp"
#include "dma/model/ops.hpp"

namespace dma::model {

// Wall-clock seconds of the phases of the steps run since the last reset_phase_times(), for
// profiling (benchmarks/bench_proxy --profile); busy_* are per thread (the span of each shard),
// so wall - max(busy) is time spent waiting on the slowest thread or in the pool.
struct PhaseTimes {
  double forward = 0, backward = 0, reduce = 0, optimizer = 0, zero = 0;
  std::vector<double> busy_forward, busy_backward;
};

template <class B>
class Llama {
  static_assert(dma::Backend<B>, "Llama<B>: B must be a backend tag (dma::Backend)");
  static_assert(!B::is_device,
                "model::Llama<backend::Cuda> is declared in dma/backend/cuda/host.hpp: include it (and compile "
                "dma/backend/cuda/host_impl.cuh in one .cu file of the program)");
  static_assert(ModelOps<B>, "Llama<B>: the backend must implement every op of model/ops.hpp");
  using Floats = typename Memory<B>::Floats;
  using Tokens = typename Memory<B>::Tokens;

 public:
  // Preallocates everything a step at (max_batch, cfg.context) needs; threads > 1 splits the
  // batch across a CPU thread pool.
  Llama(const ModelConfig& cfg, std::size_t max_batch, std::size_t threads = 1)
      : m_cfg(cfg), m_layout(cfg), m_max_batch(max_batch),
        m_threads(std::max<std::size_t>(1, std::min(threads, max_batch))), m_pool(m_threads) {
    m_cfg.validate();
    if (max_batch == 0) fail("Llama: max_batch must be >= 1");
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
    m_att = Floats(L * max_batch * NH * T * T);
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
    m_scratch = Floats(max_batch * NH * T * T);
    for (std::size_t t = 0; t < m_threads; ++t) m_grads.emplace_back(m_layout.total);
    m_times.busy_forward.assign(m_threads, 0.0);
    m_times.busy_backward.assign(m_threads, 0.0);
    m_busy = std::vector<Padded>(m_threads);
    const std::size_t half = cfg.head_size() / 2;
    m_cos = Floats(T * half);
    m_sin = Floats(T * half);
    backend::cpu::rope_tables(m_cos.data(), m_sin.data(), T, cfg.head_size(), cfg.rope_theta);
  }

  [[nodiscard]] const ModelConfig& config() const noexcept { return m_cfg; }
  [[nodiscard]] const ParamLayout& layout() const noexcept { return m_layout; }
  [[nodiscard]] std::size_t num_params() const noexcept { return m_layout.total; }
  [[nodiscard]] std::size_t max_batch() const noexcept { return m_max_batch; }
  [[nodiscard]] std::size_t threads() const noexcept { return m_threads; }

  // Forward pass over inputs[Bn, T]. With targets, computes the per-token losses and returns
  // their mean (nats); without, returns NaN and only the logits are valid.
  float forward(const float* params, const Token* inputs, const Token* targets, std::size_t Bn,
                std::size_t T) {
    if (Bn == 0 || Bn > m_max_batch)
      fail("Llama::forward: batch ", Bn, " outside 1..", m_max_batch, " (max_batch)");
    if (T == 0 || T > m_cfg.context)
      fail("Llama::forward: sequence length ", T, " outside 1..", m_cfg.context, " (context)");
    const std::size_t N = Bn * T;
    check_tokens(inputs, N, "inputs");
    m_B = Bn;
    m_T = T;
    m_params = params;
    m_has_targets = targets != nullptr;
    Memory<B>::upload(m_inputs.data(), inputs, N);
    if (targets) {
      check_tokens(targets, N, "targets");
      Memory<B>::upload(m_targets.data(), targets, N);
    }
    const auto t0 = clock::now();
    auto job = [this](std::size_t tid) {
      const auto s0 = clock::now();
      forward_shard(tid);
      m_busy[tid].v = seconds(s0);
    };
    m_pool.run(job);
    m_times.forward += seconds(t0);
    for (std::size_t t = 0; t < m_threads; ++t) m_times.busy_forward[t] += m_busy[t].v;
    if (!targets) return std::numeric_limits<float>::quiet_NaN();
    double s = 0.0;
    for (std::size_t n = 0; n < N; ++n) s += m_losses[n];
    return float(s / double(N));
  }

  // Backward pass of the last forward (which must have had targets), for the loss
  // loss_scale * mean(losses): parameter gradients ACCUMULATE into grads() (gradient
  // accumulation = several forward/backward pairs with loss_scale = 1/k). Overwrites logits.
  void backward(float loss_scale = 1.0f) {
    DMA_ASSERT(m_has_targets, "Llama::backward needs a forward pass with targets");
    const auto t0 = clock::now();
    auto job = [this, loss_scale](std::size_t tid) {
      const auto s0 = clock::now();
      backward_shard(tid, loss_scale);
      m_busy[tid].v = seconds(s0);
    };
    m_pool.run(job);
    m_times.backward += seconds(t0);
    for (std::size_t t = 0; t < m_threads; ++t) m_times.busy_backward[t] += m_busy[t].v;
    if (m_threads > 1) {
      const auto t1 = clock::now();
      auto reduce = [this](std::size_t tid) { reduce_grads(tid); };
      m_pool.run(reduce);
      m_times.reduce += seconds(t1);
    }
  }

  [[nodiscard]] float* grads() noexcept { return m_grads[0].data(); }
  [[nodiscard]] const float* grads() const noexcept { return m_grads[0].data(); }
  // Zeroes the gradient, each thread its own parameter range (see param_range).
  void zero_grads() {
    const auto t0 = clock::now();
    auto job = [this](std::size_t tid) {
      std::size_t i0, i1;
      param_range(tid, i0, i1);
      std::memset(m_grads[0].data() + i0, 0, (i1 - i0) * sizeof(float));
    };
    m_pool.run(job);
    m_times.zero += seconds(t0);
  }

  // Thread tid's share [i0, i1) of the flat parameter buffer: equal slices with boundaries on
  // 16-float (64-byte) lines, so that no two threads write one cache line. The gradient
  // reduction, the gradient norm and the optimizer all use these slices.
  void param_range(std::size_t tid, std::size_t& i0, std::size_t& i1) const noexcept {
    const std::size_t P = m_layout.total;
    auto cut = [&](std::size_t t) { return t >= m_threads ? P : std::min(P, (P * t / m_threads) & ~std::size_t(15)); };
    i0 = cut(tid);
    i1 = cut(tid + 1);
  }
  // Runs fn(tid) on every thread of the model's pool (fn(0) on the caller); for element-wise work
  // over param_range(tid) such as the optimizer step. fn must not throw.
  template <class F>
  void parallel(F& fn) {
    m_pool.run(fn);
  }
  [[nodiscard]] const PhaseTimes& phase_times() const noexcept { return m_times; }
  [[nodiscard]] PhaseTimes& phase_times() noexcept { return m_times; }
  void reset_phase_times() {
    m_times = PhaseTimes{};
    m_times.busy_forward.assign(m_threads, 0.0);
    m_times.busy_backward.assign(m_threads, 0.0);
  }
  // [Bn, T, V] logits of the last forward (until backward overwrites them).
  [[nodiscard]] const float* logits() const noexcept { return m_logits.data(); }
  // [Bn, T] per-token losses (nats) of the last forward with targets.
  [[nodiscard]] const float* token_losses() const noexcept { return m_losses.data(); }

  // Model FLOPs of one training step / one forward pass on Bn x T tokens (model/config.hpp).
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
        fail("Llama: ", what, "[", i, "] = ", t[i], " is outside the vocabulary (", m_cfg.vocab, ")");
  }
  // Shard tid covers sequences [b0, b1).
  void shard(std::size_t tid, std::size_t& b0, std::size_t& b1) const noexcept {
    b0 = m_B * tid / m_threads;
    b1 = m_B * (tid + 1) / m_threads;
  }
  const float* P(const ParamTensor& t, std::size_t l = 0) const noexcept {
    return m_params + t.offset + l * t.layer_size();
  }
  static float* G(float* g, const ParamTensor& t, std::size_t l = 0) noexcept {
    return g + t.offset + l * t.layer_size();
  }

  void forward_shard(std::size_t tid) {
    std::size_t b0, b1;
    shard(tid, b0, b1);
    if (b0 == b1) return;
    const B be{};
    const std::size_t C = m_cfg.d_model, H = m_cfg.hidden(), V = m_cfg.vocab, NH = m_cfg.heads,
                      L = m_cfg.layers, T = m_T, N = m_B * T, nb = b1 - b0, n = nb * T,
                      n0 = b0 * T;
    const float eps = m_cfg.norm_eps;
    const auto& lay = m_layout;
    // Per-layer activation arrays are [L, N, width]; this shard's rows start at n0.
    auto act = [&](Floats& buf, std::size_t l, std::size_t w) { return buf.data() + l * N * w + n0 * w; };

    encoder_forward(be, act(m_x, 0, C), m_inputs.data() + n0, P(lay.wte), n, C);
    for (std::size_t l = 0; l < L; ++l) {
      float* x = act(m_x, l, C);
      float* h1 = act(m_h1, l, C);
      float* r1 = act(m_r1, l, 1);
      float* qkv = act(m_qkv, l, 3 * C);
      float* att = m_att.data() + (l * m_B + b0) * NH * T * T;
      float* ao = act(m_ao, l, C);
      float* xa = act(m_xa, l, C);
      float* h2 = act(m_h2, l, C);
      float* r2 = act(m_r2, l, 1);
      float* gu = act(m_gu, l, 2 * H);
      float* sw = act(m_sw, l, H);
      rmsnorm_forward(be, h1, r1, x, P(lay.attn_norm, l), n, C, eps);
      matmul_forward(be, qkv, h1, P(lay.wqkv, l), n, C, 3 * C);
      rope_forward(be, qkv, m_cos.data(), m_sin.data(), nb, T, C, NH);
      attention_forward(be, ao, att, qkv, nb, T, C, NH);
      matmul_residual_forward(be, xa, x, ao, P(lay.wo, l), n, C, C);
      rmsnorm_forward(be, h2, r2, xa, P(lay.mlp_norm, l), n, C, eps);
      matmul_forward(be, gu, h2, P(lay.w_gate_up, l), n, C, 2 * H);
      swiglu_forward(be, sw, gu, n, H);
      matmul_residual_forward(be, act(m_x, l + 1, C), xa, sw, P(lay.w_down, l), n, H, C);
    }
    rmsnorm_forward(be, m_hf.data() + n0 * C, m_rf.data() + n0, act(m_x, L, C), P(lay.final_norm), n, C, eps);
    matmul_forward(be, m_logits.data() + n0 * V, m_hf.data() + n0 * C, P(lay.lm_head), n, C, V);
    if (m_has_targets)
      crossentropy_forward(be, m_losses.data() + n0, m_lse.data() + n0, m_logits.data() + n0 * V,
                           m_targets.data() + n0, n, V);
  }

  void backward_shard(std::size_t tid, float loss_scale) {
    std::size_t b0, b1;
    shard(tid, b0, b1);
    if (b0 == b1) return;
    const B be{};
    const std::size_t C = m_cfg.d_model, H = m_cfg.hidden(), V = m_cfg.vocab, NH = m_cfg.heads,
                      L = m_cfg.layers, T = m_T, N = m_B * T, nb = b1 - b0, n = nb * T,
                      n0 = b0 * T;
    const auto& lay = m_layout;
    float* g = m_grads[tid].data();
    auto act = [&](Floats& buf, std::size_t l, std::size_t w) { return buf.data() + l * N * w + n0 * w; };
    float* dres = m_dres.data() + n0 * C;
    float* dh = m_dh.data() + n0 * C;
    float* dqkv = m_dqkv.data() + n0 * 3 * C;
    float* dgu = m_dgu.data() + n0 * 2 * H;
    float* dsw = m_dsw.data() + n0 * H;
    float* scratch = m_scratch.data() + b0 * NH * T * T;
    float* dlogits = m_logits.data() + n0 * V;

    crossentropy_backward(be, dlogits, dlogits, m_lse.data() + n0, m_targets.data() + n0,
                          loss_scale / float(N), n, V);
    std::memset(dres, 0, n * C * sizeof(float));
    matmul_backward(be, dh, G(g, lay.lm_head), dlogits, m_hf.data() + n0 * C, P(lay.lm_head), n, C, V);
    rmsnorm_backward(be, dres, G(g, lay.final_norm), dh, act(m_x, L, C), P(lay.final_norm),
                     m_rf.data() + n0, n, C);
    for (std::size_t l = L; l-- > 0;) {
      const float* qkv = act(m_qkv, l, 3 * C);
      const float* att = m_att.data() + (l * m_B + b0) * NH * T * T;
      // MLP block: x_out = xa + W_down swiglu(W_gu rmsnorm(xa))
      matmul_backward(be, dsw, G(g, lay.w_down, l), dres, act(m_sw, l, H), P(lay.w_down, l), n, H, C);
      swiglu_backward(be, dgu, dsw, act(m_gu, l, 2 * H), n, H);
      matmul_backward(be, dh, G(g, lay.w_gate_up, l), dgu, act(m_h2, l, C), P(lay.w_gate_up, l), n, C, 2 * H);
      rmsnorm_backward(be, dres, G(g, lay.mlp_norm, l), dh, act(m_xa, l, C), P(lay.mlp_norm, l),
                       act(m_r2, l, 1), n, C);
      // attention block: xa = x + W_o attention(rope(W_qkv rmsnorm(x)))
      matmul_backward(be, dh, G(g, lay.wo, l), dres, act(m_ao, l, C), P(lay.wo, l), n, C, C);
      attention_backward(be, dqkv, scratch, dh, qkv, att, nb, T, C, NH);
      rope_backward(be, dqkv, m_cos.data(), m_sin.data(), nb, T, C, NH);
      matmul_backward(be, dh, G(g, lay.wqkv, l), dqkv, act(m_h1, l, C), P(lay.wqkv, l), n, C, 3 * C);
      rmsnorm_backward(be, dres, G(g, lay.attn_norm, l), dh, act(m_x, l, C), P(lay.attn_norm, l),
                       act(m_r1, l, 1), n, C);
    }
    encoder_backward(be, G(g, lay.wte), dres, m_inputs.data() + n0, n, C);
  }

  // grads[0] += grads[t] for t = 1..threads-1 (in that order), grads[t] = 0; slice per thread.
  void reduce_grads(std::size_t tid) {
    std::size_t i0, i1;
    param_range(tid, i0, i1);
    float* main = m_grads[0].data();
    for (std::size_t t = 1; t < m_threads; ++t) {
      float* o = m_grads[t].data();
      for (std::size_t i = i0; i < i1; ++i) main[i] += o[i];
      std::memset(o + i0, 0, (i1 - i0) * sizeof(float));
    }
  }

  using clock = std::chrono::steady_clock;
  static double seconds(clock::time_point t0) noexcept {
    return std::chrono::duration<double>(clock::now() - t0).count();
  }
  struct alignas(64) Padded {  // one cache line per thread: no false sharing of the timers
    double v = 0;
  };

  ModelConfig m_cfg;
  ParamLayout m_layout;
  std::size_t m_max_batch, m_threads;
  backend::cpu::ThreadPool m_pool;
  std::size_t m_B = 0, m_T = 0;
  bool m_has_targets = false;
  const float* m_params = nullptr;
  Floats m_x, m_xa, m_h1, m_h2, m_ao, m_r1, m_r2, m_qkv, m_att, m_gu, m_sw, m_hf, m_rf, m_logits,
      m_lse, m_losses;
  Tokens m_inputs, m_targets;
  Floats m_dres, m_dh, m_dqkv, m_dgu, m_dsw, m_scratch;
  std::vector<Floats> m_grads;
  Floats m_cos, m_sin;
  PhaseTimes m_times;
  std::vector<Padded> m_busy;
};

}  // namespace dma::model
