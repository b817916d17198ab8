// dma/data/sampler.hpp: the mixture sampler. Draws training batches (B rows of T+1 tokens) from
// one token span per domain with the requested domain weights; sits between the token shards
// (data/shard.hpp) and the environment's training step. Rows go to domains by smooth weighted
// round robin (exact shares over time), windows inside a domain by a keyed permutation per epoch
// (exact coverage and epoch counting), with a per-domain pool limit and a repetition cap. Its
// state serialises for exact resume. Tested in tests/unit/data_sampler.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"
#include "dma/space/simplex.hpp"

namespace dma::data {

// What happens when drawing a row would take a domain past `max_epochs` repetitions.
enum class CapPolicy : std::uint8_t {
  Error = 0,  // throw dma::Error naming the domain, its pool and the cap
  Clamp = 1,  // mark the domain exhausted and give its share to the other weighted domains
};

struct SamplerConfig {
  std::size_t batch = 8;     // B: rows per batch
  std::size_t context = 128; // T: each row holds T+1 tokens (inputs and shifted targets)
  // Per-domain pool limit in tokens: only the first N tokens of a domain are used (0 or a
  // missing entry = the whole domain). The environment hides a limited target pool this way.
  std::vector<std::size_t> pool_limit;
  // Most repetitions (epochs = tokens read / pool tokens) allowed per domain.
  double max_epochs = std::numeric_limits<double>::infinity();
  CapPolicy on_cap = CapPolicy::Error;
};

// Draws batches from D domains.
//
// Row allocation [ours]: smooth weighted round robin. Every row, each domain's credit grows by
// its weight and the domain with the largest credit (ties: lower index) wins the row and pays 1.
// The credits always sum to 0, so after n rows every domain's row count is within a small
// constant (< D rows) of w_d * n: the realised shares match the weights exactly over time, with
// no randomness in the allocation. Credits restart at 0 when the weights are set (one stage).
//
// Windows inside a domain [ours]: the pool of N tokens is read as a cycle (the token after the
// last is the first) in K = max(1, floor(N / (T+1))) windows of T+1 tokens per epoch. Epoch e
// starts at a keyed offset o(d,e) in [0, N) and visits the K windows in the order of a keyed
// permutation pi(d,e) (4-round Feistel network with cycle walking), so that every epoch covers
// the pool once in a fresh order. Epochs are counted exactly as tokens read / N. Keys come from
// dma::Rng(seed).split("sampler"), so the stream depends only on the seed.
//
// The domain spans are not owned: they must outlive the sampler. Drawing allocates nothing.
class MixtureSampler {
 public:
  MixtureSampler(std::vector<std::span<const Token>> domains, SamplerConfig cfg, std::uint64_t seed,
                 std::vector<std::string> names = {})
      : m_domains(std::move(domains)), m_cfg(std::move(cfg)), m_seed(seed), m_names(std::move(names)) {
    const std::size_t d = m_domains.size();
    if (d == 0) fail("sampler: no domains given");
    if (m_cfg.batch == 0) fail("sampler: config field 'batch' must be >= 1");
    if (m_cfg.context == 0) fail("sampler: config field 'context' must be >= 1");
    if (!(m_cfg.max_epochs > 0)) fail("sampler: config field 'max_epochs' must be > 0, got ", m_cfg.max_epochs);
    if (m_cfg.pool_limit.size() > d)
      fail("sampler: config field 'pool_limit' has ", m_cfg.pool_limit.size(), " entries for ", d, " domains");
    if (m_names.empty())
      for (std::size_t i = 0; i < d; ++i) m_names.push_back("domain " + std::to_string(i));
    if (m_names.size() != d) fail("sampler: ", m_names.size(), " names given for ", d, " domains");
    m_key = Rng(seed).split("sampler").next_u64();
    m_dom.resize(d);
    for (std::size_t i = 0; i < d; ++i) {
      const std::size_t lim = i < m_cfg.pool_limit.size() ? m_cfg.pool_limit[i] : 0;
      auto& s = m_dom[i];
      s.pool = (lim == 0 || lim > m_domains[i].size()) ? m_domains[i].size() : lim;
      // Fewer tokens than one row would be repeated within every row: refuse before any training.
      if (s.pool > 0 && s.pool < row_len())
        fail("sampler: domain '", m_names[i], "' has ", s.pool, " tokens", lim ? " (after its pool limit)" : "",
             ", fewer than one training row (context + 1 = ", row_len(), "); give it more data or leave it out");
      s.windows = std::max<std::size_t>(1, s.pool / row_len());
    }
    m_weights.assign(d, 0.0);
    m_effective.assign(d, 0.0);
    m_credit.assign(d, 0.0);
    m_row_domain.assign(m_cfg.batch, 0);
  }

  [[nodiscard]] std::size_t num_domains() const noexcept { return m_domains.size(); }
  [[nodiscard]] std::size_t row_len() const noexcept { return m_cfg.context + 1; }
  [[nodiscard]] std::size_t batch_tokens() const noexcept { return m_cfg.batch * row_len(); }
  [[nodiscard]] const SamplerConfig& config() const noexcept { return m_cfg; }
  [[nodiscard]] const std::string& name(std::size_t d) const { return m_names.at(d); }

  // Sets the mixture for the following draws (one stage). Throws dma::Error for invalid
  // weights, or for weight on a domain that has no tokens or is exhausted.
  void set_weights(const Mixture& w) {
    space::validate_mixture(w, num_domains(), "sampler weights");
    for (std::size_t i = 0; i < w.size(); ++i)
      if (w[i] > 0 && m_dom[i].pool == 0)
        fail("sampler weights: weight ", i, " (", m_names[i], ") is ", w[i],
             " but the domain has no tokens");
    m_weights = w;
    m_effective = w;
    m_weights_set = true;
    for (std::size_t i = 0; i < w.size(); ++i)
      if (m_dom[i].exhausted) m_effective[i] = 0;
    renormalize_effective();
    std::fill(m_credit.begin(), m_credit.end(), 0.0);
  }

  // Fills `out` (B * (T+1) tokens, row-major) with the next batch; row r came from
  // row_domains()[r].
  void next_batch(std::span<Token> out) {
    if (out.size() != batch_tokens())
      fail("sampler: output buffer holds ", out.size(), " tokens, expected B*(T+1) = ", batch_tokens());
    for (std::size_t r = 0; r < m_cfg.batch; ++r)
      m_row_domain[r] = static_cast<std::uint32_t>(next_row(out.subspan(r * row_len(), row_len())));
  }

  // Fills one row of T+1 tokens and returns its domain.
  std::size_t next_row(std::span<Token> row) {
    DMA_ASSERT(row.size() == row_len(), "sampler: row buffer of the wrong size");
    if (!m_weights_set) fail("sampler: set_weights() must be called before drawing");
    const std::size_t d = pick_domain();
    read_row(d, row);
    return d;
  }

  [[nodiscard]] std::span<const std::uint32_t> row_domains() const noexcept { return m_row_domain; }
  // Tokens read from domain d's pool (T+1 per row) since construction.
  [[nodiscard]] std::uint64_t tokens(std::size_t d) const { return m_dom.at(d).tokens; }
  [[nodiscard]] std::uint64_t rows(std::size_t d) const { return m_dom.at(d).rows; }
  [[nodiscard]] std::uint64_t total_tokens() const noexcept {
    std::uint64_t t = 0;
    for (const auto& s : m_dom) t += s.tokens;
    return t;
  }
  // Tokens in domain d's pool after the pool limit.
  [[nodiscard]] std::size_t pool_tokens(std::size_t d) const { return m_dom.at(d).pool; }
  // Repetitions of domain d's pool so far: tokens read / pool tokens (exact).
  [[nodiscard]] double epochs(std::size_t d) const {
    const auto& s = m_dom.at(d);
    return s.pool == 0 ? 0.0 : double(s.tokens) / double(s.pool);
  }
  [[nodiscard]] bool exhausted(std::size_t d) const { return m_dom.at(d).exhausted; }
  // The weights in force (the requested ones, renormalised over the domains not exhausted).
  [[nodiscard]] const Mixture& effective_weights() const noexcept { return m_effective; }

  // ---- exact resume ----------------------------------------------------------------------
  static constexpr std::string_view kMagic = "DMASAMP1";
  static constexpr std::uint32_t kVersion = 1;

  // Appends the full state (not the domain data) to `w`.
  void save(io::Writer& w) const {
    w.put<std::uint64_t>(num_domains());
    w.put<std::uint64_t>(m_cfg.batch);
    w.put<std::uint64_t>(m_cfg.context);
    w.put<std::uint64_t>(m_seed);
    w.put<std::uint8_t>(m_weights_set ? 1 : 0);
    for (std::size_t i = 0; i < num_domains(); ++i) {
      const auto& s = m_dom[i];
      w.put<std::uint64_t>(s.pool);
      w.put<std::uint64_t>(s.tokens);
      w.put<std::uint64_t>(s.rows);
      w.put<std::uint64_t>(s.epoch);
      w.put<std::uint64_t>(s.in_epoch);
      w.put<std::uint8_t>(s.exhausted ? 1 : 0);
      w.put<double>(m_weights[i]);
      w.put<double>(m_effective[i]);
      w.put<double>(m_credit[i]);
    }
  }
  // Restores a state written by save() from a sampler built over the same domains and config.
  void load(io::Reader& r) {
    const auto check = [&](std::string_view field, std::uint64_t got, std::uint64_t want) {
      if (got != want)
        fail(r.source(), ": sampler state field '", field, "' is ", got, " but this sampler has ", want);
    };
    check("domains", r.get<std::uint64_t>("domains"), num_domains());
    check("batch", r.get<std::uint64_t>("batch"), m_cfg.batch);
    check("context", r.get<std::uint64_t>("context"), m_cfg.context);
    const auto seed = r.get<std::uint64_t>("seed");
    m_weights_set = r.get<std::uint8_t>("weights_set") != 0;
    for (std::size_t i = 0; i < num_domains(); ++i) {
      auto& s = m_dom[i];
      check("pool", r.get<std::uint64_t>("pool"), s.pool);
      s.tokens = r.get<std::uint64_t>("tokens");
      s.rows = r.get<std::uint64_t>("rows");
      s.epoch = r.get<std::uint64_t>("epoch");
      s.in_epoch = r.get<std::uint64_t>("in_epoch");
      if (s.in_epoch >= s.windows && s.windows > 0)
        fail(r.source(), ": sampler state field 'in_epoch' is ", s.in_epoch, ", expected < ", s.windows);
      s.exhausted = r.get<std::uint8_t>("exhausted") != 0;
      m_weights[i] = r.get<double>("weight");
      m_effective[i] = r.get<double>("effective weight");
      m_credit[i] = r.get<double>("credit");
    }
    m_seed = seed;
    m_key = Rng(seed).split("sampler").next_u64();
  }
  // The state as a framed byte string (magic, version, CRC), and back.
  [[nodiscard]] std::string state_bytes() const {
    io::Writer w;
    save(w);
    return io::frame(kMagic, kVersion, w.bytes());
  }
  void restore(std::string_view bytes, const std::string& source = "sampler state") {
    const auto payload = io::unframe(bytes, kMagic, kVersion, source);
    io::Reader r(payload, source);
    load(r);
    if (r.remaining() != 0) fail(source, ": ", r.remaining(), " unexpected bytes after the sampler state");
  }

 private:
  struct DomainState {
    std::size_t pool = 0;      // tokens usable (after the pool limit)
    std::size_t windows = 1;   // K: windows per epoch
    std::uint64_t tokens = 0;  // tokens read
    std::uint64_t rows = 0;    // rows drawn
    std::uint64_t epoch = 0;   // current epoch (0-based)
    std::uint64_t in_epoch = 0;// windows already visited in the current epoch
    bool exhausted = false;    // reached the cap under CapPolicy::Clamp
  };

  void renormalize_effective() {
    double s = 0;
    for (double x : m_effective) s += x;
    if (s <= 0)
      fail("sampler: every domain with weight is exhausted (repetition cap ", m_cfg.max_epochs,
           " epochs); nothing left to draw");
    for (double& x : m_effective) x /= s;
  }

  bool would_exceed_cap(const DomainState& s) const {
    if (std::isinf(m_cfg.max_epochs)) return false;
    return double(s.tokens + row_len()) > m_cfg.max_epochs * double(s.pool) * (1.0 + 1e-12);
  }

  std::size_t pick_domain() {
    for (;;) {
      std::size_t best = 0;
      double best_c = -std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < m_credit.size(); ++i) {
        m_credit[i] += m_effective[i];
        if (m_effective[i] > 0 && m_credit[i] > best_c) {
          best_c = m_credit[i];
          best = i;
        }
      }
      auto& s = m_dom[best];
      if (!would_exceed_cap(s)) {
        m_credit[best] -= 1.0;
        return best;
      }
      if (m_cfg.on_cap == CapPolicy::Error)
        fail("sampler: domain '", m_names[best], "' would exceed its repetition cap of ", m_cfg.max_epochs,
             " epochs (pool ", s.pool, " tokens, ", s.tokens, " already read, row of ", row_len(), ")");
      // Clamp: this domain is done; undo this round's credit and redistribute its share.
      for (std::size_t i = 0; i < m_credit.size(); ++i) m_credit[i] = 0.0;
      s.exhausted = true;
      m_effective[best] = 0;
      renormalize_effective();
    }
  }

  static std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t s = a ^ (b * 0x9E3779B97F4A7C15ULL);
    return splitmix64(s);
  }

  // pi(d,e)(j): a keyed permutation of [0, K) by a balanced Feistel network on the next even
  // number of bits, with cycle walking back into [0, K).
  static std::uint64_t permute(std::uint64_t j, std::uint64_t k, std::uint64_t key) noexcept {
    if (k <= 1) return 0;
    unsigned bits = 2;
    while ((std::uint64_t(1) << bits) < k) bits += 2;
    const unsigned half = bits / 2;
    const std::uint64_t mask = (std::uint64_t(1) << half) - 1;
    std::uint64_t x = j;
    do {
      std::uint64_t l = x >> half, r = x & mask;
      for (std::uint64_t round = 0; round < 4; ++round) {
        const std::uint64_t f = mix(key + round, r) & mask;
        const std::uint64_t nl = r;
        r = l ^ f;
        l = nl;
      }
      x = (l << half) | r;
    } while (x >= k);
    return x;
  }

  void read_row(std::size_t d, std::span<Token> row) {
    auto& s = m_dom[d];
    const auto data = m_domains[d];
    const std::uint64_t ekey = mix(mix(m_key, d + 1), s.epoch + 1);
    const std::uint64_t offset = mix(ekey, 0xA5A5) % s.pool;
    const std::uint64_t w = permute(s.in_epoch, s.windows, ekey);
    std::size_t pos = static_cast<std::size_t>((offset + w * row_len()) % s.pool);
    for (std::size_t t = 0; t < row.size(); ++t) {
      row[t] = data[pos];
      if (++pos == s.pool) pos = 0;
    }
    s.tokens += row_len();
    s.rows += 1;
    if (++s.in_epoch == s.windows) {
      s.in_epoch = 0;
      ++s.epoch;
    }
  }

  std::vector<std::span<const Token>> m_domains;
  SamplerConfig m_cfg;
  std::uint64_t m_seed;
  std::vector<std::string> m_names;
  std::uint64_t m_key = 0;
  std::vector<DomainState> m_dom;
  Mixture m_weights, m_effective;
  std::vector<double> m_credit;
  std::vector<std::uint32_t> m_row_domain;
  bool m_weights_set = false;
};

}  // namespace dma::data
