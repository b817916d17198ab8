// Loading and checking results.json (dma/report/results.hpp) on a hand-made fixture
// (tests/support/report_fixture.hpp): what a good file gives, and that each kind of bad file is
// rejected with a dma::Error naming the file and the field.
#include <catch2/catch.hpp>

#include <dma/core/config.hpp>
#include <dma/report/results.hpp>

#include <cmath>

#include "../support/error_of.hpp"
#include "../support/report_fixture.hpp"
#include "../support/temp_dir.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_report_results {

using Catch::Matchers::Contains;
using dma::Json;
using dma::report::parse_results;
using dma::test::error_of;

namespace {
std::string rejection(const Json& j) {
  return error_of([&] { (void)parse_results(j, "fixture.json"); });
}
}  // namespace

TEST_CASE("report results: the fixture loads with every field it states", "[report][cpu]") {
  const auto r = parse_results(dma::test::report_fixture(), "fixture.json");
  CHECK(r.preset == "fixture");
  REQUIRE(r.target_weights == std::vector<double>{0.5});
  REQUIRE(r.settings.size() == 3);
  const auto& a = r.settings[0];
  CHECK(a.name == "in_dist_2d");
  REQUIRE(a.domains.size() == 2);
  CHECK(a.domains[1].field == "target");
  REQUIRE(a.runs.size() == 8);
  const auto& cql = a.runs[4];
  CHECK(cql.method == "cql_agent");
  CHECK(cql.scores.at("tgt_bench") == Approx(0.52));
  CHECK(cql.avg == Approx(0.48));
  CHECK(cql.var == Approx(0.0016));
  CHECK(cql.tokens.at("source") == 1000);
  REQUIRE(cql.stages.size() == 3);
  CHECK(cql.stages[2].mixture == std::vector<double>{0.3, 0.7});
  CHECK(a.runs[6].method == "my_mixer");  // unknown methods are kept as they are
  REQUIRE(a.summary.size() == 2);
  CHECK(a.summary[1].regret == Approx(0.03));
  REQUIRE(r.settings[1].hindsight_best.size() == 1);
  CHECK(r.settings[1].hindsight_best[0].target_weight == 0.5);
  CHECK(r.settings[1].hindsight_best[0].objective == Approx(0.50));
  // Optional fields absent in code_target: NaN / empty / 0, not an error.
  const auto& c = r.settings[2].runs[0];
  CHECK(std::isnan(c.var));
  CHECK(std::isnan(c.wall_seconds));
  CHECK(c.tokens.empty());
  CHECK(c.stages.empty());
  CHECK(c.extra_tokens == 0);
}

TEST_CASE("report results: load_results reads a file and names it in errors", "[report][cpu]") {
  dma::test::TempDir dir("report_results_load");
  const auto good = dir.path / "results.json";
  dma::save_json(good, dma::test::report_fixture());
  CHECK(dma::report::load_results(good).settings.size() == 3);

  const auto broken = dir.path / "broken.json";
  dma::io::atomic_write(broken, "{\"schema\": \"dma.results/1\", ");
  const auto msg = error_of([&] { (void)dma::report::load_results(broken); });
  CHECK_THAT(msg, Contains(broken.string()) && Contains("invalid JSON"));
}

TEST_CASE("report results: a bad file is rejected naming the field and what was expected", "[report][cpu]") {
  const Json good = dma::test::report_fixture();

  Json j = good;
  j["schema"] = "dma.results/0";
  CHECK_THAT(rejection(j), Contains("fixture.json") && Contains("'schema'") && Contains("dma.results/1"));

  j = good;
  j["settings"][0]["runs"][1].erase("avg");
  CHECK_THAT(rejection(j), Contains("fixture.json") && Contains("'settings[0].runs[1].avg' is missing"));

  j = good;
  j["settings"][1]["runs"][2]["objective"] = "high";
  CHECK_THAT(rejection(j), Contains("'settings[1].runs[2].objective'") && Contains("expected a number") &&
                               Contains("found string"));

  j = good;
  j["settings"][0]["runs"][4]["stages_detail"][1]["mixture"] = {0.2, 0.3, 0.5};
  CHECK_THAT(rejection(j), Contains("settings[0].runs[4].stages_detail[1].mixture") && Contains("expected 2 shares"));

  j = good;
  j["settings"][0]["runs"][4]["stages_detail"][0]["mixture"] = {0.7, 0.7};
  CHECK_THAT(rejection(j), Contains("stages_detail[0].mixture") && Contains("sum to 1.4"));

  j = good;
  j["settings"][0]["runs"][0]["target_weight"] = 0.7;  // not among target_weights [0.5]
  CHECK_THAT(rejection(j), Contains("settings[0].runs[0].target_weight") && Contains("not one of the file's target_weights"));

  j = good;
  j["settings"][0]["runs"][5]["seed"] = 0;  // a second cql_agent seed 0
  CHECK_THAT(rejection(j), Contains("settings[0].runs[5]") && Contains("a second run of method \"cql_agent\""));

  j = good;
  j["settings"][0]["runs"][0]["scores"]["mmlu"] = 0.3;
  CHECK_THAT(rejection(j), Contains("settings[0].runs[0].scores.mmlu") && Contains("not in the setting's benchmarks"));

  j = good;
  j["settings"][1]["hindsight_best"] = {{"weight_half", {{"objective", 0.5}}}};
  CHECK_THAT(rejection(j), Contains("settings[1].hindsight_best.weight_half") && Contains("target_weight_<w>"));

  j = good;
  j["settings"][2]["name"] = "in_dist_2d";
  CHECK_THAT(rejection(j), Contains("settings[2]") && Contains("duplicate setting name"));

  j = good;
  j["settings"][0]["benchmarks"][0]["field"] = "both";
  CHECK_THAT(rejection(j), Contains("settings[0].benchmarks[0].field") && Contains("\"source\" or \"target\""));

  j = good;
  j["settings"] = Json::object();
  CHECK_THAT(rejection(j), Contains("'settings'") && Contains("expected an array"));
}

TEST_CASE("report results: without target_weights the weights come from the runs", "[report][cpu]") {
  Json j = dma::test::report_fixture();
  j.erase("target_weights");
  j["settings"][2]["runs"][0]["target_weight"] = 0.7;
  const auto r = parse_results(j, "fixture.json");
  CHECK(r.target_weights == std::vector<double>{0.5, 0.7});
}

TEST_CASE("report results: an empty mixture means not recorded, not a wrong length", "[report][cpu]") {
  Json j = dma::test::report_fixture();
  j["settings"][1]["hindsight_best"]["target_weight_0.5"]["mixture"] = Json::array();
  j["settings"][0]["runs"][4]["stages_detail"][0]["mixture"] = Json::array();
  const auto r = parse_results(j, "fixture.json");
  CHECK(r.settings[1].hindsight_best[0].mixture.empty());
  CHECK(r.settings[0].runs[4].stages[0].mixture.empty());
  CHECK(r.settings[0].runs[4].stages[1].mixture.size() == 2);
}

}  // namespace dma_test_report_results
