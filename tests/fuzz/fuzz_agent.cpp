// Fuzz target: agent checkpoints (agent/agent.hpp, Agent::load).
#include "dma/agent/agent.hpp"
#include "fuzz_common.hpp"

extern "C" int DMA_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  using A = dma::agent::Agent;
  const auto p = dma_fuzz::write_scratch("fuzz.agent",
                                         dma_fuzz::framed_or_raw(dma_fuzz::view(data, size), A::kMagic, A::kVersion));
  dma_fuzz::accept_or_refuse([&] { (void)A::load(p); });
  return 0;
}
