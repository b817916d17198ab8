// space::Manifest from a corpus manifest: parsing, errors naming the field, with_target, TwoField.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/core/file_io.hpp"
#include "dma/data/corpus.hpp"
#include "dma/data/manifest.hpp"
#include "dma/space/manifest.hpp"
#include "dma/space/two_field.hpp"

#include "../support/error_of.hpp"
#include "../support/temp_dir.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_space_manifest {

namespace fs = std::filesystem;
using dma::test::error_of;
using dma::test::TempDir;
using dma::Field;
using dma::Json;

namespace {

Json file_entry(const fs::path& root, const std::string& rel, std::size_t docs) {
  return {{"path", rel}, {"bytes", fs::file_size(root / rel)}, {"documents", docs}, {"sha256", std::string(64, '0')}};
}

// A corpus folder as prepare_corpus.py writes it: two source domains and one target.
Json write_corpus(const fs::path& root) {
  Json domains = Json::array();
  const std::vector<std::pair<std::string, std::string>> spec{{"fiction", "source"}, {"legal", "source"}, {"code", "target"}};
  for (const auto& [name, field] : spec) {
    std::vector<dma::data::Document> train{{name + "-1", "train text of " + name}, {name + "-2", "more " + name}};
    std::vector<dma::data::Document> held{{name + "-3", "held-out " + name}};
    const std::string dir = "corpus/" + name + "/";
    dma::data::write_jsonl_documents(root / (dir + "train.jsonl"), train);
    dma::data::write_jsonl_documents(root / (dir + "heldout.jsonl"), held);
    domains.push_back({{"name", name}, {"field", field}, {"bytes", 40}, {"documents", 3},
                       {"files", {{"train", file_entry(root, dir + "train.jsonl", 2)},
                                  {"heldout", file_entry(root, dir + "heldout.jsonl", 1)}}},
                       {"sources", {{{"package", "pkg-" + name}, {"version", "1.0"}, {"kind", "deb"}}}}});
  }
  Json m = {{"format", "dma-corpus"}, {"version", 1}, {"domains", domains},
            {"unavailable", {{{"name", "math"}, {"reason", "no GSM8K train file"}}}}};
  dma::save_json(root / "manifest.json", m);
  return m;
}

}  // namespace

TEST_CASE("space manifest: one domain per prepared source, fields and documents from the files", "[space][cpu]") {
  TempDir dir("manifest_ok");
  write_corpus(dir.path);
  const auto space = dma::space::from_manifest(dir.path / "manifest.json");
  STATIC_REQUIRE(dma::DomainSpace<dma::space::Manifest>);
  REQUIRE(space.size() == 3);
  CHECK(space.name(0) == "fiction");
  CHECK(space.field(1) == Field::Source);
  CHECK(space.field(2) == Field::Target);
  const auto docs = space.documents(1);
  REQUIRE(docs.train.size() == 2);
  REQUIRE(docs.heldout.size() == 1);
  CHECK(docs.heldout[0].text == "held-out legal");
  const auto corpus = dma::data::CorpusManifest::load(dir.path / "manifest.json");
  CHECK(corpus.domains[0].sources[0].package == "pkg-fiction");
  REQUIRE(corpus.unavailable.size() == 1);
  CHECK_THAT(corpus.unavailable[0], Catch::Contains("math"));
}

TEST_CASE("space manifest: a bad manifest is rejected with the field named", "[space][cpu]") {
  TempDir dir("manifest_bad");
  const Json good = write_corpus(dir.path);
  const auto path = dir.path / "manifest.json";
  auto error_with = [&](auto&& edit) {
    Json m = good;
    edit(m);
    dma::save_json(path, m);
    return error_of([&] { (void)dma::space::from_manifest(path); });
  };
  CHECK_THAT(error_with([](Json& m) { m["domains"][1]["field"] = "sauce"; }),
             Catch::Contains("domains[1].field") && Catch::Contains("\"source\" or \"target\""));
  CHECK_THAT(error_with([](Json& m) { m["domains"][0].erase("name"); }), Catch::Contains("domains[0].name"));
  CHECK_THAT(error_with([](Json& m) { m["domains"][2]["files"]["train"]["bytes"] = -3; }),
             Catch::Contains("domains[2].files.train.bytes"));
  CHECK_THAT(error_with([](Json& m) { m["domains"][2]["files"].erase("heldout"); }),
             Catch::Contains("domains[2].files.heldout"));
  CHECK_THAT(error_with([](Json& m) { m["version"] = 7; }), Catch::Contains("'version'"));
  CHECK_THAT(error_with([](Json& m) { m["domains"][1]["name"] = "fiction"; }), Catch::Contains("appears twice"));
  CHECK_THAT(error_with([](Json& m) { m["domains"][0]["files"]["train"]["bytes"] = 1; }),
             Catch::Contains("train.jsonl") && Catch::Contains("manifest says 1"));
  dma::io::atomic_write(path, "{ not json");
  CHECK_THAT(error_of([&] { (void)dma::space::from_manifest(path); }), Catch::Contains("invalid JSON"));
  CHECK_THAT(error_of([&] { (void)dma::space::from_manifest(dir.path / "nope.json"); }), Catch::Contains("nope.json"));
}

TEST_CASE("space manifest: with_target adds a user's files, split by document id", "[space][cpu]") {
  TempDir dir("manifest_target");
  write_corpus(dir.path);
  fs::create_directories(dir.path / "mine");
  for (int i = 0; i < 40; ++i)
    dma::io::atomic_write(dir.path / "mine" / dma::detail::concat("p", i, ".txt"), dma::detail::concat("problem ", i));
  const auto base = dma::space::from_manifest(dir.path / "manifest.json");
  const auto space = base.with_target("math", {dir.path / "mine"});
  REQUIRE(space.size() == 4);
  CHECK(base.size() == 3);
  CHECK(space.field(3) == Field::Target);
  const auto docs = space.documents(3);
  CHECK(docs.train.size() + docs.heldout.size() == 40);
  CHECK(docs.heldout.size() >= 1);
  CHECK_THAT(error_of([&] { (void)space.with_target("math", {dir.path / "mine"}); }), Catch::Contains("already exists"));
  CHECK_THAT(error_of([&] { (void)space.with_target("m2", {dir.path / "absent"}).documents(4); }),
             Catch::Contains("absent"));
  const auto small = space.only({"math", "legal"});
  CHECK(small.size() == 2);
  CHECK(small.name(0) == "math");
}

TEST_CASE("two-field space: all sources merged, all targets merged", "[space][cpu]") {
  TempDir dir("two_field");
  write_corpus(dir.path);
  const dma::space::TwoField two(dma::space::from_manifest(dir.path / "manifest.json"));
  STATIC_REQUIRE(dma::DomainSpace<dma::space::TwoField>);
  REQUIRE(two.size() == 2);
  CHECK(two.name(0) == "source");
  CHECK(two.field(1) == Field::Target);
  CHECK(two.members(0) == std::vector<std::size_t>{0, 1});
  const auto src = two.documents(0);
  CHECK(src.train.size() == 4);
  CHECK(src.heldout.size() == 2);
  CHECK(src.train[0].id == "fiction/fiction-1");
  const auto only_sources = dma::space::from_manifest(dir.path / "manifest.json").only({"fiction", "legal"});
  CHECK_THAT(error_of([&] { dma::space::TwoField t(only_sources); }), Catch::Contains("no target domain"));
}

}  // namespace dma_test_space_manifest
