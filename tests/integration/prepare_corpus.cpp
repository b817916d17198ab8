// scripts/prepare_corpus.py on a tiny unpacked-package tree written here (no network), read back
// by the C++ side: manifest parsing, documents, shards; a second run rebuilds nothing; missing
// optional data is reported as "not available". Skipped when Debian's python3 is absent.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/data/manifest.hpp"
#include "dma/data/shard.hpp"
#include "dma/space/manifest.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_prepare_corpus {

namespace fs = std::filesystem;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = ::pclose(p);
  INFO(out);
  REQUIRE(rc == 0);
  return out;
}

void package(const fs::path& raw, const std::string& name, const std::string& version) {
  dma::io::atomic_write(raw / name / ".control", "Package: " + name + "\nVersion: " + version + "\n");
  dma::io::atomic_write(raw / name / ".stamp", "0000 " + name + ".deb\n");
}

}  // namespace

TEST_CASE("prepare: python extraction writes a manifest the C++ side reads; reruns are no-ops", "[data][integration]") {
  const fs::path python = "/usr/bin/python3";
  const fs::path script = fs::path(DMA_TEST_DATA_DIR) / ".." / ".." / "scripts" / "prepare_corpus.py";
  if (!fs::exists(python) || !fs::exists(script)) {
    WARN("python3 or scripts/prepare_corpus.py not available: skipped");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / dma::detail::concat("dma_prepare_", ::getpid());
  fs::remove_all(dir);
  const fs::path raw = dir / "raw", out = dir / "out";

  // fortunes: two files of %-separated entries (grouped into ~8 KB documents).
  package(raw, "fortunes", "1:1.0");
  std::string quotes;
  for (int i = 0; i < 400; ++i) quotes += dma::detail::concat("Quote number ", i, " says something wise.\n%\n");
  dma::io::atomic_write(raw / "fortunes/usr/share/games/fortunes/wisdom", quotes);
  dma::io::atomic_write(raw / "fortunes/usr/share/games/fortunes/wisdom.dat", "binary index");
  // spdx: one document per licence text.
  package(raw, "spdx-license-list", "6.12.0");
  std::string spdx = "{";
  for (int i = 0; i < 30; ++i)
    spdx += dma::detail::concat(i ? "," : "", "\"L-", i, "\": {\"name\": \"x\", \"licenseText\": \"Licence ", i,
                                " text\\r\\nwith CRLF   \\n\\n\\n\\nand blank lines\"}");
  dma::io::atomic_write(raw / "spdx-license-list/package/spdx-full.json", spdx + "}");
  // math: the generator hook prints JSON lines.
  dma::io::atomic_write(dir / "gen.jsonl", "{\"id\": \"g1\", \"text\": \"1 + 1 = 2\"}\n{\"id\": \"g2\", \"text\": \"2 + 2 = 4\"}\n");
  const std::string math_cmd = "cat " + (dir / "gen.jsonl").string();

  const std::string cmd = dma::detail::concat(python.string(), " ", script.string(), " --raw ", raw.string(), " --out ",
                                              out.string(), " --gsm8k ", (dir / "no-gsm8k").string(), " --math-cmd \"",
                                              math_cmd, "\"");
  const std::string first = run(cmd);
  CHECK_THAT(first, Catch::Contains("GSM8K train not available"));
  CHECK_THAT(first, Catch::Contains("fiction: not available"));

  const auto m = dma::data::CorpusManifest::load(out / "manifest.json");
  m.check_files();
  REQUIRE(m.domains.size() == 3);  // legal, quotes, math
  CHECK(m.domains[0].name == "legal");
  CHECK(m.domains[0].documents == 30);
  CHECK(m.domains[0].sources[0].version == "6.12.0");
  CHECK(m.domains[2].name == "math");
  CHECK(m.domains[2].field == dma::Field::Target);
  CHECK(m.unavailable.size() >= 9);

  const auto space = dma::space::from_manifest(out / "manifest.json");
  const auto legal = space.documents(0);
  REQUIRE(legal.train.size() + legal.heldout.size() == 30);
  CHECK(legal.heldout.size() >= 1);
  const auto& text = legal.train.front().text;
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("\n\n\n") == std::string::npos);
  const auto quotes_docs = space.documents(1);
  CHECK(quotes_docs.train.size() + quotes_docs.heldout.size() == 2);  // 400 short entries -> ~8 KB groups

  dma::data::write_shard_set(space, out / "shards");
  const auto shards = dma::data::ShardSet::open(out / "shards", dma::data::ByteTokenizer{});
  CHECK(shards.size() == 3);
  CHECK(shards.field(2) == dma::Field::Target);
  CHECK(shards[2].train.documents() + shards[2].heldout.size() == 2);

  const auto before = fs::last_write_time(out / "corpus/legal/train.jsonl");
  const std::string second = run(cmd);
  CHECK_THAT(second, Catch::Contains("up to date"));
  CHECK(fs::last_write_time(out / "corpus/legal/train.jsonl") == before);
  fs::remove_all(dir);
}

}  // namespace dma_test_prepare_corpus
