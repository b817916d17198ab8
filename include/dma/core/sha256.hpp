// dma/core/sha256.hpp: SHA-256 (FIPS 180-4), incremental, and a streaming file digest.
// Used by data/manifest.hpp to verify the corpus files that scripts/prepare_corpus.py hashed
// (CorpusManifest::verify_sha256), so an audit needs no `sha256sum`. Small and dependency-free
// on purpose; tested against the FIPS 180-2 / NIST example vectors and a million-'a' message
// in tests/unit/reliability_readers.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "dma/core/error.hpp"

namespace dma {

class Sha256 {
 public:
  Sha256() { reset(); }

  void reset() {
    m_h = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
           0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    m_len = 0;
    m_fill = 0;
  }

  void update(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    m_len += n;
    if (m_fill > 0) {
      const std::size_t take = std::min(n, std::size_t(64) - m_fill);
      std::memcpy(m_block.data() + m_fill, p, take);
      m_fill += take;
      p += take;
      n -= take;
      if (m_fill < 64) return;
      compress(m_block.data());
      m_fill = 0;
    }
    for (; n >= 64; n -= 64, p += 64) compress(p);
    std::memcpy(m_block.data(), p, n);
    m_fill = n;
  }
  void update(std::string_view s) { update(s.data(), s.size()); }

  // Pads (0x80, zeros, 64-bit big-endian bit length) and returns the digest; resets the state.
  std::array<std::uint8_t, 32> finish() {
    const std::uint64_t bits = m_len * 8;
    const unsigned char one = 0x80, zero = 0;
    update(&one, 1);
    while (m_fill != 56) update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(len, 8);
    std::array<std::uint8_t, 32> out{};
    for (int i = 0; i < 8; ++i)
      for (int b = 0; b < 4; ++b) out[std::size_t(4 * i + b)] = std::uint8_t(m_h[std::size_t(i)] >> (24 - 8 * b));
    reset();
    return out;
  }
  std::string hex() {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    for (std::uint8_t b : finish()) {
      s.push_back(kDigits[b >> 4]);
      s.push_back(kDigits[b & 15]);
    }
    return s;
  }

 private:
  static constexpr std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void compress(const unsigned char* p) {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t(p[4 * i]) << 24 | std::uint32_t(p[4 * i + 1]) << 16 |
             std::uint32_t(p[4 * i + 2]) << 8 | std::uint32_t(p[4 * i + 3]);
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = m_h[0], b = m_h[1], c = m_h[2], d = m_h[3], e = m_h[4], f = m_h[5], g = m_h[6], h = m_h[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    m_h[0] += a; m_h[1] += b; m_h[2] += c; m_h[3] += d;
    m_h[4] += e; m_h[5] += f; m_h[6] += g; m_h[7] += h;
  }

  std::array<std::uint32_t, 8> m_h{};
  std::array<unsigned char, 64> m_block{};
  std::uint64_t m_len = 0;
  std::size_t m_fill = 0;
};

inline std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

// Streams a file through SHA-256 in 1 MiB chunks (corpus files can be large).
inline std::string sha256_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(path.string(), ": cannot open for reading (sha256)");
  Sha256 h;
  std::string buf(1u << 20, '\0');
  for (;;) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), f);
    h.update(buf.data(), n);
    if (n < buf.size()) break;
  }
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) fail(path.string(), ": read error (sha256)");
  return h.hex();
}

}  // namespace dma
