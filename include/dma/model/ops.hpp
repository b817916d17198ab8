// dma/model/ops.hpp: the contract between the LLM proxy (model/llama.hpp) and a backend: every op
// the model calls, with its exact signature and memory layout, checked by the ModelOps concept.
// A backend implements these as free functions with its tag FIRST (backend/cpu/ for Cpu; a CUDA
// backend adds the same overloads for backend::Cuda) and ends with static_assert(ModelOps<Tag>).
// Tested: tests/reference/model_torch_parity.cpp (whole model vs PyTorch), tests/unit/model_ops.cpp.
//
// Conventions (llm.c style): float32, row-major, raw pointers + sizes. Shape letters: N rows
// (= Bn*T tokens), C channels (d_model), V vocab, T sequence, Bn sequences in this call, NH heads,
// hs = C/NH head size, H MLP hidden size, IC/OC in/out features. `Token` is dma::Token (uint16).
//
// Layouts
//   Linear weight      [OC, IC]                (PyTorch nn.Linear layout; y = x W^T, no bias)
//   qkv                [Bn, T, 3C]             row = [q (C) | k (C) | v (C)]; head h of q is
//                                              q[h*hs, (h+1)*hs) (PyTorch view(B,T,NH,hs))
//   rope tables        cos, sin [T, hs/2]      cos[t, i] = cos(t * theta^(-2i/hs)); "rotate-half"
//                                              pairing (i, i + hs/2) as in HF LLaMA
//   att (probabilities)[Bn, NH, T, T]          row t holds softmax over keys 0..t, zeros above
//   attention scratch  [Bn, NH, T, T]          backward only (a CPU backend may use less)
//   gate_up            [N, 2H]                 row = [gate (H) | up (H)]  (one fused Linear)
//   losses, lse, rstd  [N]
//
// Write semantics (matter for the residual stream): matmul_backward OVERWRITES dinp and
// ACCUMULATES (+=) dweight; rmsnorm_backward ACCUMULATES dinp and dweight; encoder_backward
// accumulates dwte; attention_backward and swiglu_backward overwrite; crossentropy_backward may
// run in place (dlogits == logits). Parameter gradients always accumulate, so gradient
// accumulation over micro-batches and tied embeddings need no special case.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

#include "dma/backend/tags.hpp"
#include "dma/core/types.hpp"

namespace dma::model {

// The ops of the proxy for backend tag B. Pointers live where B keeps tensors (host for Cpu,
// device for Cuda); scalars are host values; norm_squared returns a host value.
template <class B>
concept ModelOps = requires(B b, float* f, const float* cf, const Token* tok, std::size_t n,
                            float x, int step) {
  // ---- embedding: out[n, :] = wte[inp[n], :]; dwte[inp[n], :] += dout[n, :] (in row order)
  { encoder_forward(b, f, tok, cf, n, n) };               // (out[N,C], inp[N], wte[V,C], N, C)
  { encoder_backward(b, f, cf, tok, n, n) };              // (dwte[V,C], dout[N,C], inp[N], N, C)
  // ---- RMSNorm (Zhang & Sennrich 2019): out = inp * rstd * weight, rstd = 1/sqrt(mean(inp^2)+eps)
  { rmsnorm_forward(b, f, f, cf, cf, n, n, x) };          // (out, rstd[N], inp, weight[C], N, C, eps)
  { rmsnorm_backward(b, f, f, cf, cf, cf, cf, n, n) };    // (dinp+=, dweight+=, dout, inp, weight, rstd, N, C)
  // ---- Linear, weight [OC, IC]
  { matmul_forward(b, f, cf, cf, n, n, n) };              // (out[N,OC], inp[N,IC], weight, N, IC, OC)
  { matmul_residual_forward(b, f, cf, cf, cf, n, n, n) }; // (out = residual + inp W^T, residual[N,OC], inp, weight, N, IC, OC)
  { matmul_backward(b, f, f, cf, cf, cf, n, n, n) };      // (dinp= (may be null), dweight+=, dout, inp, weight, N, IC, OC)
  // ---- rotary position embedding (Su et al. 2021), in place on the q and k parts of qkv
  { rope_forward(b, f, cf, cf, n, n, n, n) };             // (qkv[Bn,T,3C], cos[T,hs/2], sin, Bn, T, C, NH)
  { rope_backward(b, f, cf, cf, n, n, n, n) };            // (dqkv in place: inverse rotation, same args)
  // ---- causal softmax attention, scale 1/sqrt(hs)
  { attention_forward(b, f, f, cf, n, n, n, n) };         // (out[Bn,T,C], att[Bn,NH,T,T], qkv, Bn, T, C, NH)
  { attention_backward(b, f, f, cf, cf, cf, n, n, n, n) };// (dqkv[Bn,T,3C]=, scratch, dout[Bn,T,C], qkv, att, Bn, T, C, NH)
  // ---- SwiGLU (Shazeer 2020): out = silu(gate) * up
  { swiglu_forward(b, f, cf, n, n) };                     // (out[N,H], gate_up[N,2H], N, H)
  { swiglu_backward(b, f, cf, cf, n, n) };                // (dgate_up[N,2H]=, dout[N,H], gate_up, N, H)
  // ---- cross-entropy over V classes; losses[n] = lse[n] - logits[n, target[n]]
  { crossentropy_forward(b, f, f, cf, tok, n, n) };       // (losses[N], lse[N], logits[N,V], targets[N], N, V)
  { crossentropy_backward(b, f, cf, cf, tok, x, n, n) };  // (dlogits=(softmax-onehot)*dloss, logits, lse, targets, dloss, N, V)
  // ---- optimizer: AdamW (Loshchilov & Hutter 2019), PyTorch's formulation; grads are multiplied
  //      by grad_scale first (gradient clipping); step is 1-based (bias correction)
  { adamw_update(b, f, cf, f, f, n, x, x, x, x, x, x, step) };
  //   (params, grads, m, v, n, lr, beta1, beta2, eps, weight_decay, grad_scale, step)
  { norm_squared(b, cf, n) } -> std::convertible_to<double>;  // sum of squares of x[0..n)
};

}  // namespace dma::model
