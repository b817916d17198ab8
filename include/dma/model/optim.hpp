// dma/model/optim.hpp: AdamW with global-norm gradient clipping over the flat parameter buffer,
// and train_step: zero grads, forward/backward over k micro-batches (gradient accumulation),
// clip, one AdamW step at the schedule's LR, the optimizer split over the model's threads by
// parameter slices. Allocation-free. Tested against PyTorch's 10-step
// trajectory (tests/reference/) and in tests/unit/model_train.cpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <span>

#include "dma/core/config.hpp"
#include "dma/model/config.hpp"
#include "dma/model/llama.hpp"
#include "dma/model/schedule.hpp"
#include "dma/model/state.hpp"
#include "dma/model/step.hpp"

namespace dma::model {

// One AdamW step on every stored tensor; returns the global gradient norm before clipping.
// Clipping follows torch.nn.utils.clip_grad_norm_: scale = min(1, clip / (norm + 1e-6)).
template <class B>
float adamw_step(B be, const ParamLayout& lay, TrainState<B>& s, const float* grads, float lr,
                 const AdamWConfig& c) {
  const double norm = std::sqrt(norm_squared(be, grads, lay.total));
  if (!std::isfinite(norm)) return float(norm);  // numerical fault: no update (model/guard.hpp)
  float scale = 1.0f;
  if (c.grad_clip > 0) scale = std::min(1.0f, float(double(c.grad_clip) / (norm + 1e-6)));
  s.step += 1;
  lay.for_each([&](const ParamTensor& t) {
    adamw_update(be, s.params.data() + t.offset, grads + t.offset, s.m.data() + t.offset,
                 s.v.data() + t.offset, t.size(), lr, c.beta1, c.beta2, c.eps,
                 t.decay ? c.weight_decay : 0.0f, scale, int(s.step));
  });
  return float(norm);
}

// The same step split over the model's threads by parameter slices (Llama::param_range): each
// thread sums the squares of its slice, the partial sums are added in thread order (so the norm,
// and the whole trajectory, is bit-identical for a given thread count; with one thread it is the
// serial adamw_step above), then each thread updates its slice of every tensor.
template <class B>
float adamw_step(Llama<B>& model, TrainState<B>& s, const float* grads, float lr, const AdamWConfig& c) {
  static_assert(!B::is_device, "adamw_step(Llama<B>&, ...) is the CPU step");
  const auto t0 = std::chrono::steady_clock::now();
  const ParamLayout& lay = model.layout();
  const std::size_t nt = model.threads();
  // Per-thread partial sums on their own cache lines (at most 64 threads here: the CPU pool).
  struct alignas(64) Part {
    double v;
  };
  Part part[64];
  DMA_ASSERT(nt <= 64, "adamw_step: more than 64 threads");
  auto norm_job = [&](std::size_t tid) {
    std::size_t i0, i1;
    model.param_range(tid, i0, i1);
    part[tid].v = norm_squared(B{}, grads + i0, i1 - i0);
  };
  model.parallel(norm_job);
  double sq = 0.0;
  for (std::size_t t = 0; t < nt; ++t) sq += part[t].v;
  const double norm = std::sqrt(sq);
  if (!std::isfinite(norm)) return float(norm);  // numerical fault: no update (model/guard.hpp)
  float scale = 1.0f;
  if (c.grad_clip > 0) scale = std::min(1.0f, float(double(c.grad_clip) / (norm + 1e-6)));
  s.step += 1;
  const int step = int(s.step);
  auto update_job = [&](std::size_t tid) {
    std::size_t i0, i1;
    model.param_range(tid, i0, i1);
    lay.for_each([&](const ParamTensor& t) {
      const std::size_t a = std::max(i0, t.offset), b = std::min(i1, t.offset + t.size());
      if (a >= b) return;
      adamw_update(B{}, s.params.data() + a, grads + a, s.m.data() + a, s.v.data() + a, b - a, lr, c.beta1,
                   c.beta2, c.eps, t.decay ? c.weight_decay : 0.0f, scale, step);
    });
  };
  model.parallel(update_job);
  model.phase_times().optimizer += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return float(norm);
}

// A device backend's Llama specialisation runs the whole step itself (Llama::train_step, e.g.
// backend/cuda/host.hpp), with the same semantics: a non-finite loss or gradient makes no update.
template <class B>
StepStats train_step(Llama<B>& model, TrainState<B>& s, const LrSchedule& sched,
                     const AdamWConfig& c, std::span<const MicroBatch> micro) {
  DMA_ASSERT(!micro.empty(), "train_step needs at least one micro-batch");
  if constexpr (B::is_device) {
    return model.train_step(s, sched, c, micro);
  } else {
    StepStats st;
    model.zero_grads();
    const float k = 1.0f / float(micro.size());
    for (const MicroBatch& mb : micro) {
      st.loss += k * model.forward(s.params.data(), mb.inputs, mb.targets, mb.batch, mb.T);
      model.backward(k);
    }
    st.lr = sched.at(s.step);
    // Numerical faults (model/guard.hpp): a non-finite loss or gradient norm leaves the state as it was.
    if (!std::isfinite(st.loss)) {
      st.skipped = true;
      return st;
    }
    st.grad_norm = adamw_step(model, s, model.grads(), st.lr, c);
    st.skipped = !std::isfinite(st.grad_norm);
    return st;
  }
}

}  // namespace dma::model
