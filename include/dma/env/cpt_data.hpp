// dma/env/cpt_data.hpp: CptData, the domains a CPT environment (or a base model) trains and
// evaluates on: per domain its name and field, its training tokens (a span; the sampler draws
// from it) and its held-out documents (the evaluator cuts fixed windows and probes from them).
// Built from a shard folder (data::ShardSet, memory-mapped) or from memory (tests, user data);
// fingerprint() identifies the content for cache keys. Tested in tests/unit/env_cpt.cpp.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/types.hpp"
#include "dma/data/shard.hpp"
#include "dma/data/tokenizer.hpp"
#include "dma/env/cpt_config.hpp"

namespace dma::env {

struct CptData {
  std::vector<DomainInfo> domains;
  std::vector<std::span<const Token>> train;        // one span per domain (not owned)
  std::vector<std::vector<std::string>> heldout;    // held-out documents per domain
  std::shared_ptr<const void> owner;                // keeps the spans' memory alive
  std::string source;                               // where the data came from (for messages)

  [[nodiscard]] std::size_t size() const noexcept { return domains.size(); }
  [[nodiscard]] std::string name(std::size_t i) const { return domains.at(i).name; }
  [[nodiscard]] Field field(std::size_t i) const { return domains.at(i).field; }

  // Index of the domain called `name`, or a dma::Error naming what is available.
  [[nodiscard]] std::size_t index(const std::string& name, const std::string& what = "domain") const {
    for (std::size_t i = 0; i < size(); ++i)
      if (domains[i].name == name) return i;
    std::string have;
    for (const auto& d : domains) have += (have.empty() ? "" : ", ") + d.name;
    fail(source, ": ", what, " '", name, "' is not in the data (domains: ", have, ")");
  }

  // The domains named in `names`, in that order (empty: all of them).
  [[nodiscard]] CptData select(const std::vector<std::string>& names) const {
    if (names.empty()) return *this;
    CptData out;
    out.owner = owner;
    out.source = source;
    for (const auto& n : names) {
      const std::size_t i = index(n);
      for (const auto& d : out.domains)
        if (d.name == n) fail(source, ": domain '", n, "' is listed twice");
      out.domains.push_back(domains[i]);
      out.train.push_back(train[i]);
      out.heldout.push_back(heldout[i]);
    }
    return out;
  }

  // A hash of everything the environment reads: names, fields, train tokens, held-out text.
  [[nodiscard]] std::uint64_t fingerprint() const {
    std::uint64_t h = detail::hash_string("dma-cpt-data-v1");
    for (std::size_t i = 0; i < size(); ++i) {
      h = detail::hash_string(domains[i].name, h);
      h = detail::hash_string(to_string(domains[i].field), h);
      h = detail::hash_bytes(train[i].data(), train[i].size_bytes(), h);
      for (const auto& d : heldout[i]) h = detail::hash_string(d, h ^ 0x5bd1e995ULL);
    }
    return h;
  }

  // All domains of a shard folder written by examples/build_shards (space.json + shards).
  static CptData from_shards(const std::filesystem::path& dir) {
    const data::ByteTokenizer tok;
    auto set = std::make_shared<data::ShardSet>(data::ShardSet::open(dir, tok));
    CptData d;
    d.source = dir.string();
    for (std::size_t i = 0; i < set->size(); ++i) {
      d.domains.push_back({set->name(i), set->field(i)});
      d.train.push_back((*set)[i].train.tokens());
      d.heldout.push_back((*set)[i].heldout.texts());
    }
    d.owner = set;
    return d;
  }

  // Domains given in memory: train token vectors are moved into shared storage.
  static CptData from_memory(std::vector<DomainInfo> domains, std::vector<std::vector<Token>> train,
                             std::vector<std::vector<std::string>> heldout, std::string source = "in-memory data") {
    if (domains.size() != train.size() || domains.size() != heldout.size())
      fail(source, ": ", domains.size(), " domains but ", train.size(), " train and ", heldout.size(),
           " held-out lists");
    auto store = std::make_shared<std::vector<std::vector<Token>>>(std::move(train));
    CptData d;
    d.source = std::move(source);
    d.domains = std::move(domains);
    for (const auto& t : *store) d.train.emplace_back(t.data(), t.size());
    d.heldout = std::move(heldout);
    d.owner = store;
    return d;
  }
};

}  // namespace dma::env
