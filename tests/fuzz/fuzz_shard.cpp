// Fuzz target: token shards and held-out files (data/shard.hpp). The first byte's bit 1 picks
// the reader (train shard, memory-mapped; held-out documents), bit 0 the raw/framed view.
#include "dma/data/shard.hpp"
#include "dma/data/tokenizer.hpp"
#include "fuzz_common.hpp"

extern "C" int DMA_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  namespace d = dma::data;
  const auto in = dma_fuzz::view(data, size);
  const bool heldout = !in.empty() && (static_cast<unsigned char>(in[0]) & 2u);
  if (heldout) {
    const auto p = dma_fuzz::write_scratch("fuzz.docs", dma_fuzz::framed_or_raw(in, d::kHeldoutMagic, d::kHeldoutVersion));
    dma_fuzz::accept_or_refuse([&] {
      const auto h = d::HeldoutDocs::open(p);
      for (std::size_t i = 0; i < h.size(); ++i) (void)h.text(i), (void)h.id(i);
    });
  } else {
    const auto p = dma_fuzz::write_scratch("fuzz.tok", dma_fuzz::framed_or_raw(in, d::kTrainShardMagic, d::kTrainShardVersion));
    dma_fuzz::accept_or_refuse([&] { (void)d::TrainShard::open(p, d::ByteTokenizer{}); });
  }
  return 0;
}
