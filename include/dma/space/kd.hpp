// dma/space/kd.hpp: KdSpace, a K-D domain space over the same data as a space::Manifest.
// The source documents of every source domain are pooled and partitioned into K clusters by the
// DomainClassifier (no labels used); each cluster becomes a source domain "cNN" (with its own
// shard), held-out documents go to their nearest centroid, and the manifest's target domains
// are kept as they are. confusion() compares clusters with the source labels. Tested in
// tests/unit/space_classifier.cpp; measured on the real corpus by examples/build_shards.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/core/rng.hpp"
#include "dma/data/corpus.hpp"
#include "dma/space/classifier.hpp"
#include "dma/space/manifest.hpp"

namespace dma::space {

class KdSpace {
 public:
  // Clusters the source documents of `m` into cfg.clusters domains (deterministic from `rng`).
  static KdSpace build(const Manifest& m, const ClassifierConfig& cfg, const Rng& rng) {
    KdSpace s;
    s.m_manifest = m;
    std::vector<data::Document> train, heldout;
    std::vector<std::uint32_t> heldout_label;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m.field(i) != Field::Source) {
        s.m_targets.push_back(i);
        continue;
      }
      const auto label = static_cast<std::uint32_t>(s.m_source_names.size());
      s.m_source_names.push_back(m.name(i));
      auto part = m.documents(i);
      const std::string prefix = m.name(i) + "/";
      for (auto& d : part.train) {
        train.push_back({prefix + d.id, std::move(d.text)});
        s.m_train_label.push_back(label);
      }
      for (auto& d : part.heldout) {
        heldout.push_back({prefix + d.id, std::move(d.text)});
        heldout_label.push_back(label);
      }
    }
    if (s.m_source_names.empty()) fail("k-d space: the manifest has no source domain to cluster");
    DomainClassifier clf(cfg);
    std::vector<std::string_view> views;
    views.reserve(train.size());
    for (const auto& d : train) views.emplace_back(d.text);
    s.m_train_cluster = clf.fit(views, rng.split("kd-space"));
    s.m_objective = clf.objective();
    s.m_clusters.resize(cfg.clusters);
    for (std::size_t i = 0; i < train.size(); ++i) s.m_clusters[s.m_train_cluster[i]].train.push_back(std::move(train[i]));
    for (auto& d : heldout) {
      const auto k = clf.assign(d.text);
      s.m_clusters[k].heldout.push_back(std::move(d));
    }
    return s;
  }

  [[nodiscard]] std::size_t clusters() const noexcept { return m_clusters.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return m_clusters.size() + m_targets.size(); }
  [[nodiscard]] std::string name(std::size_t i) const {
    if (i < m_clusters.size()) {
      const std::string n = std::to_string(i);
      return n.size() < 2 ? "c0" + n : "c" + n;
    }
    return m_manifest.name(m_targets.at(i - m_clusters.size()));
  }
  [[nodiscard]] Field field(std::size_t i) const {
    return i < m_clusters.size() ? Field::Source : m_manifest.field(m_targets.at(i - m_clusters.size()));
  }
  [[nodiscard]] EpisodeSpec spec(std::size_t stages, double target_weight = 0.5) const {
    EpisodeSpec e;
    for (std::size_t i = 0; i < size(); ++i) e.domains.push_back({name(i), field(i)});
    e.stages = stages;
    e.target_weight = target_weight;
    return e;
  }

  // Domain i's documents: a cluster's, or a target domain's read from the manifest.
  [[nodiscard]] data::Split documents(std::size_t i) const {
    if (i < m_clusters.size()) return m_clusters[i];
    return m_manifest.documents(m_targets.at(i - m_clusters.size()));
  }

  // The clustered train documents: source label (index into source_names()) and cluster.
  [[nodiscard]] const std::vector<std::uint32_t>& source_labels() const noexcept { return m_train_label; }
  [[nodiscard]] const std::vector<std::uint32_t>& cluster_labels() const noexcept { return m_train_cluster; }
  [[nodiscard]] const std::vector<std::string>& source_names() const noexcept { return m_source_names; }
  [[nodiscard]] double objective() const noexcept { return m_objective; }

  // confusion()[k][s] = train documents of source domain s that fell in cluster k.
  [[nodiscard]] std::vector<std::vector<std::size_t>> confusion() const {
    std::vector<std::vector<std::size_t>> t(m_clusters.size(), std::vector<std::size_t>(m_source_names.size(), 0));
    for (std::size_t i = 0; i < m_train_label.size(); ++i) ++t[m_train_cluster[i]][m_train_label[i]];
    return t;
  }

 private:
  Manifest m_manifest;
  std::vector<std::size_t> m_targets;
  std::vector<std::string> m_source_names;
  std::vector<std::uint32_t> m_train_label, m_train_cluster;
  std::vector<data::Split> m_clusters;
  double m_objective = 0;
};
static_assert(DomainSpace<KdSpace>);

}  // namespace dma::space
