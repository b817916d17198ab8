// main_job/data.hpp: the domain spaces the main job (main_job/experiment.hpp) runs
// on, as env::CptData: the per-source space (every source domain + the targets, from the shards
// of scripts/prepare_data.sh), the 2-D space (one merged "source" domain + the targets, built in
// memory from the per-source data) and K-D spaces (space/kd.hpp clusters of the source documents,
// built once from the prepared corpus and cached as shards under OUT/spaces/kK-sSEED). A
// synthetic provider makes the same spaces from a small generated corpus (tests only; its K-D
// "clusters" are a fixed regrouping of documents, not the classifier). Tested through
// tests/integration/experiment_tiny.cpp.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/data/shard.hpp"
#include "dma/data/tokenizer.hpp"
#include "dma/env/cpt_data.hpp"
#include "dma/space/kd.hpp"
#include "dma/space/manifest.hpp"
#include "main_job/settings.hpp"

namespace dma::main_job {

// The 2-D space: source domains merged into one domain "source" (the first `tokens_per_source`
// training tokens of each, concatenated; held-out documents interleaved round robin so that the
// fixed evaluation windows cover every source) + every target domain unchanged.
inline env::CptData merge_sources(const env::CptData& in, std::size_t tokens_per_source) {
  struct Owner {
    std::vector<Token> merged;
    std::shared_ptr<const void> inner;
  };
  auto own = std::make_shared<Owner>();
  own->inner = in.owner;
  std::vector<std::vector<std::string>> held;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in.field(i) != Field::Source) continue;
    const auto& t = in.train[i];
    const std::size_t n = std::min(t.size(), tokens_per_source);
    own->merged.insert(own->merged.end(), t.begin(), t.begin() + std::ptrdiff_t(n));
    held.push_back(in.heldout[i]);
  }
  if (own->merged.empty()) fail(in.source, ": the 2-D space needs at least one source domain");
  env::CptData out;
  out.source = in.source + " (2-D: merged sources)";
  out.domains.push_back({"source", Field::Source});
  out.train.emplace_back(own->merged.data(), own->merged.size());
  std::vector<std::string> inter;
  for (std::size_t k = 0;; ++k) {
    bool any = false;
    for (const auto& h : held)
      if (k < h.size()) inter.push_back(h[k]), any = true;
    if (!any) break;
  }
  out.heldout.push_back(std::move(inter));
  for (std::size_t i = 0; i < in.size(); ++i)
    if (in.field(i) == Field::Target) {
      out.domains.push_back(in.domains[i]);
      out.train.push_back(in.train[i]);
      out.heldout.push_back(in.heldout[i]);
    }
  out.owner = own;
  return out;
}

// Where the spaces come from.
class ExperimentData {
 public:
  virtual ~ExperimentData() = default;
  // Every source domain and every target domain (math, code).
  virtual const env::CptData& per_source() = 0;
  // K clusters c00.. of the source documents + the target domains.
  virtual const env::CptData& kd(std::size_t k) = 0;
  [[nodiscard]] virtual std::string describe() const = 0;

  const env::CptData& two_d(std::size_t tokens_per_source) {
    std::lock_guard<std::mutex> g(m_mu);
    if (!m_two_d) m_two_d = std::make_unique<env::CptData>(merge_sources(per_source(), tokens_per_source));
    return *m_two_d;
  }

 protected:
  std::mutex m_mu;
  std::unique_ptr<env::CptData> m_two_d;
};

// Real data: shards from scripts/prepare_data.sh; K-D spaces from its manifest, cached under `spaces_dir`.
class ShardData final : public ExperimentData {
 public:
  ShardData(std::filesystem::path shards, std::filesystem::path manifest, std::filesystem::path spaces_dir,
            std::size_t restarts, std::uint64_t seed)
      : m_shards(std::move(shards)), m_manifest(std::move(manifest)), m_spaces(std::move(spaces_dir)),
        m_restarts(restarts), m_seed(seed) {}

  const env::CptData& per_source() override {
    std::lock_guard<std::mutex> g(m_load);
    if (!m_per_source) {
      if (!std::filesystem::exists(m_shards / "space.json"))
        fail(m_shards.string(), ": no space.json: run scripts/prepare_data.sh first (it writes the shards)");
      m_per_source = std::make_unique<env::CptData>(env::CptData::from_shards(m_shards));
    }
    return *m_per_source;
  }
  const env::CptData& kd(std::size_t k) override {
    std::lock_guard<std::mutex> g(m_load);
    auto& slot = m_kd[k];
    if (slot) return *slot;
    const auto dir = m_spaces / ("k" + std::to_string(k) + "-s" + std::to_string(m_seed));
    const auto stamp = dir / "DONE";
    if (!std::filesystem::exists(stamp)) {
      if (!std::filesystem::exists(m_manifest))
        fail(m_manifest.string(), ": the prepared corpus's manifest is missing: run scripts/prepare_data.sh first");
      std::fprintf(stderr, "experiment: building the %zu-D space (domain classifier, %zu restart(s))\n", k, m_restarts);
      space::ClassifierConfig c;
      c.clusters = k;
      c.restarts = m_restarts;
      const auto kd = space::KdSpace::build(space::from_manifest(m_manifest), c, Rng(m_seed));
      data::write_shard_set(kd, dir, data::ByteTokenizer{}, false);
      io::atomic_write(stamp, "k-d space written\n");
    }
    slot = std::make_unique<env::CptData>(env::CptData::from_shards(dir));
    return *slot;
  }
  [[nodiscard]] std::string describe() const override { return "shards " + m_shards.string(); }

 private:
  std::filesystem::path m_shards, m_manifest, m_spaces;
  std::size_t m_restarts;
  std::uint64_t m_seed;
  std::mutex m_load;
  std::unique_ptr<env::CptData> m_per_source;
  std::map<std::size_t, std::unique_ptr<env::CptData>> m_kd;
};

// A small generated corpus: four source domains of different character, math and code targets.
class SyntheticData final : public ExperimentData {
 public:
  explicit SyntheticData(std::uint64_t seed = 2024) {
    Rng r(seed);
    static const char* words[] = {"the", "river", "stone", "quiet", "house", "and", "of", "light", "morning",
                                  "wind", "a", "garden", "walked", "slowly", "under", "bright", "old", "door"};
    static const char* keys[] = {"id", "size", "mode", "flags", "offset", "count"};
    auto prose = [&](std::size_t n) {
      std::string s;
      while (s.size() < n) s += std::string(words[r.below(18)]) + (r.below(9) == 0 ? ".\n" : " ");
      return s;
    };
    auto records = [&](std::size_t n) {
      std::string s;
      while (s.size() < n) s += std::string(keys[r.below(6)]) + "=" + std::to_string(r.below(5000)) + ";\n";
      return s;
    };
    auto shout = [&](std::size_t n) {
      std::string s = prose(n);
      for (auto& ch : s) ch = char(std::toupper(static_cast<unsigned char>(ch)));
      return s;
    };
    auto digits = [&](std::size_t n) {
      std::string s;
      while (s.size() < n) s += std::to_string(r.below(100000)) + (r.below(4) == 0 ? "\n" : ",");
      return s;
    };
    auto math = [&](std::size_t) {
      const unsigned a = r.below(50), b = r.below(50);
      return "Question: Tom has " + std::to_string(a) + " apples and buys " + std::to_string(b) +
             " more. How many apples does he have?\nAnswer: " + std::to_string(a) + " + " + std::to_string(b) +
             " = " + std::to_string(a + b) + "\n#### " + std::to_string(a + b) + "\n\n";
    };
    auto code = [&](std::size_t n) {
      std::string s;
      while (s.size() < n)
        s += "def f" + std::to_string(r.below(100)) + "(x):\n    return x * " + std::to_string(r.below(10)) + "\n";
      return s;
    };
    struct Def {
      std::string name;
      Field field;
      std::function<std::string(std::size_t)> gen;
      int docs;
    };
    const std::vector<Def> defs{{"prose", Field::Source, prose, 60},   {"records", Field::Source, records, 60},
                                {"shout", Field::Source, shout, 60},   {"digits", Field::Source, digits, 60},
                                {"math", Field::Target, math, 300},    {"code", Field::Target, code, 60}};
    for (const auto& d : defs) {
      Domain dom{d.name, d.field, {}, {}};
      for (int i = 0; i < d.docs; ++i) {
        std::string text = d.gen(300);
        (i % 10 == 9 ? dom.held : dom.train).push_back(std::move(text));
      }
      m_domains.push_back(std::move(dom));
    }
    m_per_source = std::make_unique<env::CptData>(build(m_domains, "synthetic corpus"));
  }
  const env::CptData& per_source() override { return *m_per_source; }
  // "Clusters": source document j of every domain goes to cluster j mod k (a fixed regrouping
  // that mixes the domains; the real K-D space uses the classifier).
  const env::CptData& kd(std::size_t k) override {
    std::lock_guard<std::mutex> g(m_mu2);
    auto& slot = m_kd[k];
    if (slot) return *slot;
    std::vector<Domain> ds(k);
    for (std::size_t c = 0; c < k; ++c) ds[c] = {(c < 10 ? "c0" : "c") + std::to_string(c), Field::Source, {}, {}};
    for (const auto& d : m_domains) {
      if (d.field != Field::Source) continue;
      for (std::size_t j = 0; j < d.train.size(); ++j) ds[j % k].train.push_back(d.train[j]);
      for (std::size_t j = 0; j < d.held.size(); ++j) ds[j % k].held.push_back(d.held[j]);
    }
    for (const auto& d : m_domains)
      if (d.field == Field::Target) ds.push_back(d);
    slot = std::make_unique<env::CptData>(build(ds, "synthetic corpus (k=" + std::to_string(k) + ")"));
    return *slot;
  }
  [[nodiscard]] std::string describe() const override { return "synthetic corpus (test data, not results)"; }

 private:
  struct Domain {
    std::string name;
    Field field;
    std::vector<std::string> train, held;
  };
  static env::CptData build(const std::vector<Domain>& ds, const std::string& src) {
    std::vector<DomainInfo> info;
    std::vector<std::vector<Token>> train;
    std::vector<std::vector<std::string>> held;
    for (const auto& d : ds) {
      info.push_back({d.name, d.field});
      std::vector<Token> t;
      for (const auto& doc : d.train) {
        for (unsigned char ch : doc) t.push_back(ch);
        t.push_back(data::ByteTokenizer::kEos);
      }
      train.push_back(std::move(t));
      held.push_back(d.held);
    }
    return env::CptData::from_memory(std::move(info), std::move(train), std::move(held), src);
  }
  std::vector<Domain> m_domains;
  std::unique_ptr<env::CptData> m_per_source;
  std::mutex m_mu2;
  std::map<std::size_t, std::unique_ptr<env::CptData>> m_kd;
};

}  // namespace dma::main_job
