// Fuzz target: trajectory stores (collect/store.hpp): the strict reader and the crash-recovery
// scan that StoreWriter::open uses (which must never "repair" more than a torn last record).
#include "dma/collect/store.hpp"
#include "fuzz_common.hpp"

extern "C" int DMA_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  const auto in = dma_fuzz::view(data, size);
  const auto p = dma_fuzz::write_scratch("fuzz.dmat", in);
  dma_fuzz::accept_or_refuse([&] { (void)dma::collect::read_store(p); });
  dma_fuzz::accept_or_refuse([&] {
    const auto scan = dma::collect::detail::scan_store(p, true);
    if (scan.good_end > scan.file_size) std::abort();
  });
  // A record payload alone, behind a valid checksum.
  dma_fuzz::accept_or_refuse([&] { (void)dma::collect::deserialize_trajectory(in, "fuzz record"); });
  return 0;
}
