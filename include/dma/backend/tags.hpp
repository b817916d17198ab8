// dma/backend/tags.hpp: backend tag types. Every free-function op takes the tag first
// (RLtools style), so a CUDA overload can sit beside the CPU one without virtual dispatch.
// The tags are plain types; the CPU ops live in backend/cpu/, CUDA launches in backend/cuda/.
#pragma once

namespace dma::backend {

struct Cpu {
  static constexpr const char* name = "cpu";
  static constexpr bool is_device = false;
};

struct Cuda {
  static constexpr const char* name = "cuda";
  static constexpr bool is_device = true;
};

}  // namespace dma::backend
