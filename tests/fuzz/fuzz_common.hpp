// tests/fuzz/fuzz_common.hpp: what every libFuzzer target of dma shares. A reader may accept an
// input or throw dma::Error; anything else (another exception, a crash, a sanitizer report, an
// allocation past -malloc_limit_mb) is a bug that libFuzzer reports. Framed formats get two
// views of one input (first byte even: the raw file; odd: the rest as a payload framed with the
// right magic, version and CRC) so the fuzzer reaches the field checks behind the checksum.
// Built by scripts/fuzz.sh (clang, -DDMA_BUILD_FUZZ=ON); replayed by g++ in
// tests/unit/reliability_fuzz_replay.cpp.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"

namespace dma_fuzz {

inline std::string_view view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The raw file, or a valid frame around the payload (see the file comment).
inline std::string framed_or_raw(std::string_view in, std::string_view magic, std::uint32_t version) {
  if (in.empty() || (static_cast<unsigned char>(in[0]) & 1u) == 0) return std::string(in.substr(in.empty() ? 0 : 1));
  return dma::io::frame(magic, version, in.substr(1));
}

// A per-process scratch file (readers that take a path: mmap, gzip, scans).
inline std::filesystem::path scratch(std::string_view name) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("dma_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir / std::string(name);
}
inline std::filesystem::path write_scratch(std::string_view name, std::string_view bytes) {
  const auto p = scratch(name);
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) std::abort();
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return p;
}

// Runs one reader call: dma::Error is the expected way to refuse input.
template <class F>
void accept_or_refuse(F&& f) {
  try {
    f();
  } catch (const dma::Error&) {
  }
}

}  // namespace dma_fuzz

// Targets define their body with DMA_FUZZ_TARGET(name); the replay test renames the entry point.
#ifndef DMA_FUZZ_ENTRY
#define DMA_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif
