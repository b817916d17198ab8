// Summaries, the main job's claim verdicts and results.md (dma/report/summary.hpp, markdown.hpp,
// report.hpp; examples/main_job/claims.hpp) on
// the hand-made fixture of tests/support/report_fixture.hpp, whose numbers are worked out by hand
// in its comments: means and sds over seeds, ranks (ties included), regrets against hindsight_static
// runs or hindsight_best, each claim's verdict, and the tables that carry them.
#include <catch2/catch.hpp>

#include <dma/core/config.hpp>
#include <dma/report/markdown.hpp>
#include <dma/report/report.hpp>
#include <dma/report/summary.hpp>

#include <cmath>

#include "../support/report_fixture.hpp"
#include "main_job/claims.hpp"
#include "../support/temp_dir.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_report_markdown {

using Catch::Matchers::Contains;
using dma::Json;
using namespace dma::report;
using dma::main_job::paper_claims;

namespace {
Results fixture(const Json& j = dma::test::report_fixture()) { return parse_results(j, "fixture.json"); }

const MethodStats& stats(const std::vector<WeightSummary>& s, const char* method) {
  REQUIRE(s.size() == 1);
  const MethodStats* m = s[0].find(method);
  REQUIRE(m != nullptr);
  return *m;
}

Verdict verdict(const std::vector<ClaimVerdict>& v, const std::string& id) {
  for (const auto& c : v)
    if (c.id == id) return c.verdict;
  FAIL("no claim " << id);
  return Verdict::NotTested;
}
}  // namespace

TEST_CASE("report summary: means, sds, ranks and regrets match the hand-computed fixture", "[report][cpu]") {
  const Results r = fixture();
  const auto a = summarize(r.settings[0], r.target_weights);
  const auto& cql = stats(a, "cql_agent");
  CHECK(cql.seeds == 2);
  CHECK(cql.avg_mean == Approx(0.47));
  CHECK(cql.avg_sd == Approx(0.0141421).epsilon(1e-5));
  CHECK(cql.objective_mean == Approx(0.46));
  CHECK(cql.objective_sd == Approx(0.0141421).epsilon(1e-5));
  CHECK(cql.score_mean.at("tgt_bench") == Approx(0.50));
  CHECK(cql.rank == 1);
  CHECK(cql.avg_rank == 1);
  CHECK(cql.regret == Approx(0.02));
  CHECK(stats(a, "sft_agent").rank == 2);
  CHECK(stats(a, "static_tuned").regret == Approx(0.05));
  CHECK(stats(a, "uniform").rank == 6);
  CHECK(stats(a, "hindsight_static").reference);
  CHECK(stats(a, "hindsight_static").rank == 0);
  CHECK(a[0].reference_from == "hindsight_static runs");
  CHECK(a[0].ranked() == 6);
  // Table order: the contract's methods, then unknown ones, then the reference.
  REQUIRE(a[0].methods.size() == 7);
  CHECK(a[0].methods[4].method == "cql_agent");
  CHECK(a[0].methods[5].method == "my_mixer");
  CHECK(a[0].methods[6].method == "hindsight_static");

  const auto b = summarize(r.settings[1], r.target_weights);
  CHECK(b[0].reference_from == "hindsight_best");
  CHECK(stats(b, "cql_agent").regret == Approx(0.03));
  CHECK(stats(b, "cql_agent").avg_rank == 2);         // target_only's Avg 0.50 beats 0.48
  CHECK(stats(b, "target_only").rank == 2);           // three-way tie at 0.45: 2, 2, 2 ...
  CHECK(stats(b, "static_tuned").rank == 2);
  CHECK(stats(b, "sft_agent").rank == 2);
  CHECK(stats(b, "regmix_transfer").rank == 5);       // ... then 5
  CHECK(std::isnan(stats(b, "cql_agent").var_mean) == false);

  const auto c = summarize(r.settings[2], r.target_weights);
  CHECK(stats(c, "cql_agent").regret == Approx(0.05));
  CHECK(stats(c, "static_tuned").regret == Approx(0.01));
  CHECK(std::isnan(stats(c, "cql_agent").var_mean));  // absent in the file, not invented
}

TEST_CASE("report summary: the driver's summary is checked and a wrong number is reported", "[report][cpu]") {
  const Results r = fixture();
  const auto mm = check_summary(r.settings[0], summarize(r.settings[0], r.target_weights));
  REQUIRE(mm.size() == 1);
  CHECK(mm[0].method == "sft_agent");
  CHECK(mm[0].field == "regret");
  CHECK(mm[0].in_file == Approx(0.03));
  CHECK(mm[0].computed == Approx(0.04));
}

TEST_CASE("report summary: settings are classified by kind or by name", "[report][cpu]") {
  const Results r = fixture();
  CHECK(setting_kind(r.settings[0]) == SettingKind::InDistribution);
  CHECK(setting_kind(r.settings[1]) == SettingKind::Scarcity);
  CHECK(setting_kind(r.settings[2]) == SettingKind::NewTarget);
  Setting s;
  s.name = "unseen_source_field";
  CHECK(setting_kind(s) == SettingKind::SourceField);
  s.name = "unseen_domain_space_5d";
  CHECK(setting_kind(s) == SettingKind::DomainSpace);
  s.name = "larger_model";
  CHECK(setting_kind(s) == SettingKind::UnseenModel);
  s.name = "whatever";
  s.kind = "scarcity";
  CHECK(setting_kind(s) == SettingKind::Scarcity);
}

TEST_CASE("report claims: verdicts follow from the fixture's numbers", "[report][cpu]") {
  const auto v = paper_claims(fixture());
  REQUIRE(v.size() == 4);
  CHECK(verdict(v, "cql_best_in_distribution") == Verdict::Held);
  CHECK(verdict(v, "cql_best_3_of_5") == Verdict::NotTested);  // 0 won of 2 present, 3 kinds absent
  CHECK_THAT(v[1].detail, Contains("0 of 2 present settings won") && Contains("unseen_model: absent"));
  CHECK(verdict(v, "cql_above_sft") == Verdict::Held);
  CHECK_THAT(v[2].detail, Contains("code_target w=0.5: +0.0100"));
  CHECK(verdict(v, "cql_regret_below_static_regmix") == Verdict::NotHeld);  // code: 0.05 vs static 0.01
  CHECK_THAT(v[3].detail, Contains("code_target w=0.5: regret CQL 0.0500, static_tuned 0.0100") &&
                              Contains("(NOT smaller)") && Contains("source_field: absent"));
}

TEST_CASE("report claims: changed numbers flip the verdicts", "[report][cpu]") {
  Json j = dma::test::report_fixture();
  // Two more "other" settings (copies of scarcity, where CQL is not best): 0 won of 4, 1 absent.
  for (const char* name : {"unseen_source_field", "unseen_domain_space"}) {
    Json s = j["settings"][1];
    s["name"] = name;
    j["settings"].push_back(s);
  }
  // SFT above CQL in code_target; CQL's code objective 0.505 -> regret 0.005 < static's 0.01.
  j["settings"][2]["runs"][2]["avg"] = 0.47;
  j["settings"][2]["runs"][3]["objective"] = 0.505;
  // CQL loses its in-distribution Avg lead to my_mixer.
  j["settings"][0]["runs"][6]["avg"] = 0.60;
  const auto v = paper_claims(fixture(j));
  CHECK(verdict(v, "cql_best_in_distribution") == Verdict::NotHeld);
  CHECK(verdict(v, "cql_best_3_of_5") == Verdict::NotHeld);
  CHECK_THAT(v[1].detail, Contains("0 of 4 present settings won"));
  CHECK(verdict(v, "cql_above_sft") == Verdict::NotHeld);
  CHECK_THAT(v[2].detail, Contains("code_target w=0.5 (CQL - SFT = -0.0100)"));
  // Every compared setting now has the smaller regret, and all four kinds are present.
  CHECK(verdict(v, "cql_regret_below_static_regmix") == Verdict::Held);

  // A search cost for the agent breaks the "zero deployment-time search cost" part.
  j["settings"][2]["runs"][3]["extra_tokens"] = 1e5;
  CHECK(paper_claims(fixture(j))[3].verdict == Verdict::NotHeld);
}

TEST_CASE("report markdown: tables carry the ranks, regrets and verdicts", "[report][cpu]") {
  const std::string md = render_markdown(fixture(), paper_claims(fixture()));
  // in_dist_2d, cql: 2 seeds, benchmarks 0.44 / 0.50, Avg 0.47 ± 0.0141 (best: bold), Var mean
  // (0.0016 + 0.0004) / 2 = 0.001, objective 0.46 ± 0.0141 (best), rank 1, regret 0.02, no extra tokens.
  CHECK_THAT(md, Contains("| cql_agent | 2 | 0.4400 | 0.5000 | **0.4700 ± 0.0141** | 0.00100 | **0.4600 ± 0.0141** | 1 | 0.0200 | 0 |"));
  CHECK_THAT(md, Contains("| uniform | 1 | 0.4000 | 0.4000 | 0.4000 | 0.00000 | 0.4000 | 6 | 0.0800 | 0 |"));
  CHECK_THAT(md, Contains("| hindsight_static (reference) | 1 | 0.4500 | 0.5100 | 0.4800 | 0.00090 | 0.4800 | – | 0.0000 | 0 |"));
  // code_target has no var in the file: shown as a dash.
  CHECK_THAT(md, Contains("| cql_agent | 1 | 0.4600 | 0.4600 | 0.4600 | – | 0.4600 | 2 | 0.0500 | 0 |"));
  CHECK_THAT(md, Contains("Reference: `hindsight_best` objective 0.5000"));
  CHECK_THAT(md, Contains("CQL agent: Avg rank 2 of 5, objective rank 1"));
  CHECK_THAT(md, Contains("| CQL agent has the best Avg in the in-distribution setting(s) | **held** |"));
  CHECK_THAT(md, Contains("| CQL agent has the best Avg in at least 3 of the 5 other settings | **not tested** |"));
  CHECK_THAT(md, Contains("**not held** | scarcity_2d w=0.5: regret CQL 0.0300"));
  CHECK_THAT(md, Contains("| in_dist_2d | sft_agent | 0.5 | regret | 0.03 | 0.04 |"));
  CHECK_THAT(md, Contains("| collection.tokens | 2.50M |"));
}

TEST_CASE("report write_all: results.md and plot scripts from a results.json file", "[report][cpu]") {
  dma::test::TempDir dir("report_write_all");
  dma::save_json(dir.path / "results.json", dma::test::report_fixture());
  PlotOptions no_run;
  no_run.run_gnuplot = false;
  const auto out = write_all(dir.path / "results.json", dir.path / "out", no_run);
  CHECK(out.markdown == dir.path / "out" / "results.md");
  const std::string md = dma::io::read_file(out.markdown);
  CHECK_THAT(md, Contains("# Results (preset `fixture`)"));
  CHECK_THAT(md, Contains("## Plots"));
  CHECK_THAT(md, Contains("`plots/in_dist_2d_avg.gp`"));
  CHECK(std::filesystem::exists(dir.path / "out" / "plots" / "in_dist_2d_avg.dat"));
  // Claims are the caller's: none given, no section; the main job's given, they open the report.
  CHECK_THAT(md, !Contains("## Claims of the paper"));
  const auto with = write_all(dir.path / "results.json", dir.path / "out_claims", no_run, paper_claims);
  CHECK_THAT(dma::io::read_file(with.markdown), Contains("## Claims of the paper") &&
                                                    Contains("| CQL agent's Avg is above the SFT agent's in every setting | **held** |"));

  dma::io::atomic_write(dir.path / "bad.json", "{\"schema\": \"dma.results/1\"}");
  try {
    (void)write_all(dir.path / "bad.json", dir.path / "out2", no_run);
    FAIL("a file without settings was accepted");
  } catch (const dma::Error& e) {
    CHECK_THAT(std::string(e.what()), Contains("bad.json") && Contains("'settings' is missing"));
  }
  CHECK_FALSE(std::filesystem::exists(dir.path / "out2" / "results.md"));
}

TEST_CASE("report markdown: a tiny non-zero regret or gap is not printed as a tie", "[report][cpu]") {
  Json j = dma::test::report_fixture();
  j["settings"][2]["runs"][3]["objective"] = 0.51 + 2.4e-9;  // CQL just above the reference 0.51
  j["settings"][2]["runs"][2]["avg"] = 0.46 - 3e-9;          // SFT just below CQL's Avg 0.46
  const Results r = fixture(j);
  const std::string md = render_markdown(r, paper_claims(r));
  CHECK_THAT(md, Contains("| cql_agent | 1 | 0.4600 | 0.4600 | 0.4600 | – | **0.5100** | 1 | -2.4e-09 | 0 |"));
  CHECK_THAT(md, Contains("code_target w=0.5: +3.0e-09"));
}

}  // namespace dma_test_report_markdown
