// Token shards and held-out files: round trip, and rejection of bad files with a clear error.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/file_io.hpp"
#include "dma/data/corpus.hpp"
#include "dma/data/shard.hpp"
#include "dma/data/tokenizer.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_data_shard {

namespace fs = std::filesystem;
using dma::test::error_of;
using dma::test::TempDir;
using dma::data::ByteTokenizer;
using dma::data::Document;

namespace {

// A tokenizer with another id, to check that shards refuse to be read with it.
struct OtherTokenizer : ByteTokenizer {
  [[nodiscard]] std::string id() const { return "other-v1"; }
};

std::vector<Document> sample_docs() {
  return {{"a", "Call me Ishmael."}, {"b", ""}, {"c", "Caf\xC3\xA9 \xE2\x80\x94 na\xC3\xAFve"}};
}

}  // namespace

TEST_CASE("shard: train tokens round-trip with EOS after every document", "[data][cpu]") {
  TempDir dir("shard_rt");
  const auto docs = sample_docs();
  const auto path = dir.path / "d.train.tok";
  dma::data::write_train_shard(path, docs, ByteTokenizer{});
  const auto shard = dma::data::TrainShard::open(path, ByteTokenizer{});
  REQUIRE(shard.documents() == 3);
  REQUIRE(shard.tokenizer() == "byte-v1");
  std::vector<dma::Token> expected;
  for (const auto& d : docs) {
    for (unsigned char c : d.text) expected.push_back(c);
    expected.push_back(ByteTokenizer::kEos);
  }
  const auto toks = shard.tokens();
  REQUIRE(toks.size() == expected.size());
  CHECK(std::vector<dma::Token>(toks.begin(), toks.end()) == expected);
  CHECK(reinterpret_cast<std::uintptr_t>(toks.data()) % 8 == 0);
}

TEST_CASE("shard: held-out documents come back whole, with their ids", "[data][cpu]") {
  TempDir dir("shard_ho");
  const auto docs = sample_docs();
  dma::data::write_heldout(dir.path / "d.heldout.docs", docs);
  auto h = dma::data::HeldoutDocs::open(dir.path / "d.heldout.docs");
  const auto moved = std::move(h);
  REQUIRE(moved.size() == 3);
  for (std::size_t i = 0; i < docs.size(); ++i) {
    CHECK(moved.id(i) == docs[i].id);
    CHECK(moved.text(i) == docs[i].text);
  }
  CHECK(moved.bytes() == docs[0].text.size() + docs[2].text.size());
}

TEST_CASE("shard: truncated, corrupted, foreign-version and foreign-tokenizer files are rejected", "[data][cpu]") {
  TempDir dir("shard_bad");
  const auto docs = sample_docs();
  const std::string good = dma::data::encode_train_shard(docs, ByteTokenizer{});
  const auto path = dir.path / "x.train.tok";
  auto open_with = [&](const std::string& bytes) {
    dma::io::atomic_write(path, bytes);
    return error_of([&] { (void)dma::data::TrainShard::open(path, ByteTokenizer{}); });
  };

  const std::string truncated = open_with(good.substr(0, good.size() - 7));
  CHECK_THAT(truncated, Catch::Contains(path.string()) && Catch::Contains("truncated"));

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;
  CHECK_THAT(open_with(flipped), Catch::Contains("checksum mismatch"));

  std::string version = good;
  version[8] = 9;  // the u32 version follows the 8-byte magic
  CHECK_THAT(open_with(version), Catch::Contains("unsupported version 9"));

  CHECK_THAT(open_with("not a shard at all, just text"), Catch::Contains("bad magic"));

  dma::io::atomic_write(path, good);
  const std::string other = error_of([&] { (void)dma::data::TrainShard::open(path, OtherTokenizer{}); });
  CHECK_THAT(other, Catch::Contains("byte-v1") && Catch::Contains("other-v1") && Catch::Contains(path.string()));

  const auto missing = error_of([&] { (void)dma::data::TrainShard::open(dir.path / "none.tok", ByteTokenizer{}); });
  CHECK_THAT(missing, Catch::Contains("none.tok") && Catch::Contains("cannot open"));

  std::string held = dma::data::encode_heldout(docs);
  dma::io::atomic_write(dir.path / "h.docs", held.substr(0, held.size() - 1));
  CHECK_THAT(error_of([&] { (void)dma::data::HeldoutDocs::open(dir.path / "h.docs"); }), Catch::Contains("h.docs"));
}

TEST_CASE("shard: a shard set folder gives one span per domain and models DomainSpace", "[data][cpu]") {
  TempDir dir("shard_set");
  const std::vector<Document> a{{"1", "aaaa"}}, b{{"2", "bb"}, {"3", "b"}}, none{};
  dma::data::write_domain_shards(dir.path, "alpha", a, none, ByteTokenizer{});
  dma::data::write_domain_shards(dir.path, "beta", b, a, ByteTokenizer{});
  dma::Json idx = {{"format", "dma-shards"}, {"version", 1}, {"tokenizer", "byte-v1"},
                   {"domains", {{{"name", "alpha"}, {"field", "source"}, {"train", "alpha.train.tok"}, {"heldout", "alpha.heldout.docs"}},
                                {{"name", "beta"}, {"field", "target"}, {"train", "beta.train.tok"}, {"heldout", "beta.heldout.docs"}}}}};
  dma::save_json(dir.path / "space.json", idx);
  const auto set = dma::data::ShardSet::open(dir.path, ByteTokenizer{});
  REQUIRE(set.size() == 2);
  CHECK(set.field(1) == dma::Field::Target);
  const auto spans = set.train_spans();
  CHECK(spans[0].size() == 5);
  CHECK(spans[1].size() == 5);
  CHECK(set[1].heldout.text(0) == "aaaa");

  idx["domains"][1]["field"] = "tgt";
  dma::save_json(dir.path / "space.json", idx);
  CHECK_THAT(error_of([&] { (void)dma::data::ShardSet::open(dir.path, ByteTokenizer{}); }),
             Catch::Contains("domains[1].field"));
}

TEST_CASE("corpus: held-out split is by document id, stable under reordering", "[data][cpu]") {
  std::vector<Document> docs;
  for (int i = 0; i < 2000; ++i) docs.push_back({"doc" + std::to_string(i), std::string(100, 'x')});
  auto s1 = dma::data::split_heldout("fiction", docs);
  std::vector<Document> reversed(docs.rbegin(), docs.rend());
  auto s2 = dma::data::split_heldout("fiction", reversed);
  REQUIRE(s1.heldout.size() == s2.heldout.size());
  CHECK(s1.heldout.size() > 60);  // ~5% of 2000 = 100
  CHECK(s1.heldout.size() < 140);
  std::set<std::string> ids1, ids2;
  for (const auto& d : s1.heldout) ids1.insert(d.id);
  for (const auto& d : s2.heldout) ids2.insert(d.id);
  CHECK(ids1 == ids2);
  CHECK(s1.train.size() + s1.heldout.size() == docs.size());
  // The byte cap limits the held-out set.
  auto capped = dma::data::split_heldout("fiction", docs, 0.05, 1000);
  CHECK(capped.heldout.size() == 10);
}

TEST_CASE("corpus: JSON lines documents round-trip and bad lines are named", "[data][cpu]") {
  TempDir dir("corpus_jsonl");
  const auto docs = sample_docs();
  dma::data::write_jsonl_documents(dir.path / "d.jsonl", docs);
  const auto back = dma::data::read_documents({dir.path / "d.jsonl"});
  REQUIRE(back.size() == 3);
  CHECK(back[2].text == docs[2].text);
  dma::io::atomic_write(dir.path / "bad.jsonl", "{\"id\": \"x\", \"text\": \"ok\"}\n{\"id\": \"y\"}\n");
  CHECK_THAT(error_of([&] { (void)dma::data::read_documents({dir.path / "bad.jsonl"}); }),
             Catch::Contains("bad.jsonl:2") && Catch::Contains("'text'"));
}

}  // namespace dma_test_data_shard
