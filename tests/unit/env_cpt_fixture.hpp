// tests/unit/env_cpt_fixture.hpp: a tiny synthetic corpus and a tiny proxy config for the env::Cpt
// tests (env_cpt.cpp, env_cpt_base.cpp): two source domains of different character (word prose,
// key=value records) and one math target in the corpus's "Question/Answer/####" format, all made
// with dma::Rng so the corpus is identical on every platform. Base models are cached in a
// per-process temporary folder that is removed at exit.
#pragma once

#include <dma/env/cpt.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace cpt_test {

inline std::string prose(dma::Rng& r, std::size_t bytes) {
  static const char* words[] = {"the", "river", "stone", "quiet", "house", "and", "of", "light", "morning",
                                "wind", "a", "garden", "walked", "slowly", "under", "bright", "old", "door"};
  std::string s;
  while (s.size() < bytes) {
    s += words[r.below(18)];
    s += r.below(9) == 0 ? ".\n" : " ";
  }
  return s;
}
inline std::string records(dma::Rng& r, std::size_t bytes) {
  static const char* keys[] = {"id", "size", "mode", "flags", "offset", "count"};
  std::string s;
  while (s.size() < bytes) s += std::string(keys[r.below(6)]) + "=" + std::to_string(r.below(5000)) + ";\n";
  return s;
}
inline std::string math(dma::Rng& r) {
  const unsigned a = r.below(50), b = r.below(50);
  return "Question: Tom has " + std::to_string(a) + " apples and buys " + std::to_string(b) +
         " more. How many apples does he have?\nAnswer: " + std::to_string(a) + " + " + std::to_string(b) + " = " +
         std::to_string(a + b) + "\n#### " + std::to_string(a + b) + "\n\n";
}

// Three domains: prose (source), records (source), math (target).
inline dma::env::CptData corpus() {
  dma::Rng r(2024);
  std::vector<dma::DomainInfo> info{{"prose", dma::Field::Source}, {"records", dma::Field::Source},
                                    {"math", dma::Field::Target}};
  std::vector<std::vector<dma::Token>> train(3);
  std::vector<std::vector<std::string>> held(3);
  auto add = [&](std::size_t d, const std::string& text, bool heldout) {
    if (heldout) {
      held[d].push_back(text);
      return;
    }
    for (unsigned char c : text) train[d].push_back(c);
    train[d].push_back(dma::data::ByteTokenizer::kEos);
  };
  for (int i = 0; i < 60; ++i) add(0, prose(r, 400), i >= 54);
  for (int i = 0; i < 60; ++i) add(1, records(r, 400), i >= 54);
  for (int i = 0; i < 400; ++i) add(2, math(r), i >= 370);
  return dma::env::CptData::from_memory(info, std::move(train), std::move(held), "test corpus");
}

inline std::filesystem::path cache_dir() {
  struct Dir {
    std::filesystem::path p = std::filesystem::temp_directory_path() /
                              ("dma_env_cpt_test_" + std::to_string(::getpid()));
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  };
  static Dir dir;
  return dir.p;
}

inline dma::env::CptConfig config() {
  dma::env::CptConfig c;
  c.base.model.d_model = 32;
  c.base.model.layers = 1;
  c.base.model.heads = 2;
  c.base.model.context = 32;
  c.base.tokens = 16384;  // 128 steps of 4 x 32
  c.base.batch = 4;
  c.base.peak_lr = 3e-3f;
  c.base.cache_dir = cache_dir();
  c.stages = 4;
  c.tokens_per_stage = 512;  // 4 steps of 4 x 32
  c.batch = 4;
  c.peak_lr = 2e-3f;
  c.eval.windows = 8;
  c.eval.probe_items = 4;
  c.eval.probe_context_bytes = 16;
  c.eval.probe_answer_bytes = 16;
  c.eval.batch = 8;
  c.eval.final_windows = 16;
  c.eval.final_probe_items = 8;
  c.eval.final_exact_items = 2;
  c.eval.exact_max_bytes = 24;
  return c;
}

inline std::shared_ptr<const dma::env::CptWorld<>> world(const dma::env::CptConfig& c = config()) {
  const auto data = corpus();
  return dma::env::CptWorld<>::create(c, data, data, false);
}

}  // namespace cpt_test
