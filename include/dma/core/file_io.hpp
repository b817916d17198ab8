// dma/core/file_io.hpp: files as contracts. CRC-32 checksums, atomic writes (temp file, fsync,
// rename: a reader sees the old file or the new one, never a torn one), and a bounds-checked
// binary reader whose errors name the file, the field and what was expected. Every on-disk
// format of dma (checkpoints, shards, trajectory stores, agent files) is built from these.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dma/core/error.hpp"

namespace dma::io {

// CRC-32 (IEEE 802.3 polynomial, reflected), table built at compile time.
namespace detail {
constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
inline constexpr auto kCrcTable = make_crc_table();
}  // namespace detail

inline std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = detail::kCrcTable[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

inline void fsync_fd(int fd, const std::filesystem::path& p) {
  if (::fsync(fd) != 0) fail(p.string(), ": fsync failed: ", std::strerror(errno));
}

// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename, fsync
// of the directory. Throws dma::Error (e.g. disk full) and leaves the old file intact.
inline void atomic_write(const std::filesystem::path& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path tmp = dir / (path.filename().string() + ".tmp." + std::to_string(::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp.string(), ": cannot create: ", std::strerror(errno));
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(path.string(), ": write failed (", std::strerror(e), "); the previous file is kept");
    }
    off += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path.string(), ": fsync failed (", std::strerror(e), "); the previous file is kept");
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    fail(path.string(), ": rename failed: ", std::strerror(e));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open for reading");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path.string(), ": read error");
  return s;
}

// Appends little-endian PODs and strings to a byte buffer.
class Writer {
 public:
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    m_buf.append(p, sizeof(T));
  }
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void put_array(const T* data, std::size_t n) {
    m_buf.append(reinterpret_cast<const char*>(data), n * sizeof(T));
  }
  void put_string(std::string_view s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    m_buf.append(s.data(), s.size());
  }
  [[nodiscard]] const std::string& bytes() const noexcept { return m_buf; }
  std::string& bytes() noexcept { return m_buf; }

 private:
  std::string m_buf;
};

// Reads what Writer wrote; every read is bounds-checked and names the file and field.
class Reader {
 public:
  Reader(std::string_view bytes, std::string source) : m_bytes(bytes), m_source(std::move(source)) {}

  template <class T>
    requires std::is_trivially_copyable_v<T>
  T get(std::string_view field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, m_bytes.data() + m_pos, sizeof(T));
    m_pos += sizeof(T);
    return v;
  }
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void get_array(T* out, std::size_t n, std::string_view field) {
    if (n > (m_bytes.size() - m_pos) / sizeof(T))
      fail(m_source, ": field '", field, "': expected ", n, " elements of ", sizeof(T),
           " bytes at offset ", m_pos, ", but only ", m_bytes.size() - m_pos,
           " bytes remain (truncated file?)");
    if (n == 0) return;  // `out` may be null (an empty vector): memcpy(nullptr, ..., 0) is UB
    std::memcpy(out, m_bytes.data() + m_pos, n * sizeof(T));
    m_pos += n * sizeof(T);
  }
  std::string get_string(std::string_view field, std::size_t max_len = 1u << 20) {
    const auto n = get<std::uint32_t>(field);
    if (n > max_len) fail(m_source, ": field '", field, "': length ", n, " exceeds limit ", max_len);
    need(n, field);
    std::string s(m_bytes.substr(m_pos, n));
    m_pos += n;
    return s;
  }
  // Reads a count and checks it against a sanity bound before anything is allocated.
  std::uint64_t get_count(std::string_view field, std::uint64_t max) {
    const auto n = get<std::uint64_t>(field);
    if (n > max) fail(m_source, ": field '", field, "': count ", n, " exceeds limit ", max);
    return n;
  }
  void expect_magic(std::string_view magic) {
    need(magic.size(), "magic");
    if (m_bytes.substr(m_pos, magic.size()) != magic)
      fail(m_source, ": not a ", magic, " file (bad magic)");
    m_pos += magic.size();
  }
  void expect_version(std::uint32_t version) {
    const auto v = get<std::uint32_t>("version");
    if (v != version)
      fail(m_source, ": unsupported version ", v, " (this build reads version ", version, ")");
  }
  [[nodiscard]] std::size_t pos() const noexcept { return m_pos; }
  [[nodiscard]] std::size_t remaining() const noexcept { return m_bytes.size() - m_pos; }
  [[nodiscard]] const std::string& source() const noexcept { return m_source; }

 private:
  void need(std::size_t n, std::string_view field) const {
    if (n > m_bytes.size() - m_pos)
      fail(m_source, ": field '", field, "': expected ", n, " bytes at offset ", m_pos,
           ", but only ", m_bytes.size() - m_pos, " remain (truncated file?)");
  }
  std::string_view m_bytes;
  std::size_t m_pos = 0;
  std::string m_source;
};

// The framing every dma file uses: magic, version, payload length, payload, CRC-32 of payload.
inline std::string frame(std::string_view magic, std::uint32_t version, std::string_view payload) {
  Writer w;
  w.bytes().append(magic.data(), magic.size());
  w.put<std::uint32_t>(version);
  w.put<std::uint64_t>(payload.size());
  w.bytes().append(payload.data(), payload.size());
  w.put<std::uint32_t>(crc32(payload.data(), payload.size()));
  return std::move(w.bytes());
}

// Checks the framing and returns the payload (a view into `bytes`).
inline std::string_view unframe(std::string_view bytes, std::string_view magic,
                                std::uint32_t version, const std::string& source) {
  Reader r(bytes, source);
  r.expect_magic(magic);
  r.expect_version(version);
  const auto n = r.get<std::uint64_t>("payload length");
  if (r.remaining() < 4 || n != r.remaining() - 4)  // (not n + 4: a huge n would wrap around)
    fail(source, ": payload length ", n, " does not match file size (", r.remaining(),
         " bytes follow the header; truncated or extended file)");
  const std::string_view payload = bytes.substr(r.pos(), n);
  std::uint32_t stored;
  std::memcpy(&stored, bytes.data() + r.pos() + n, 4);
  if (crc32(payload.data(), payload.size()) != stored)
    fail(source, ": checksum mismatch (file is corrupted)");
  return payload;
}

}  // namespace dma::io
