// dma/collect/store.hpp: the trajectory store, an append-only file of Trajectory records.
// Layout: a header framed by io::frame (magic "DMATRAJS", version, schema JSON, CRC-32), then
// records, each "TREC" + u64 payload length + payload + CRC-32 of the payload. An append is
// durable when append() returns (write + fsync). read_store() rejects a truncated file or a bad
// checksum with a dma::Error naming the file, the record and the problem. StoreWriter::open
// (append mode) recovers from a crash: if the LAST record is torn (incomplete, or complete but
// failing its checksum), the file is truncated back to the end of the last good record and the
// count of dropped bytes is reported; damage before the last record is never "repaired" (error).
// Tested in tests/unit/collect_store.cpp (round trip, truncation, bit flips, torn-tail recovery).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/types.hpp"

namespace dma::collect {

inline constexpr std::string_view kStoreMagic = "DMATRAJS";
inline constexpr std::uint32_t kStoreVersion = 1;
inline constexpr std::string_view kRecordMagic = "TREC";

namespace detail {
inline void put_feedback(io::Writer& w, const Feedback& f) {
  w.put<std::uint64_t>(f.loss.size());
  w.put_array(f.loss.data(), f.loss.size());
  w.put<std::uint64_t>(f.score.size());
  w.put_array(f.score.data(), f.score.size());
  for (std::size_t k = 0; k < f.score.size(); ++k) {
    w.put<std::uint8_t>(std::uint8_t(f.score_field.at(k)));
    w.put_string(k < f.score_name.size() ? f.score_name[k] : std::string());
  }
  w.put(f.tokens);
  w.put(f.flops);
  w.put(f.seconds);
}
inline Feedback get_feedback(io::Reader& r) {
  Feedback f;
  f.loss.resize(r.get_count("loss count", 1u << 16));
  r.get_array(f.loss.data(), f.loss.size(), "loss");
  f.score.resize(r.get_count("score count", 1u << 16));
  r.get_array(f.score.data(), f.score.size(), "score");
  for (double x : f.loss)  // numerical faults never enter a store (model/guard.hpp): a NaN here is damage
    if (!std::isfinite(x)) fail(r.source(), ": field 'loss': expected finite values, got ", x);
  for (double x : f.score)
    if (!std::isfinite(x)) fail(r.source(), ": field 'score': expected finite values, got ", x);
  for (std::size_t k = 0; k < f.score.size(); ++k) {
    const auto fld = r.get<std::uint8_t>("score field");
    if (fld > 1) fail(r.source(), ": field 'score field': expected 0 (source) or 1 (target), got ", int(fld));
    f.score_field.push_back(Field(fld));
    f.score_name.push_back(r.get_string("score name"));
  }
  f.tokens = r.get<double>("tokens");
  f.flops = r.get<double>("flops");
  f.seconds = r.get<double>("seconds");
  return f;
}
}  // namespace detail

inline std::string serialize_trajectory(const Trajectory& tr) {
  io::Writer w;
  w.put<std::uint64_t>(tr.id);
  w.put<std::uint64_t>(tr.episode_seed);
  w.put_string(tr.generator);
  const EpisodeSpec& s = tr.history.spec;
  w.put<std::uint64_t>(s.domains.size());
  for (const auto& d : s.domains) {
    w.put_string(d.name);
    w.put<std::uint8_t>(std::uint8_t(d.field));
  }
  w.put<std::uint64_t>(s.stages);
  w.put(s.target_weight);
  detail::put_feedback(w, tr.history.initial);
  w.put<std::uint64_t>(tr.history.steps.size());
  for (const auto& st : tr.history.steps) {
    w.put<std::uint64_t>(st.mixture.size());
    w.put_array(st.mixture.data(), st.mixture.size());
    detail::put_feedback(w, st.feedback);
    w.put(st.reward);
  }
  return std::move(w.bytes());
}

inline Trajectory deserialize_trajectory(std::string_view bytes, const std::string& source) {
  io::Reader r(bytes, source);
  Trajectory tr;
  tr.id = r.get<std::uint64_t>("id");
  tr.episode_seed = r.get<std::uint64_t>("episode seed");
  tr.generator = r.get_string("generator");
  EpisodeSpec& s = tr.history.spec;
  const auto D = r.get_count("domain count", 1u << 16);
  for (std::size_t i = 0; i < D; ++i) {
    DomainInfo d;
    d.name = r.get_string("domain name");
    const auto f = r.get<std::uint8_t>("domain field");
    if (f > 1) fail(source, ": field 'domain field': expected 0 or 1, got ", int(f));
    d.field = Field(f);
    s.domains.push_back(std::move(d));
  }
  s.stages = r.get<std::uint64_t>("stages");
  s.target_weight = r.get<double>("target weight");
  tr.history.initial = detail::get_feedback(r);
  const auto S = r.get_count("step count", 1u << 20);
  for (std::size_t t = 0; t < S; ++t) {
    Step st;
    st.mixture.resize(r.get_count("mixture size", 1u << 16));
    if (st.mixture.size() != D)
      fail(source, ": field 'mixture size': expected ", D, " weights (one per domain), got ", st.mixture.size());
    r.get_array(st.mixture.data(), st.mixture.size(), "mixture");
    for (double x : st.mixture)
      if (!(x >= 0) || !std::isfinite(x)) fail(source, ": field 'mixture': expected finite weights >= 0, got ", x);
    st.feedback = detail::get_feedback(r);
    st.reward = r.get<double>("reward");
    if (!std::isfinite(st.reward)) fail(source, ": field 'reward': expected a finite value, got ", st.reward);
    tr.history.steps.push_back(std::move(st));
  }
  if (r.remaining() != 0) fail(source, ": ", r.remaining(), " unexpected bytes after the trajectory");
  return tr;
}

namespace detail {
inline std::string default_schema() {
  return Json{{"format", "dma.trajectory_store"},
              {"version", kStoreVersion},
              {"record", "TREC, u64 length, payload, crc32(payload)"},
              {"payload",
               "id u64, episode_seed u64, generator str, D u64, D x (name str, field u8), stages "
               "u64, target_weight f64, initial feedback, S u64, S x (D mixture f64, feedback, "
               "reward f64)"},
              {"feedback",
               "n u64, loss f64[n], p u64, score f64[p], p x (field u8, name str), tokens, flops, "
               "seconds f64"},
              {"endianness", "little"}}
      .dump();
}

struct ScanResult {
  Json schema;
  std::vector<Trajectory> records;
  std::size_t good_end = 0;   // offset just past the last good record
  std::size_t file_size = 0;
  std::string tail_problem;   // non-empty when the last record is torn
};

// Strict scan unless allow_torn_tail: then a bad LAST record is reported in tail_problem.
inline ScanResult scan_store(const std::filesystem::path& path, bool allow_torn_tail) {
  const std::string bytes = io::read_file(path);
  const std::string src = path.string();
  ScanResult res;
  res.file_size = bytes.size();
  // Header: magic, version, u64 length, payload, crc (io::frame), followed by records.
  io::Reader hr(bytes, src);
  hr.expect_magic(kStoreMagic);
  hr.expect_version(kStoreVersion);
  const auto hlen = hr.get<std::uint64_t>("header length");
  if (hlen > (1u << 20) || hlen + 4 > hr.remaining())
    fail(src, ": header length ", hlen, " does not fit the file (truncated header)");
  const std::size_t hdr_end = hr.pos() + hlen + 4;
  io::unframe(std::string_view(bytes).substr(0, hdr_end), kStoreMagic, kStoreVersion, src + " (header)");
  res.schema = parse_json(std::string_view(bytes).substr(hr.pos(), hlen), src + " (header schema)");
  std::size_t pos = hdr_end;
  res.good_end = pos;
  std::size_t index = 0;
  while (pos < bytes.size()) {
    const std::string where = src + ": record " + std::to_string(index) + " at offset " + std::to_string(pos);
    auto problem = [&](const std::string& what) {
      if (allow_torn_tail) {
        res.tail_problem = where + ": " + what;
        return;
      }
      fail(where, ": ", what);
    };
    const std::size_t left = bytes.size() - pos;
    if (left < 12) {
      problem("truncated record header (" + std::to_string(left) + " bytes, expected 12)");
      return res;
    }
    if (std::string_view(bytes).substr(pos, 4) != kRecordMagic) {
      // A bad marker is never a torn tail of an append: refuse even in recovery mode.
      fail(where, ": bad record marker (expected \"TREC\"; corrupted file)");
    }
    std::uint64_t len;
    std::memcpy(&len, bytes.data() + pos + 4, 8);
    if (len > left - 12 || left - 12 - len < 4) {
      problem("truncated (record says " + std::to_string(len) + " bytes, " +
              std::to_string(left - 12) + " bytes remain)");
      return res;
    }
    const std::string_view payload = std::string_view(bytes).substr(pos + 12, len);
    std::uint32_t crc;
    std::memcpy(&crc, bytes.data() + pos + 12 + len, 4);
    const bool last = pos + 12 + len + 4 == bytes.size();
    if (io::crc32(payload.data(), payload.size()) != crc) {
      if (last) {
        problem("checksum mismatch (corrupted record)");
        return res;
      }
      fail(where, ": checksum mismatch (corrupted record)");
    }
    res.records.push_back(deserialize_trajectory(payload, where));
    pos += 12 + len + 4;
    res.good_end = pos;
    ++index;
  }
  return res;
}
}  // namespace detail

// Reads every record; throws dma::Error on any damage (strict).
inline std::vector<Trajectory> read_store(const std::filesystem::path& path) {
  return detail::scan_store(path, false).records;
}
inline Json read_store_schema(const std::filesystem::path& path) { return detail::scan_store(path, false).schema; }

class StoreWriter {
 public:
  // Creates a new store (atomically; refuses to overwrite unless `overwrite`).
  static StoreWriter create(const std::filesystem::path& path, const Json& metadata = Json::object(),
                            bool overwrite = false) {
    if (!overwrite && std::filesystem::exists(path))
      fail(path.string(), ": trajectory store exists (open it in append mode, or pass overwrite)");
    Json schema = parse_json(detail::default_schema(), "schema");
    schema["metadata"] = metadata;
    io::atomic_write(path, io::frame(kStoreMagic, kStoreVersion, schema.dump()));
    return StoreWriter(path, 0, 0);
  }
  // Opens an existing store for appending, recovering a torn last record (see the file comment).
  static StoreWriter open(const std::filesystem::path& path) {
    auto scan = detail::scan_store(path, true);
    std::size_t dropped = 0;
    if (!scan.tail_problem.empty()) {
      dropped = scan.file_size - scan.good_end;
      if (::truncate(path.c_str(), off_t(scan.good_end)) != 0)
        fail(path.string(), ": cannot truncate the torn tail: ", std::strerror(errno));
    }
    StoreWriter w(path, scan.records.size(), dropped);
    w.m_recovered = scan.tail_problem;
    return w;
  }

  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;
  StoreWriter(StoreWriter&& o) noexcept
      : m_path(std::move(o.m_path)), m_fd(std::exchange(o.m_fd, -1)), m_count(o.m_count),
        m_dropped(o.m_dropped), m_recovered(std::move(o.m_recovered)) {}
  ~StoreWriter() {
    if (m_fd >= 0) ::close(m_fd);
  }

  // Appends one record; durable (fsync) when it returns. With sync = false the record is only
  // written (group commit: append several, then sync() once; none is durable before that).
  void append(const Trajectory& tr, bool sync = true) {
    const std::string payload = serialize_trajectory(tr);
    io::Writer w;
    w.bytes().append(kRecordMagic.data(), kRecordMagic.size());
    w.put<std::uint64_t>(payload.size());
    w.bytes().append(payload);
    w.put<std::uint32_t>(io::crc32(payload.data(), payload.size()));
    const std::string& b = w.bytes();
    std::size_t off = 0;
    while (off < b.size()) {
      const ssize_t n = ::write(m_fd, b.data() + off, b.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(m_path.string(), ": append of record ", m_count, " failed: ", std::strerror(errno));
      }
      off += std::size_t(n);
    }
    if (sync) io::fsync_fd(m_fd, m_path);
    ++m_count;
  }
  // Makes every record appended so far durable.
  void sync() { io::fsync_fd(m_fd, m_path); }

  [[nodiscard]] std::size_t count() const noexcept { return m_count; }
  [[nodiscard]] std::size_t dropped_bytes() const noexcept { return m_dropped; }
  [[nodiscard]] const std::string& recovered() const noexcept { return m_recovered; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

 private:
  StoreWriter(std::filesystem::path p, std::size_t count, std::size_t dropped)
      : m_path(std::move(p)), m_count(count), m_dropped(dropped) {
    m_fd = ::open(m_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (m_fd < 0) fail(m_path.string(), ": cannot open for appending: ", std::strerror(errno));
  }
  std::filesystem::path m_path;
  int m_fd = -1;
  std::size_t m_count = 0, m_dropped = 0;
  std::string m_recovered;
};

}  // namespace dma::collect
