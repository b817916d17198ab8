// custom_domain_space: a user builds their own domain space from their own files, in a few lines.
//
//   custom_domain_space [--data DIR] [--out DIR] [--corpus PREPARED_CORPUS_DIR]
//
// DIR holds one folder (or *.jsonl file) per domain; with no --data, a tiny demo folder is written
// first. With --corpus, the user's domains are added to the prepared corpus's space instead of an
// empty one. The program writes token shards + space.json to --out and reads them back, which is
// what an environment does before training.
#include <cstdio>
#include <filesystem>
#include <string>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/data/shard.hpp"
#include "dma/data/tokenizer.hpp"
#include "dma/space/manifest.hpp"

namespace fs = std::filesystem;

// A demo corpus: two source domains of plain text files and one target domain of JSON lines.
static void write_demo(const fs::path& dir) {
  const char* recipes[] = {"Whisk two eggs with a cup of milk, then fold in the flour.",
                           "Simmer the lentils for twenty minutes with cumin and garlic.",
                           "Knead the dough, let it rise for an hour, then bake at 220 C."};
  const char* poems[] = {"The sea at dusk is grey and slow,\nthe gulls remember where to go.",
                         "A lamp, a chair, a book half read;\nthe night has nothing more to said.",
                         "Snow on the fence, snow on the hill,\nthe morning waits and holds so still."};
  for (int i = 0; i < 3; ++i) {
    dma::io::atomic_write(dir / "recipes" / dma::detail::concat("r", i, ".txt"), recipes[i]);
    dma::io::atomic_write(dir / "poems" / dma::detail::concat("p", i, ".txt"), poems[i]);
  }
  dma::io::atomic_write(dir / "math.jsonl",
                        "{\"id\": \"q1\", \"text\": \"Question: 3 + 4?\\nAnswer: 3 + 4 = <<3+4=7>>7\\n#### 7\"}\n"
                        "{\"id\": \"q2\", \"text\": \"Question: 6 * 7?\\nAnswer: 6 * 7 = <<6*7=42>>42\\n#### 42\"}\n");
}

int main(int argc, char** argv) try {
  const auto cfg = dma::Config::from_args(argc, argv);
  const fs::path out = cfg.get<std::string>("out", "out/custom_space");
  fs::path data = cfg.get<std::string>("data", "");
  if (data.empty()) {
    data = out / "demo_data";
    write_demo(data);
  }

  // 1. The space: the user's files, their fields (optionally on top of the prepared corpus).
  const dma::space::Manifest base =
      cfg.has("corpus") ? dma::space::from_manifest(fs::path(cfg.get<std::string>("corpus", "")) / "manifest.json")
                        : dma::space::Manifest{};
  const auto space = base.with_source("recipes", {data / "recipes"})
                         .with_source("poems", {data / "poems"})
                         .with_target("math", {data / "math.jsonl"});

  // 2. Token shards for every domain (held-out documents picked by a hash of their id).
  dma::data::write_shard_set(space, out / "shards");

  // 3. What an environment reads: one token span per domain, held-out documents as text.
  const auto shards = dma::data::ShardSet::open(out / "shards", dma::data::ByteTokenizer{});
  for (std::size_t i = 0; i < shards.size(); ++i)
    std::printf("%-12s %-6s %8zu train tokens, %3zu held-out documents\n", shards.name(i).c_str(),
                dma::to_string(shards.field(i)), shards[i].train.tokens().size(), shards[i].heldout.size());
  return 0;
} catch (const dma::Error& e) {
  std::fprintf(stderr, "custom_domain_space: %s\n", e.what());
  return 1;
}
