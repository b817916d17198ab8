// Fuzz target: benchmark files (data/benchmarks.hpp): GSM8K-format JSONL and HumanEval JSONL,
// plain or gzip (bit 0 of the first byte: write the rest as is, or gzip it first).
#include <zlib.h>

#include "dma/data/benchmarks.hpp"
#include "fuzz_common.hpp"

extern "C" int DMA_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  const auto in = dma_fuzz::view(data, size);
  const std::string_view body = in.empty() ? in : in.substr(1);
  const auto plain = dma_fuzz::write_scratch("fuzz.jsonl", body);
  dma_fuzz::accept_or_refuse([&] { (void)dma::data::load_gsm_jsonl(plain); });
  std::filesystem::path gz = plain;
  if (!in.empty() && (static_cast<unsigned char>(in[0]) & 1u)) {
    gz = dma_fuzz::scratch("fuzz.jsonl.gz");
    gzFile f = gzopen(gz.c_str(), "wb");
    gzwrite(f, body.data(), unsigned(body.size()));
    gzclose(f);
  }
  dma_fuzz::accept_or_refuse([&] { (void)dma::data::load_humaneval(gz); });
  return 0;
}
