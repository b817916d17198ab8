// tests/parity/cpu_reference.cpp: g++ side of the CUDA parity tests (see cpu_reference.hpp): the
// backend::Cpu ops and the CPU model behind plain-typed functions.
#include "cpu_reference.hpp"

#include <dma/backend/cpu/ops.hpp>
#include <dma/model/llama.hpp>
#include <dma/model/optim.hpp>
#include <dma/model/state.hpp>

namespace dma::parity {

namespace {
constexpr backend::Cpu cpu{};
}

void cpu_encoder_forward(float* out, const Token* inp, const float* wte, size_t N, size_t C) {
  encoder_forward(cpu, out, inp, wte, N, C);
}
void cpu_encoder_backward(float* dwte, const float* dout, const Token* inp, size_t N, size_t C) {
  encoder_backward(cpu, dwte, dout, inp, N, C);
}
void cpu_rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, size_t N, size_t C, float eps) {
  rmsnorm_forward(cpu, out, rstd, inp, w, N, C, eps);
}
void cpu_rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                          const float* rstd, size_t N, size_t C) {
  rmsnorm_backward(cpu, dinp, dw, dout, inp, w, rstd, N, C);
}
void cpu_matmul_forward(float* out, const float* inp, const float* w, size_t N, size_t IC, size_t OC) {
  matmul_forward(cpu, out, inp, w, N, IC, OC);
}
void cpu_matmul_residual_forward(float* out, const float* res, const float* inp, const float* w, size_t N,
                                 size_t IC, size_t OC) {
  matmul_residual_forward(cpu, out, res, inp, w, N, IC, OC);
}
void cpu_matmul_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                         size_t N, size_t IC, size_t OC) {
  matmul_backward(cpu, dinp, dw, dout, inp, w, N, IC, OC);
}
void cpu_rope_tables(float* cos_t, float* sin_t, size_t T, size_t hs, double theta) {
  backend::cpu::rope_tables(cos_t, sin_t, T, hs, theta);
}
void cpu_rope_forward(float* qkv, const float* cos_t, const float* sin_t, size_t Bn, size_t T, size_t C, size_t NH) {
  rope_forward(cpu, qkv, cos_t, sin_t, Bn, T, C, NH);
}
void cpu_rope_backward(float* dqkv, const float* cos_t, const float* sin_t, size_t Bn, size_t T, size_t C, size_t NH) {
  rope_backward(cpu, dqkv, cos_t, sin_t, Bn, T, C, NH);
}
void cpu_attention_forward(float* out, float* att, const float* qkv, size_t Bn, size_t T, size_t C, size_t NH) {
  attention_forward(cpu, out, att, qkv, Bn, T, C, NH);
}
void cpu_attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att,
                            size_t Bn, size_t T, size_t C, size_t NH) {
  attention_backward(cpu, dqkv, scratch, dout, qkv, att, Bn, T, C, NH);
}
void cpu_swiglu_forward(float* out, const float* gu, size_t N, size_t H) { swiglu_forward(cpu, out, gu, N, H); }
void cpu_swiglu_backward(float* dgu, const float* dout, const float* gu, size_t N, size_t H) {
  swiglu_backward(cpu, dgu, dout, gu, N, H);
}
void cpu_crossentropy_forward(float* losses, float* lse, const float* logits, const Token* targets, size_t N, size_t V) {
  crossentropy_forward(cpu, losses, lse, logits, targets, N, V);
}
void cpu_crossentropy_backward(float* dlogits, const float* logits, const float* lse, const Token* targets,
                               float dloss, size_t N, size_t V) {
  crossentropy_backward(cpu, dlogits, logits, lse, targets, dloss, N, V);
}
void cpu_adamw_update(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1, float beta2,
                      float eps, float wd, float grad_scale, int step) {
  adamw_update(cpu, p, g, m, v, n, lr, beta1, beta2, eps, wd, grad_scale, step);
}
double cpu_norm_squared(const float* x, size_t n) { return norm_squared(cpu, x, n); }

std::vector<float> cpu_init_params(const model::ModelConfig& cfg, std::uint64_t seed) {
  const auto s = model::TrainState<backend::Cpu>::create(cfg, seed);
  return std::vector<float>(s.params.begin(), s.params.end());
}

CpuForwardBackward cpu_forward_backward(const model::ModelConfig& cfg, const std::vector<float>& params,
                                        const Token* inputs, const Token* targets, size_t Bn, size_t T) {
  model::Llama<backend::Cpu> m(cfg, Bn, 1);
  CpuForwardBackward r;
  m.zero_grads();
  r.loss = m.forward(params.data(), inputs, targets, Bn, T);
  r.logits.assign(m.logits(), m.logits() + Bn * T * cfg.vocab);
  r.losses.assign(m.token_losses(), m.token_losses() + Bn * T);
  m.backward(1.0f);
  r.grads.assign(m.grads(), m.grads() + m.num_params());
  return r;
}

CpuTrajectory cpu_train(const model::ModelConfig& cfg, const std::vector<float>& params,
                        const std::vector<Token>& tokens, size_t steps, size_t Bn, size_t T,
                        const model::LrSchedule& sched, const AdamHyper& adam) {
  model::Llama<backend::Cpu> m(cfg, Bn, 1);
  auto s = model::TrainState<backend::Cpu>::create(cfg, 0);
  std::copy(params.begin(), params.end(), s.params.begin());
  model::AdamWConfig c;
  c.beta1 = adam.beta1;
  c.beta2 = adam.beta2;
  c.eps = adam.eps;
  c.weight_decay = adam.weight_decay;
  c.grad_clip = adam.grad_clip;
  std::vector<Token> in(Bn * T), tg(Bn * T);
  CpuTrajectory r;
  for (size_t st = 0; st < steps; ++st) {
    for (size_t b = 0; b < Bn; ++b)
      for (size_t t = 0; t < T; ++t) {
        const Token* row = tokens.data() + (st * Bn + b) * (T + 1);
        in[b * T + t] = row[t];
        tg[b * T + t] = row[t + 1];
      }
    const model::MicroBatch mb{in.data(), tg.data(), Bn, T};
    const auto stats = model::train_step(m, s, sched, c, std::span<const model::MicroBatch>(&mb, 1));
    r.losses.push_back(stats.loss);
    r.grad_norms.push_back(stats.grad_norm);
    r.lrs.push_back(stats.lr);
  }
  r.params.assign(s.params.begin(), s.params.end());
  return r;
}

}  // namespace dma::parity
