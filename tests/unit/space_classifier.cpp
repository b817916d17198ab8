// Domain classifier: planted clusters are recovered, stable under reseeding; KdSpace over a corpus.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/core/rng.hpp"
#include "dma/data/corpus.hpp"
#include "dma/space/classifier.hpp"
#include "dma/space/kd.hpp"
#include "dma/space/manifest.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_space_classifier {

namespace fs = std::filesystem;
using dma::space::adjusted_rand_index;

namespace {

// T topics, each with its own 60-word vocabulary; every document draws 70% of its words from its
// topic and 30% from 40 words shared by all topics.
struct Planted {
  std::vector<std::string> docs;
  std::vector<std::uint32_t> topic;
};

Planted planted_corpus(std::uint32_t topics, std::size_t per_topic, std::uint64_t seed) {
  dma::Rng rng(seed);
  auto word = [](std::uint32_t group, std::uint32_t i) {
    std::string w = "w";  // appended piecewise: g++ 12 warns (-Wrestrict) on a chain of string +
    w += std::to_string(group);
    w += 'x';
    w += std::to_string(i);
    return w;
  };
  Planted p;
  for (std::size_t j = 0; j < per_topic; ++j)
    for (std::uint32_t t = 0; t < topics; ++t) {
      std::string doc;
      for (int w = 0; w < 120; ++w) {
        doc += rng.uniform() < 0.7 ? word(t, rng.below(60)) : word(999, rng.below(40));
        doc += ' ';
      }
      p.docs.push_back(std::move(doc));
      p.topic.push_back(t);
    }
  return p;
}

std::vector<std::string_view> views(const std::vector<std::string>& docs) {
  return {docs.begin(), docs.end()};
}

}  // namespace

TEST_CASE("classifier: adjusted Rand index matches known values", "[space][cpu]") {
  const std::vector<std::uint32_t> a{0, 0, 1, 1}, b{0, 0, 1, 2}, renamed{1, 1, 0, 0};
  CHECK(adjusted_rand_index(a, a) == Approx(1.0));
  CHECK(adjusted_rand_index(a, renamed) == Approx(1.0));
  CHECK(adjusted_rand_index(a, b) == Approx(4.0 / 7.0));  // the scikit-learn documentation example
  const std::vector<std::uint32_t> c{0, 0, 0, 1, 1, 1}, d{0, 1, 2, 0, 1, 2};
  CHECK(adjusted_rand_index(c, d) == Approx(-4.0 / 11.0));  // (0 - 6*3/15) / (4.5 - 1.2)
}

TEST_CASE("classifier: planted clusters are recovered and stable under reseeding", "[space][cpu]") {
  const auto p = planted_corpus(5, 40, 7);
  const auto v = views(p.docs);
  dma::space::ClassifierConfig cfg;
  cfg.clusters = 5;
  cfg.feature_bits = 14;
  std::vector<std::vector<std::uint32_t>> runs;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    dma::space::DomainClassifier clf(cfg);
    runs.push_back(clf.fit(v, dma::Rng(seed)));
    CHECK(adjusted_rand_index(runs.back(), p.topic) > 0.99);
    CHECK(clf.objective() > 0.2);
  }
  CHECK(adjusted_rand_index(runs[0], runs[1]) == Approx(1.0));
  CHECK(adjusted_rand_index(runs[0], runs[2]) == Approx(1.0));
  // Canonical ids: the same partition gets the same ids whatever the seed.
  CHECK(runs[0] == runs[1]);
  // Same seed, same labels (determinism).
  dma::space::DomainClassifier again(cfg);
  CHECK(again.fit(v, dma::Rng(1)) == runs[0]);
  // A new document goes to the cluster of its topic.
  const auto fresh = planted_corpus(5, 1, 99);
  for (std::size_t i = 0; i < fresh.docs.size(); ++i) {
    const auto k = again.assign(fresh.docs[i]);
    std::size_t same = 0, total = 0;
    for (std::size_t j = 0; j < p.docs.size(); ++j)
      if (p.topic[j] == fresh.topic[i]) {
        ++total;
        same += (runs[0][j] == k);
      }
    CHECK(same == total);
  }
}

TEST_CASE("classifier: more clusters than documents is a clear error", "[space][cpu]") {
  dma::space::ClassifierConfig cfg;
  cfg.clusters = 4;
  const std::vector<std::string_view> docs{"a b", "c d"};
  dma::space::DomainClassifier clf(cfg);
  CHECK_THROWS_WITH(clf.fit(docs, dma::Rng(1)), Catch::Contains("2 documents cannot form 4 clusters"));
}

TEST_CASE("k-d space: clusters of source documents become domains, targets are kept", "[space][cpu]") {
  const fs::path dir = fs::temp_directory_path() / dma::detail::concat("dma_kd_", ::getpid());
  fs::remove_all(dir);
  const auto p = planted_corpus(3, 30, 11);
  dma::space::Manifest m;
  for (std::uint32_t t = 0; t < 3; ++t) {
    std::vector<dma::data::Document> docs;
    for (std::size_t i = 0; i < p.docs.size(); ++i)
      if (p.topic[i] == t) docs.push_back({dma::detail::concat("d", i), p.docs[i]});
    const auto f = dir / dma::detail::concat("topic", t, ".jsonl");
    dma::data::write_jsonl_documents(f, docs);
    m = m.with_source(dma::detail::concat("topic", t), {f});
  }
  dma::data::write_jsonl_documents(dir / "target.jsonl", std::vector<dma::data::Document>{{"q1", "1 + 1 = 2"}, {"q2", "2 + 2 = 4"}});
  m = m.with_target("math", {dir / "target.jsonl"});

  dma::space::ClassifierConfig cfg;
  cfg.clusters = 3;
  cfg.feature_bits = 14;
  const auto kd = dma::space::KdSpace::build(m, cfg, dma::Rng(5));
  STATIC_REQUIRE(dma::DomainSpace<dma::space::KdSpace>);
  REQUIRE(kd.size() == 4);
  CHECK(kd.name(0) == "c00");
  CHECK(kd.name(3) == "math");
  CHECK(kd.field(2) == dma::Field::Source);
  CHECK(kd.field(3) == dma::Field::Target);
  CHECK(adjusted_rand_index(kd.cluster_labels(), kd.source_labels()) > 0.99);
  const auto conf = kd.confusion();
  std::size_t total = 0, held = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    std::size_t row = 0, top = 0;
    for (auto c : conf[k]) {
      row += c;
      top = std::max<std::size_t>(top, c);
    }
    CHECK(top == row);  // every cluster is pure
    total += row;
    held += kd.documents(k).heldout.size();
  }
  CHECK(total + held == 90);
  CHECK(kd.documents(3).train.size() + kd.documents(3).heldout.size() == 2);
  fs::remove_all(dir);
}

}  // namespace dma_test_space_classifier
