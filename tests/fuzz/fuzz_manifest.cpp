// Fuzz target: corpus manifests (data/manifest.hpp) and shard-set indexes' JSON (parse only;
// the files they name do not exist, so check_files must refuse cleanly).
#include "dma/data/manifest.hpp"
#include "fuzz_common.hpp"

extern "C" int DMA_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  const auto in = dma_fuzz::view(data, size);
  dma_fuzz::accept_or_refuse([&] {
    const auto m = dma::data::CorpusManifest::parse(dma::parse_json(in, "manifest.json"), dma_fuzz::scratch("manifest.json"));
    dma_fuzz::accept_or_refuse([&] { m.check_files(); });
  });
  return 0;
}
