// dma/model/step.hpp: the types of one training step, free of Eigen and of CUDA headers so
// that every backend's step shares them: AdamW's hyper-parameters, a micro-batch of host tokens
// and what a step reports. The CPU step is model/optim.hpp; the CUDA one backend/cuda/host.hpp.
#pragma once

#include <cstddef>

#include "dma/core/config.hpp"
#include "dma/core/types.hpp"

namespace dma::model {

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float weight_decay = 0.1f;  // on matrices only (ParamTensor::decay)
  float grad_clip = 1.0f;     // max global L2 norm; <= 0 disables clipping

  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("beta1", &AdamWConfig::beta1), field("beta2", &AdamWConfig::beta2),
                       field("eps", &AdamWConfig::eps), field("weight_decay", &AdamWConfig::weight_decay),
                       field("grad_clip", &AdamWConfig::grad_clip));
  }
};

// One micro-batch: inputs and targets [batch, T] (targets = inputs shifted by one position).
struct MicroBatch {
  const Token* inputs = nullptr;
  const Token* targets = nullptr;
  std::size_t batch = 0, T = 0;
};

struct StepStats {
  float loss = 0;       // mean over the micro-batches of their mean token loss (nats)
  float grad_norm = 0;  // before clipping
  float lr = 0;
  bool skipped = false;  // non-finite loss or gradient: no update was made (model/guard.hpp)
};

}  // namespace dma::model
