// dma/data/shard.hpp: token shards, between the prepared corpus and the mixture sampler.
// A train shard (NAME.train.tok) holds one domain's training documents as tokens, each document
// followed by EOS; it is memory-mapped and exposed as std::span<const Token> (the sampler takes
// one span per domain). A held-out file (NAME.heldout.docs) keeps held-out documents whole, as
// bytes, for scoring. Both use dma::io framing (magic, version, CRC-32) and record what made them;
// readers reject truncated, corrupted, foreign-version or foreign-tokenizer files with a dma::Error
// naming the file. write_shard_set() writes a whole space (shards + space.json); ShardSet opens it.
// Tested in tests/unit/data_shard.cpp.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/progress.hpp"
#include "dma/core/types.hpp"
#include "dma/data/corpus.hpp"
#include "dma/data/tokenizer.hpp"

namespace dma::data {

inline constexpr std::string_view kTrainShardMagic = "DMATOKS\n";
inline constexpr std::uint32_t kTrainShardVersion = 1;
inline constexpr std::string_view kHeldoutMagic = "DMAHELD\n";
inline constexpr std::uint32_t kHeldoutVersion = 1;

// Train shard payload (after the 20-byte frame header: magic, version, payload length):
//   string tokenizer id, u32 vocab size, u64 documents, u64 tokens, u32 pad, pad zero bytes,
//   tokens (u16, starting at a file offset that is a multiple of 8).
template <Tokenizer Tok>
std::string encode_train_shard(std::span<const Document> docs, const Tok& tok) {
  std::vector<Token> tokens;
  for (const auto& d : docs) {
    const auto t = tok.encode(d.text);
    tokens.insert(tokens.end(), t.begin(), t.end());
    tokens.push_back(static_cast<Token>(Tok::kEos));
  }
  io::Writer w;
  w.put_string(tok.id());
  w.put<std::uint32_t>(static_cast<std::uint32_t>(tok.vocab_size()));
  w.put<std::uint64_t>(docs.size());
  w.put<std::uint64_t>(tokens.size());
  const std::size_t header = kTrainShardMagic.size() + 4 + 8;
  const std::size_t at = header + w.bytes().size() + 4;
  const auto pad = static_cast<std::uint32_t>((8 - at % 8) % 8);
  w.put<std::uint32_t>(pad);
  w.bytes().append(pad, '\0');
  w.put_array(tokens.data(), tokens.size());
  return io::frame(kTrainShardMagic, kTrainShardVersion, w.bytes());
}

template <Tokenizer Tok>
void write_train_shard(const std::filesystem::path& path, std::span<const Document> docs, const Tok& tok) {
  io::atomic_write(path, encode_train_shard(docs, tok));
}

// A read-only memory map of a whole file; move-only.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::filesystem::path& path) : m_path(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path.string(), ": cannot open: ", std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      fail(path.string(), ": cannot stat");
    }
    m_size = static_cast<std::size_t>(st.st_size);
    if (m_size > 0) {
      void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        fail(path.string(), ": mmap failed: ", std::strerror(errno));
      }
      m_data = static_cast<const char*>(p);
    }
    ::close(fd);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept
      : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)), m_path(std::move(o.m_path)) {}
  MappedFile& operator=(MappedFile&& o) noexcept {
    if (this != &o) {
      unmap();
      m_data = std::exchange(o.m_data, nullptr);
      m_size = std::exchange(o.m_size, 0);
      m_path = std::move(o.m_path);
    }
    return *this;
  }
  ~MappedFile() { unmap(); }

  [[nodiscard]] std::string_view bytes() const noexcept { return {m_data, m_size}; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }

 private:
  void unmap() noexcept {
    if (m_data) ::munmap(const_cast<char*>(m_data), m_size);
    m_data = nullptr;
  }
  const char* m_data = nullptr;
  std::size_t m_size = 0;
  std::filesystem::path m_path;
};

// A memory-mapped train shard. open() checks the framing, the checksum (one pass over the file),
// the tokenizer id and that every token is inside the tokenizer's vocabulary.
class TrainShard {
 public:
  template <Tokenizer Tok>
  static TrainShard open(const std::filesystem::path& path, const Tok& tok) {
    TrainShard s;
    s.m_file = MappedFile(path);
    const std::string src = path.string();
    const std::string_view bytes = s.m_file.bytes();
    const std::string_view payload = io::unframe(bytes, kTrainShardMagic, kTrainShardVersion, src);
    io::Reader r(payload, src);
    s.m_tokenizer = r.get_string("tokenizer id", 256);
    if (s.m_tokenizer != tok.id())
      fail(src, ": field 'tokenizer id': written with tokenizer '", s.m_tokenizer, "', but read with '",
           tok.id(), "' (rebuild the shards with this tokenizer)");
    const auto vocab = r.get<std::uint32_t>("vocab size");
    if (vocab != tok.vocab_size())
      fail(src, ": field 'vocab size': ", vocab, " but the tokenizer has ", tok.vocab_size());
    s.m_documents = r.get<std::uint64_t>("documents");
    const auto n = r.get<std::uint64_t>("tokens");
    const auto pad = r.get<std::uint32_t>("pad");
    if (pad >= 8) fail(src, ": field 'pad': ", pad, " (expected < 8)");
    if (r.remaining() < pad || (r.remaining() - pad) / sizeof(Token) != n || (r.remaining() - pad) % sizeof(Token))
      fail(src, ": field 'tokens': header says ", n, " tokens but ", r.remaining() - std::min<std::size_t>(pad, r.remaining()),
           " bytes follow");
    const char* p = payload.data() + r.pos() + pad;
    if (reinterpret_cast<std::uintptr_t>(p) % alignof(Token) != 0) fail(src, ": tokens are not aligned");
    s.m_tokens = {reinterpret_cast<const Token*>(p), static_cast<std::size_t>(n)};
    std::size_t eos = 0;
    for (Token t : s.m_tokens) {
      if (t >= vocab) fail(src, ": token ", t, " is outside the vocabulary of ", vocab);
      eos += (t == static_cast<Token>(Tok::kEos));
    }
    if (eos != s.m_documents) fail(src, ": field 'documents': ", s.m_documents, " but the tokens hold ", eos, " EOS");
    return s;
  }

  [[nodiscard]] std::span<const Token> tokens() const noexcept { return m_tokens; }
  [[nodiscard]] std::uint64_t documents() const noexcept { return m_documents; }
  [[nodiscard]] const std::string& tokenizer() const noexcept { return m_tokenizer; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_file.path(); }

 private:
  MappedFile m_file;
  std::span<const Token> m_tokens;
  std::uint64_t m_documents = 0;
  std::string m_tokenizer;
};

// Held-out payload: u64 n, u64 id offsets[n+1], u64 text offsets[n+1], id bytes, text bytes.
inline std::string encode_heldout(std::span<const Document> docs) {
  io::Writer w;
  w.put<std::uint64_t>(docs.size());
  std::uint64_t off = 0;
  w.put(off);
  for (const auto& d : docs) w.put(off += d.id.size());
  off = 0;
  w.put(off);
  for (const auto& d : docs) w.put(off += d.text.size());
  for (const auto& d : docs) w.bytes() += d.id;
  for (const auto& d : docs) w.bytes() += d.text;
  return io::frame(kHeldoutMagic, kHeldoutVersion, w.bytes());
}

inline void write_heldout(const std::filesystem::path& path, std::span<const Document> docs) {
  io::atomic_write(path, encode_heldout(docs));
}

// Held-out documents, read whole into memory (they are small: ~5% of a domain, capped).
class HeldoutDocs {
 public:
  static HeldoutDocs open(const std::filesystem::path& path) {
    HeldoutDocs h;
    h.m_bytes = io::read_file(path);
    const std::string src = path.string();
    const std::string_view payload = io::unframe(h.m_bytes, kHeldoutMagic, kHeldoutVersion, src);
    io::Reader r(payload, src);
    const auto n = r.get_count("documents", payload.size() / 16);
    h.m_id_off.resize(n + 1);
    h.m_text_off.resize(n + 1);
    r.get_array(h.m_id_off.data(), n + 1, "id offsets");
    r.get_array(h.m_text_off.data(), n + 1, "text offsets");
    for (std::size_t i = 0; i < n; ++i)
      if (h.m_id_off[i] > h.m_id_off[i + 1] || h.m_text_off[i] > h.m_text_off[i + 1])
        fail(src, ": field 'offsets': not increasing at document ", i);
    if (h.m_id_off[0] != 0 || h.m_text_off[0] != 0 || h.m_id_off[n] + h.m_text_off[n] != r.remaining())
      fail(src, ": field 'offsets': they cover ", h.m_id_off[n] + h.m_text_off[n], " bytes but ", r.remaining(),
           " follow");
    h.m_ids_at = static_cast<std::size_t>(payload.data() - h.m_bytes.data()) + r.pos();
    h.m_texts_at = h.m_ids_at + h.m_id_off[n];
    return h;
  }

  [[nodiscard]] std::size_t size() const noexcept { return m_text_off.empty() ? 0 : m_text_off.size() - 1; }
  [[nodiscard]] std::string_view id(std::size_t i) const {
    DMA_ASSERT(i < size(), "held-out document index out of range");
    return std::string_view(m_bytes).substr(m_ids_at + m_id_off[i], m_id_off[i + 1] - m_id_off[i]);
  }
  [[nodiscard]] std::string_view text(std::size_t i) const {
    DMA_ASSERT(i < size(), "held-out document index out of range");
    return std::string_view(m_bytes).substr(m_texts_at + m_text_off[i], m_text_off[i + 1] - m_text_off[i]);
  }
  [[nodiscard]] std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < size(); ++i) out.emplace_back(text(i));
    return out;
  }
  [[nodiscard]] std::size_t bytes() const noexcept { return m_text_off.empty() ? 0 : m_text_off.back(); }

 private:
  std::string m_bytes;
  std::vector<std::uint64_t> m_id_off, m_text_off;
  std::size_t m_ids_at = 0, m_texts_at = 0;  // where ids and texts start inside m_bytes
};

// One domain's shards in a folder: DIR/NAME.train.tok and DIR/NAME.heldout.docs.
template <Tokenizer Tok>
void write_domain_shards(const std::filesystem::path& dir, const std::string& name, std::span<const Document> train,
                         std::span<const Document> heldout, const Tok& tok) {
  write_train_shard(dir / (name + ".train.tok"), train, tok);
  write_heldout(dir / (name + ".heldout.docs"), heldout);
}

// Writes the shards of any space whose domains can list their documents (space.documents(i)
// returning a data::Split: space::Manifest, TwoField, KdSpace) and its space.json index.
template <class Space, Tokenizer Tok = ByteTokenizer>
  requires DomainSpace<Space> && requires(const Space& s) {
    { s.documents(std::size_t{}) } -> std::convertible_to<Split>;
  }
void write_shard_set(const Space& space, const std::filesystem::path& dir, const Tok& tok = {},
                     bool show_progress = false) {
  std::filesystem::create_directories(dir);
  Json domains = Json::array();
  Progress progress("shards", space.size(), 1.0, show_progress);
  for (std::size_t i = 0; i < space.size(); ++i) {
    const Split docs = space.documents(i);
    const std::string name = space.name(i);
    write_domain_shards(dir, name, docs.train, docs.heldout, tok);
    std::size_t tokens = 0;
    for (const auto& d : docs.train) tokens += tok.encode(d.text).size() + 1;
    domains.push_back({{"name", name}, {"field", to_string(space.field(i))},
                       {"train", dma::detail::concat(name, ".train.tok")}, {"heldout", dma::detail::concat(name, ".heldout.docs")},
                       {"tokens", tokens}, {"documents", docs.train.size()}, {"heldout_documents", docs.heldout.size()}});
    progress.tick(name);
  }
  save_json(dir / "space.json", {{"format", "dma-shards"}, {"version", 1}, {"tokenizer", tok.id()}, {"domains", domains}});
}

// A folder of shards with its index, space.json:
//   {"format": "dma-shards", "version": 1, "tokenizer": "byte-v1",
//    "domains": [{"name", "field", "train", "heldout", "tokens", "documents"}]}
// (the "domains" array is also a dma::space::RuntimeSpace description).
class ShardSet {
 public:
  struct Entry {
    DomainInfo info;
    TrainShard train;
    HeldoutDocs heldout;
  };

  template <Tokenizer Tok>
  static ShardSet open(const std::filesystem::path& dir, const Tok& tok) {
    const auto index = dir / "space.json";
    const Json j = load_json(index);
    const std::string src = index.string();
    // (typed checks, not Json::value: a field of another JSON type must give dma::Error, not type_error)
    if (!j.is_object() || !j.contains("format") || j["format"] != "dma-shards")
      fail(src, ": field 'format': expected \"dma-shards\"");
    if (!j.contains("version") || j["version"] != 1) fail(src, ": field 'version': expected 1");
    if (!j.contains("domains") || !j["domains"].is_array() || j["domains"].empty())
      fail(src, ": field 'domains': expected a non-empty array");
    ShardSet s;
    for (std::size_t i = 0; i < j["domains"].size(); ++i) {
      const Json& d = j["domains"][i];
      const std::string where = src + ": domains[" + std::to_string(i) + "]";
      for (const char* k : {"name", "field", "train", "heldout"})
        if (!d.contains(k) || !d[k].is_string()) fail(where, ".", k, ": expected a string");
      const std::string field = d["field"].get<std::string>();
      if (field != "source" && field != "target")
        fail(where, ".field: expected \"source\" or \"target\", got \"", field, "\"");
      Entry e{{d["name"].get<std::string>(), field == "target" ? Field::Target : Field::Source},
              TrainShard::open(dir / d["train"].get<std::string>(), tok),
              HeldoutDocs::open(dir / d["heldout"].get<std::string>())};
      s.m_entries.push_back(std::move(e));
    }
    return s;
  }

  [[nodiscard]] std::size_t size() const noexcept { return m_entries.size(); }
  [[nodiscard]] std::string name(std::size_t i) const { return m_entries.at(i).info.name; }
  [[nodiscard]] Field field(std::size_t i) const { return m_entries.at(i).info.field; }
  [[nodiscard]] const Entry& operator[](std::size_t i) const { return m_entries.at(i); }
  // One span per domain, in order: what MixtureSampler takes.
  [[nodiscard]] std::vector<std::span<const Token>> train_spans() const {
    std::vector<std::span<const Token>> out;
    for (const auto& e : m_entries) out.push_back(e.train.tokens());
    return out;
  }
  [[nodiscard]] std::vector<DomainInfo> domains() const {
    std::vector<DomainInfo> out;
    for (const auto& e : m_entries) out.push_back(e.info);
    return out;
  }

 private:
  std::vector<Entry> m_entries;
};
static_assert(DomainSpace<ShardSet>);

}  // namespace dma::data
