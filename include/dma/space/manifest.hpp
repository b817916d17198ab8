// dma/space/manifest.hpp: space::Manifest, a DomainSpace whose domains are files on disk.
// from_manifest("corpus/manifest.json") gives one domain per prepared source (and target);
// with_target()/with_source() add a user's own files as a domain. It sits between the prepared
// corpus and the shards: each domain knows where its train and held-out documents are, and
// documents(i) reads them. TwoField (two_field.hpp) and KdSpace (kd.hpp) are built from it.
// Tested in tests/unit/space_manifest.cpp.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/core/types.hpp"
#include "dma/data/corpus.hpp"
#include "dma/data/manifest.hpp"

namespace dma::space {

struct ManifestDomain {
  DomainInfo info;
  // Train documents: *.jsonl document files, plain files (one document each) or folders.
  std::vector<std::filesystem::path> train;
  // Held-out documents; when empty, data::split_heldout() takes them out of `train`.
  std::vector<std::filesystem::path> heldout;
};

class Manifest {
 public:
  Manifest() = default;

  static Manifest from_corpus(const data::CorpusManifest& m) {
    Manifest s;
    for (const auto& d : m.domains) s.add({{d.name, d.field}, {d.train.path}, {d.heldout.path}});
    return s;
  }
  // verify_sha256: also hash every file against the manifest (data::CorpusManifest::verify_sha256).
  static Manifest load(const std::filesystem::path& path, bool verify_sha256 = false) {
    auto m = data::CorpusManifest::load(path);
    if (verify_sha256)
      m.verify_sha256();
    else
      m.check_files();
    return from_corpus(m);
  }

  // Returns a copy with one more domain; its name must be new.
  [[nodiscard]] Manifest with_target(std::string name, std::vector<std::filesystem::path> train,
                                     std::vector<std::filesystem::path> heldout = {}) const {
    Manifest s = *this;
    s.add({{std::move(name), Field::Target}, std::move(train), std::move(heldout)});
    return s;
  }
  [[nodiscard]] Manifest with_source(std::string name, std::vector<std::filesystem::path> train,
                                     std::vector<std::filesystem::path> heldout = {}) const {
    Manifest s = *this;
    s.add({{std::move(name), Field::Source}, std::move(train), std::move(heldout)});
    return s;
  }
  // Only the named domains, in the order given (e.g. a smaller space for a quick run).
  [[nodiscard]] Manifest only(const std::vector<std::string>& names) const {
    Manifest s;
    for (const auto& n : names) s.add(m_domains.at(index(n)));
    return s;
  }

  [[nodiscard]] std::size_t size() const noexcept { return m_domains.size(); }
  [[nodiscard]] std::string name(std::size_t i) const { return m_domains.at(i).info.name; }
  [[nodiscard]] Field field(std::size_t i) const { return m_domains.at(i).info.field; }
  [[nodiscard]] const ManifestDomain& domain(std::size_t i) const { return m_domains.at(i); }
  [[nodiscard]] const std::vector<ManifestDomain>& domains() const noexcept { return m_domains; }
  [[nodiscard]] std::size_t index(const std::string& name) const {
    for (std::size_t i = 0; i < m_domains.size(); ++i)
      if (m_domains[i].info.name == name) return i;
    fail("domain space: no domain named '", name, "'");
  }
  [[nodiscard]] EpisodeSpec spec(std::size_t stages, double target_weight = 0.5) const {
    EpisodeSpec e;
    for (const auto& d : m_domains) e.domains.push_back(d.info);
    e.stages = stages;
    e.target_weight = target_weight;
    return e;
  }

  // Reads domain i's documents, split into train and held-out.
  [[nodiscard]] data::Split documents(std::size_t i) const {
    const auto& d = m_domains.at(i);
    if (d.heldout.empty()) return data::split_heldout(d.info.name, data::read_documents(d.train));
    return {data::read_documents(d.train), data::read_documents(d.heldout)};
  }

 private:
  void add(ManifestDomain d) {
    if (d.info.name.empty()) fail("domain space: a domain needs a non-empty name");
    for (char c : d.info.name)
      if (c == '/' || c == '\\' || c == '\0')
        fail("domain space: domain name '", d.info.name, "' may not contain '/' (it names shard files)");
    for (const auto& o : m_domains)
      if (o.info.name == d.info.name) fail("domain space: domain '", d.info.name, "' already exists");
    if (d.train.empty()) fail("domain space: domain '", d.info.name, "' has no train files");
    m_domains.push_back(std::move(d));
  }
  std::vector<ManifestDomain> m_domains;
};
static_assert(DomainSpace<Manifest>);

inline Manifest from_manifest(const std::filesystem::path& path, bool verify_sha256 = false) {
  return Manifest::load(path, verify_sha256);
}

}  // namespace dma::space
