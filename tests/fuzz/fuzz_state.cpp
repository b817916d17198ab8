// Fuzz target: proxy checkpoints (model/state.hpp, TrainState::deserialize).
#include "dma/model/state.hpp"
#include "fuzz_common.hpp"

extern "C" int DMA_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  using S = dma::model::TrainState<>;
  const std::string bytes = dma_fuzz::framed_or_raw(dma_fuzz::view(data, size), S::kMagic, S::kVersion);
  dma_fuzz::accept_or_refuse([&] { (void)S::deserialize(bytes, "fuzz.ckpt"); });
  return 0;
}
