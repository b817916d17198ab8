// dma/space/classifier.hpp: an unsupervised domain classifier that partitions documents into K
// clusters without labels, so that domain spaces of several sizes exist over the same data (like
// the paper's 52-D space). Features: hashed word uni/bigram TF-IDF, L2-normalised; clustering:
// spherical k-means (cosine) seeded by k-means++, best of a few restarts, all deterministic from a
// dma::Rng. adjusted_rand_index() measures agreement of two partitions. KdSpace (kd.hpp) uses it.
// Tested in tests/unit/space_classifier.cpp (planted clusters recovered, stable under reseeding).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/rng.hpp"

namespace dma::space {

struct ClassifierConfig {
  std::size_t clusters = 16;             // K
  std::uint32_t feature_bits = 18;       // 2^18 hashed features
  std::size_t max_doc_bytes = 8192;      // features come from the first bytes of a document
  std::size_t max_iterations = 100;      // Lloyd iterations per restart
  std::size_t restarts = 3;              // k-means++ restarts; the best objective wins
  bool bigrams = true;
};

// A sparse, L2-normalised feature vector (sorted indices).
struct SparseVector {
  std::vector<std::uint32_t> index;
  std::vector<float> value;
};

// Hashed word n-gram TF-IDF. Words are maximal runs of ASCII letters/digits or non-ASCII bytes,
// lower-cased. tf weight 1 + ln(tf); idf = ln((1 + N) / (1 + df)) + 1 (the "smooth" idf).
// Features seen in a single document (ids, hashes, typos) or in more than half of them carry no
// grouping signal and are dropped: that also makes the vectors several times sparser.
class TfidfFeaturizer {
 public:
  explicit TfidfFeaturizer(std::uint32_t bits = 18, std::size_t max_bytes = 8192, bool bigrams = true)
      : m_mask((std::uint32_t(1) << bits) - 1), m_max_bytes(max_bytes), m_bigrams(bigrams) {
    if (bits < 4 || bits > 28) fail("classifier: feature_bits ", bits, " (expected 4..28)");
  }

  // Counts of hashed features of one document, sorted by index.
  [[nodiscard]] std::vector<std::pair<std::uint32_t, float>> counts(std::string_view text) const {
    text = text.substr(0, std::min(text.size(), m_max_bytes));
    std::vector<std::uint32_t> feats;
    std::uint64_t prev = 0;
    bool have_prev = false;
    std::size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && !is_word(text[i])) ++i;
      if (i >= text.size()) break;
      std::uint64_t h = 0xcbf29ce484222325ULL;
      while (i < text.size() && is_word(text[i])) {
        unsigned char c = static_cast<unsigned char>(text[i++]);
        if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + 32);
        h = (h ^ c) * 0x100000001b3ULL;
      }
      feats.push_back(bucket(h));
      if (m_bigrams && have_prev) feats.push_back(bucket(prev * 0x9E3779B97F4A7C15ULL ^ (h + 0x632BE59BD9B4E019ULL)));
      prev = h;
      have_prev = true;
    }
    std::sort(feats.begin(), feats.end());
    std::vector<std::pair<std::uint32_t, float>> out;
    for (std::size_t a = 0; a < feats.size();) {
      std::size_t b = a;
      while (b < feats.size() && feats[b] == feats[a]) ++b;
      out.emplace_back(feats[a], static_cast<float>(b - a));
      a = b;
    }
    return out;
  }

  // Fits the idf on `docs` and returns their feature vectors.
  std::vector<SparseVector> fit_transform(std::span<const std::string_view> docs) {
    std::vector<std::vector<std::pair<std::uint32_t, float>>> c(docs.size());
    std::vector<std::uint32_t> df(m_mask + 1, 0);
    for (std::size_t i = 0; i < docs.size(); ++i) {
      c[i] = counts(docs[i]);
      for (const auto& [f, n] : c[i]) ++df[f];
    }
    m_idf.assign(m_mask + 1, 0.0f);
    const double n = static_cast<double>(docs.size());
    const bool prune = docs.size() >= 8;  // tiny inputs keep every feature
    for (std::size_t f = 0; f <= m_mask; ++f)
      if (!prune || (df[f] >= 2 && double(df[f]) <= 0.5 * n))
        m_idf[f] = static_cast<float>(std::log((1.0 + n) / (1.0 + df[f])) + 1.0);
    std::vector<SparseVector> out(docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) out[i] = weigh(c[i]);
    return out;
  }

  [[nodiscard]] SparseVector transform(std::string_view doc) const {
    DMA_ASSERT(!m_idf.empty(), "TfidfFeaturizer::transform before fit_transform");
    return weigh(counts(doc));
  }
  [[nodiscard]] std::size_t dimension() const noexcept { return std::size_t(m_mask) + 1; }

 private:
  static bool is_word(char ch) noexcept {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
  }
  [[nodiscard]] std::uint32_t bucket(std::uint64_t h) const noexcept {
    std::uint64_t s = h;
    return static_cast<std::uint32_t>(splitmix64(s)) & m_mask;
  }
  [[nodiscard]] SparseVector weigh(const std::vector<std::pair<std::uint32_t, float>>& c) const {
    SparseVector v;
    double norm = 0;
    for (const auto& [f, n] : c) {
      if (m_idf[f] == 0.0f) continue;  // pruned feature
      const float w = (1.0f + std::log(n)) * m_idf[f];
      v.index.push_back(f);
      v.value.push_back(w);
      norm += double(w) * w;
    }
    if (norm > 0) {
      const auto inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (auto& x : v.value) x *= inv;
    }
    return v;
  }

  std::uint32_t m_mask;
  std::size_t m_max_bytes;
  bool m_bigrams;
  std::vector<float> m_idf;
};

// Spherical k-means over TF-IDF vectors. Cluster ids are canonical: ordered by size (largest
// first, ties by the lowest document index), so that two runs that find the same partition also
// give it the same ids.
class DomainClassifier {
 public:
  explicit DomainClassifier(ClassifierConfig cfg = {})
      : m_cfg(cfg), m_features(cfg.feature_bits, cfg.max_doc_bytes, cfg.bigrams) {
    if (cfg.clusters < 1) fail("classifier: clusters must be >= 1");
  }

  // Clusters `docs`; returns one cluster id in [0, K) per document.
  std::vector<std::uint32_t> fit(std::span<const std::string_view> docs, const Rng& rng) {
    const std::size_t K = m_cfg.clusters;
    if (docs.size() < K) fail("classifier: ", docs.size(), " documents cannot form ", K, " clusters");
    const auto X = m_features.fit_transform(docs);
    const std::size_t F = m_features.dimension();
    double best = -std::numeric_limits<double>::infinity();
    std::vector<std::uint32_t> best_labels;
    std::vector<float> best_c;
    for (std::size_t r = 0; r < std::max<std::size_t>(1, m_cfg.restarts); ++r) {
      Rng g = rng.split(hash_tag("kmeans-restart") + r);
      std::vector<float> C(F * K, 0.0f);  // feature-major: C[f * K + k]
      std::vector<std::uint32_t> labels(X.size(), 0);
      seed_plus_plus(X, C, K, g);
      std::size_t it = 0;
      double obj = 0;
      for (; it < m_cfg.max_iterations; ++it) {
        const bool changed = assign_all(X, C, K, labels, obj);
        if (!changed && it > 0) break;
        update(X, C, K, labels);
      }
      assign_all(X, C, K, labels, obj);
      if (obj > best + 1e-9) {
        best = obj;
        best_labels = labels;
        best_c = C;
        m_iterations = it;
      }
    }
    canonicalise(best_labels, best_c, K, F);
    m_centroids = std::move(best_c);
    m_objective = best;
    return best_labels;
  }

  // The nearest centroid of a new document (by cosine).
  [[nodiscard]] std::uint32_t assign(std::string_view doc) const {
    DMA_ASSERT(!m_centroids.empty(), "DomainClassifier::assign before fit");
    const auto x = m_features.transform(doc);
    std::vector<float> acc(m_cfg.clusters, 0.0f);
    dots(x, m_centroids, m_cfg.clusters, acc);
    return static_cast<std::uint32_t>(std::max_element(acc.begin(), acc.end()) - acc.begin());
  }

  [[nodiscard]] std::size_t clusters() const noexcept { return m_cfg.clusters; }
  // Mean cosine similarity of documents to their centroid (higher is tighter).
  [[nodiscard]] double objective() const noexcept { return m_objective; }
  [[nodiscard]] std::size_t iterations() const noexcept { return m_iterations; }

 private:
  static void dots(const SparseVector& x, const std::vector<float>& C, std::size_t K, std::vector<float>& acc) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (std::size_t j = 0; j < x.index.size(); ++j) {
      const float v = x.value[j];
      const float* c = C.data() + std::size_t(x.index[j]) * K;
      for (std::size_t k = 0; k < K; ++k) acc[k] += v * c[k];
    }
  }

  // k-means++ (Arthur & Vassilvitskii 2007): each next centre is a document drawn with
  // probability proportional to its squared distance to the nearest centre, 2(1 - cos) here.
  static void seed_plus_plus(const std::vector<SparseVector>& X, std::vector<float>& C, std::size_t K, Rng& g) {
    const std::size_t n = X.size();
    std::vector<double> best_sim(n, -1.0);
    std::size_t pick = g.below(static_cast<std::uint32_t>(n));
    for (std::size_t k = 0; k < K; ++k) {
      const auto& c = X[pick];
      for (std::size_t j = 0; j < c.index.size(); ++j) C[std::size_t(c.index[j]) * K + k] = c.value[j];
      // Similarity of every document to the new centre (scattered into column k of C).
      for (std::size_t i = 0; i < n; ++i) {
        const auto& x = X[i];
        double s = 0;
        for (std::size_t j = 0; j < x.index.size(); ++j) s += double(x.value[j]) * C[std::size_t(x.index[j]) * K + k];
        best_sim[i] = std::max(best_sim[i], s);
      }
      if (k + 1 == K) break;
      double total = 0;
      for (std::size_t i = 0; i < n; ++i) total += std::max(0.0, 1.0 - best_sim[i]);
      if (total <= 0) {  // every document equals a centre: take the next unused one in order
        pick = (pick + 1) % n;
        continue;
      }
      double u = g.uniform() * total;
      pick = n - 1;
      for (std::size_t i = 0; i < n; ++i) {
        u -= std::max(0.0, 1.0 - best_sim[i]);
        if (u < 0) {
          pick = i;
          break;
        }
      }
    }
  }

  // Assigns every document to its most similar centroid; returns whether any label changed.
  static bool assign_all(const std::vector<SparseVector>& X, const std::vector<float>& C, std::size_t K,
                         std::vector<std::uint32_t>& labels, double& objective) {
    bool changed = false;
    std::vector<float> acc(K);
    objective = 0;
    for (std::size_t i = 0; i < X.size(); ++i) {
      dots(X[i], C, K, acc);
      const auto k = static_cast<std::uint32_t>(std::max_element(acc.begin(), acc.end()) - acc.begin());
      changed |= (k != labels[i]);
      labels[i] = k;
      objective += acc[k];
    }
    objective /= double(X.size());
    return changed;
  }

  // Centroid = normalised sum of its documents. An empty cluster takes the document that is
  // least similar to its own centroid (deterministic; keeps K clusters alive).
  static void update(const std::vector<SparseVector>& X, std::vector<float>& C, std::size_t K,
                     std::vector<std::uint32_t>& labels) {
    std::vector<float> old = C;
    std::fill(C.begin(), C.end(), 0.0f);
    std::vector<std::size_t> count(K, 0);
    for (std::size_t i = 0; i < X.size(); ++i) {
      const auto& x = X[i];
      const std::size_t k = labels[i];
      ++count[k];
      for (std::size_t j = 0; j < x.index.size(); ++j) C[std::size_t(x.index[j]) * K + k] += x.value[j];
    }
    std::vector<char> taken(X.size(), 0);
    for (std::size_t k = 0; k < K; ++k) {
      if (count[k] > 0) continue;
      std::size_t worst = 0;
      double worst_sim = std::numeric_limits<double>::infinity();
      std::vector<float> acc(K);
      for (std::size_t i = 0; i < X.size(); ++i) {
        if (taken[i] || count[labels[i]] <= 1) continue;
        dots(X[i], old, K, acc);
        if (acc[labels[i]] < worst_sim) {
          worst_sim = acc[labels[i]];
          worst = i;
        }
      }
      taken[worst] = 1;
      const auto& x = X[worst];
      const std::size_t from = labels[worst];
      for (std::size_t j = 0; j < x.index.size(); ++j) {
        C[std::size_t(x.index[j]) * K + from] -= x.value[j];
        C[std::size_t(x.index[j]) * K + k] += x.value[j];
      }
      --count[from];
      ++count[k];
      labels[worst] = static_cast<std::uint32_t>(k);
    }
    std::vector<double> norm(K, 0.0);
    const std::size_t F = C.size() / K;
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t k = 0; k < K; ++k) norm[k] += double(C[f * K + k]) * C[f * K + k];
    for (std::size_t k = 0; k < K; ++k) norm[k] = norm[k] > 0 ? 1.0 / std::sqrt(norm[k]) : 0.0;
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t k = 0; k < K; ++k) C[f * K + k] = static_cast<float>(C[f * K + k] * norm[k]);
  }

  static void canonicalise(std::vector<std::uint32_t>& labels, std::vector<float>& C, std::size_t K, std::size_t F) {
    std::vector<std::size_t> size(K, 0), first(K, std::numeric_limits<std::size_t>::max());
    for (std::size_t i = 0; i < labels.size(); ++i) {
      ++size[labels[i]];
      first[labels[i]] = std::min(first[labels[i]], i);
    }
    std::vector<std::uint32_t> order(K);
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return size[a] != size[b] ? size[a] > size[b] : first[a] < first[b];
    });
    std::vector<std::uint32_t> rank(K);
    for (std::uint32_t r = 0; r < K; ++r) rank[order[r]] = r;
    for (auto& l : labels) l = rank[l];
    std::vector<float> D(C.size());
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t k = 0; k < K; ++k) D[f * K + rank[k]] = C[f * K + k];
    C = std::move(D);
  }

  ClassifierConfig m_cfg;
  TfidfFeaturizer m_features;
  std::vector<float> m_centroids;
  double m_objective = 0;
  std::size_t m_iterations = 0;
};

// Adjusted Rand index (Hubert & Arabie 1985): agreement of two partitions of the same items,
// 1 for identical partitions (up to renaming), about 0 for independent ones.
inline double adjusted_rand_index(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b) {
  if (a.size() != b.size()) fail("adjusted_rand_index: partitions of ", a.size(), " and ", b.size(), " items");
  const std::size_t n = a.size();
  if (n < 2) return 1.0;
  const std::size_t ka = *std::max_element(a.begin(), a.end()) + 1, kb = *std::max_element(b.begin(), b.end()) + 1;
  std::vector<double> table(ka * kb, 0.0), ra(ka, 0.0), rb(kb, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    table[a[i] * kb + b[i]] += 1;
    ra[a[i]] += 1;
    rb[b[i]] += 1;
  }
  auto c2 = [](double x) { return x * (x - 1) / 2; };
  double sum_ij = 0, sum_a = 0, sum_b = 0;
  for (double x : table) sum_ij += c2(x);
  for (double x : ra) sum_a += c2(x);
  for (double x : rb) sum_b += c2(x);
  const double expected = sum_a * sum_b / c2(double(n));
  const double max_index = (sum_a + sum_b) / 2;
  if (max_index == expected) return 1.0;  // both partitions trivial (one cluster or singletons)
  return (sum_ij - expected) / (max_index - expected);
}

}  // namespace dma::space
