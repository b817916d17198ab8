// build_shards: prepared corpus (manifest.json + documents) -> token shards of one domain space.
//
//   build_shards --corpus .cache/dma-data [--space sources|two-field|kd] [--k 16] [--seed 1]
//                [--out DIR] [--stability 3] [--report FILE.md]
//
// Writes DIR/NAME.train.tok and DIR/NAME.heldout.docs per domain and DIR/space.json (the index
// data::ShardSet::open reads). Default DIR: CORPUS/shards/SPACE (kd: CORPUS/shards/kK-sSEED).
// For --space kd it prints the cluster-by-source confusion table and, with --stability N, the
// adjusted Rand index between the clusterings of N seeds (seed, seed+1, ...).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/progress.hpp"
#include "dma/core/rng.hpp"
#include "dma/data/shard.hpp"
#include "dma/data/tokenizer.hpp"
#include "dma/space/classifier.hpp"
#include "dma/space/kd.hpp"
#include "dma/space/manifest.hpp"
#include "dma/space/two_field.hpp"

namespace fs = std::filesystem;

namespace {

std::string confusion_markdown(const dma::space::KdSpace& kd) {
  const auto t = kd.confusion();
  const auto& names = kd.source_names();
  std::string md = "| cluster |";
  for (const auto& n : names) md += dma::detail::concat(" ", n, " |");
  md += " total | largest source (share) |\n|---|";
  for (std::size_t s = 0; s <= names.size(); ++s) md += "---:|";
  md += "---|\n";
  for (std::size_t k = 0; k < t.size(); ++k) {
    std::size_t total = 0, top = 0;
    for (std::size_t s = 0; s < names.size(); ++s) {
      total += t[k][s];
      if (t[k][s] > t[k][top]) top = s;
    }
    md += dma::detail::concat("| ", kd.name(k), " |");
    for (std::size_t s = 0; s < names.size(); ++s) md += dma::detail::concat(" ", t[k][s], " |");
    char share[64];
    std::snprintf(share, sizeof share, "%s (%.0f%%)", names[top].c_str(), total ? 100.0 * t[k][top] / total : 0.0);
    md += dma::detail::concat(" ", total, " | ", share, " |\n");
  }
  return md;
}

}  // namespace

int main(int argc, char** argv) try {
  const auto cfg = dma::Config::from_args(argc, argv);
  const fs::path corpus = cfg.get<std::string>("corpus", ".cache/dma-data");
  const fs::path manifest_path = cfg.get<std::string>("manifest", (corpus / "manifest.json").string());
  const std::string kind = cfg.get<std::string>("space", "sources");
  const auto seed = cfg.get<std::uint64_t>("seed", 1);
  const auto manifest = dma::space::from_manifest(manifest_path, cfg.get<bool>("verify_sha256", false));
  const dma::data::ByteTokenizer tok;

  if (kind == "sources") {
    dma::data::write_shard_set(manifest, cfg.get<std::string>("out", (corpus / "shards" / "sources").string()), tok, true);
  } else if (kind == "two-field") {
    dma::data::write_shard_set(dma::space::TwoField(manifest),
                               cfg.get<std::string>("out", (corpus / "shards" / "two-field").string()), tok, true);
  } else if (kind == "kd") {
    dma::space::ClassifierConfig ccfg;
    ccfg.clusters = cfg.get<std::size_t>("k", 16);
    ccfg.restarts = cfg.get<std::size_t>("restarts", ccfg.restarts);
    const std::string tag = dma::detail::concat("k", ccfg.clusters, "-s", seed);
    dma::Progress timer("cluster", 1);
    const auto kd = dma::space::KdSpace::build(manifest, ccfg, dma::Rng(seed));
    std::printf("k-d space: %zu clusters of %zu source documents, mean cosine to centroid %.4f, %.1f s\n",
                kd.clusters(), kd.cluster_labels().size(), kd.objective(), timer.elapsed());
    std::string report = dma::detail::concat("### K = ", ccfg.clusters, ", seed ", seed,
                                             " (train documents per cluster and source domain)\n\n",
                                             confusion_markdown(kd));
    std::printf("ARI(clusters, source labels) = %.4f\n",
                dma::space::adjusted_rand_index(kd.cluster_labels(), kd.source_labels()));
    const auto runs = cfg.get<std::size_t>("stability", 0);
    if (runs > 1) {
      std::vector<std::vector<std::uint32_t>> labels{kd.cluster_labels()};
      for (std::size_t r = 1; r < runs; ++r)
        labels.push_back(dma::space::KdSpace::build(manifest, ccfg, dma::Rng(seed + r)).cluster_labels());
      report += "\nStability under reseeding (adjusted Rand index between seeds):\n\n";
      double sum = 0, lo = 1;
      std::size_t pairs = 0;
      for (std::size_t a = 0; a < runs; ++a)
        for (std::size_t b = a + 1; b < runs; ++b) {
          const double ari = dma::space::adjusted_rand_index(labels[a], labels[b]);
          char line[96];
          std::snprintf(line, sizeof line, "- seed %zu vs seed %zu: ARI %.4f\n", std::size_t(seed + a), std::size_t(seed + b), ari);
          report += line;
          sum += ari;
          lo = std::min(lo, ari);
          ++pairs;
        }
      char line[96];
      std::snprintf(line, sizeof line, "- mean %.4f, min %.4f over %zu pairs\n", sum / pairs, lo, pairs);
      report += line;
    }
    std::printf("%s", report.c_str());
    if (cfg.has("report")) dma::io::atomic_write(cfg.get<std::string>("report", ""), report);
    dma::data::write_shard_set(kd, cfg.get<std::string>("out", (corpus / "shards" / tag).string()), tok, true);
  } else {
    dma::fail("build_shards: --space: expected sources, two-field or kd, got '", kind, "'");
  }
  return 0;
} catch (const dma::Error& e) {
  std::fprintf(stderr, "build_shards: %s\n", e.what());
  return 1;
}
