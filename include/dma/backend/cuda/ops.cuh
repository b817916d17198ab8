// dma/backend/cuda/ops.cuh: every CUDA op of the proxy in one include (nvcc only, inside a .cu),
// and the compile-time check that backend::Cuda provides every op model/ops.hpp lists. The CUDA
// proxy (backend/cuda/llama.cuh) includes this. Tested: the static_assert below; numerics in
// tests/parity/cuda_ops.cu.
#pragma once

#include "dma/backend/cuda/adamw.cuh"
#include "dma/backend/cuda/attention.cuh"
#include "dma/backend/cuda/buffer.cuh"
#include "dma/backend/cuda/check.cuh"
#include "dma/backend/cuda/context.cuh"
#include "dma/backend/cuda/crossentropy.cuh"
#include "dma/backend/cuda/embedding.cuh"
#include "dma/backend/cuda/matmul.cuh"
#include "dma/backend/cuda/norm.cuh"
#include "dma/backend/cuda/rope.cuh"
#include "dma/backend/cuda/swiglu.cuh"
#include "dma/model/ops.hpp"

static_assert(dma::model::ModelOps<dma::backend::Cuda>,
              "backend::Cuda must provide every op listed in dma/model/ops.hpp");
