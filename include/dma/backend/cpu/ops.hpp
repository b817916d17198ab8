// dma/backend/cpu/ops.hpp: all CPU ops of the proxy in one include, and the compile-time check
// that backend::Cpu provides every op model/ops.hpp lists. model/llama.hpp includes this for Cpu.
// Tested: the static_assert below; numerics in tests/reference/ and tests/unit/model_*.cpp.
#pragma once

#include "dma/backend/cpu/adamw.hpp"
#include "dma/backend/cpu/attention.hpp"
#include "dma/backend/cpu/crossentropy.hpp"
#include "dma/backend/cpu/embedding.hpp"
#include "dma/backend/cpu/matmul.hpp"
#include "dma/backend/cpu/norm.hpp"
#include "dma/backend/cpu/rope.hpp"
#include "dma/backend/cpu/swiglu.hpp"
#include "dma/model/ops.hpp"

static_assert(dma::model::ModelOps<dma::backend::Cpu>,
              "backend::Cpu must provide every op listed in dma/model/ops.hpp");
