// tests/parity/cpu_reference.hpp: the CPU side of the CUDA parity tests, declared with plain
// types only so that a .cu file can call it: thin wrappers over the backend::Cpu ops and the CPU
// model (model::Llama<Cpu>, train_step), compiled by g++ in cpu_reference.cpp (Eigen never
// enters a .cu file). Used by tests/parity/cuda_ops.cu and cuda_model.cu.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dma/core/types.hpp"
#include "dma/model/config.hpp"
#include "dma/model/schedule.hpp"

namespace dma::parity {

using std::size_t;

// ---- ops (signatures of model/ops.hpp without the tag) ---------------------------------------
void cpu_encoder_forward(float* out, const Token* inp, const float* wte, size_t N, size_t C);
void cpu_encoder_backward(float* dwte, const float* dout, const Token* inp, size_t N, size_t C);
void cpu_rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, size_t N, size_t C, float eps);
void cpu_rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                          const float* rstd, size_t N, size_t C);
void cpu_matmul_forward(float* out, const float* inp, const float* w, size_t N, size_t IC, size_t OC);
void cpu_matmul_residual_forward(float* out, const float* res, const float* inp, const float* w, size_t N,
                                 size_t IC, size_t OC);
void cpu_matmul_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                         size_t N, size_t IC, size_t OC);
void cpu_rope_tables(float* cos_t, float* sin_t, size_t T, size_t hs, double theta);
void cpu_rope_forward(float* qkv, const float* cos_t, const float* sin_t, size_t Bn, size_t T, size_t C, size_t NH);
void cpu_rope_backward(float* dqkv, const float* cos_t, const float* sin_t, size_t Bn, size_t T, size_t C, size_t NH);
void cpu_attention_forward(float* out, float* att, const float* qkv, size_t Bn, size_t T, size_t C, size_t NH);
void cpu_attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* att,
                            size_t Bn, size_t T, size_t C, size_t NH);
void cpu_swiglu_forward(float* out, const float* gu, size_t N, size_t H);
void cpu_swiglu_backward(float* dgu, const float* dout, const float* gu, size_t N, size_t H);
void cpu_crossentropy_forward(float* losses, float* lse, const float* logits, const Token* targets, size_t N, size_t V);
void cpu_crossentropy_backward(float* dlogits, const float* logits, const float* lse, const Token* targets,
                               float dloss, size_t N, size_t V);
void cpu_adamw_update(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1, float beta2,
                      float eps, float wd, float grad_scale, int step);
double cpu_norm_squared(const float* x, size_t n);

// ---- the model ----------------------------------------------------------------------------
// AdamW hyper-parameters (mirrors model::AdamWConfig; also accepted by cuda_train_step).
struct AdamHyper {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.1f, grad_clip = 1.0f;
};

// TrainState<Cpu>::create(cfg, seed).params
std::vector<float> cpu_init_params(const model::ModelConfig& cfg, std::uint64_t seed);

struct CpuForwardBackward {
  float loss = 0;
  std::vector<float> logits, losses, grads;
};
// One forward (with targets) + backward(1) from zeroed gradients; threads = 1.
CpuForwardBackward cpu_forward_backward(const model::ModelConfig& cfg, const std::vector<float>& params,
                                        const Token* inputs, const Token* targets, size_t Bn, size_t T);

struct CpuTrajectory {
  std::vector<float> losses, grad_norms, lrs;
  std::vector<float> params;  // after the last step
};
// `steps` train_steps from params (fresh AdamW moments); step s uses tokens[s][Bn][T+1]
// (inputs = the first T of each row, targets = the last T).
CpuTrajectory cpu_train(const model::ModelConfig& cfg, const std::vector<float>& params,
                        const std::vector<Token>& tokens, size_t steps, size_t Bn, size_t T,
                        const model::LrSchedule& sched, const AdamHyper& adam);

}  // namespace dma::parity
