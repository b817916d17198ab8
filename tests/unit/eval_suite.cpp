#include <catch2/catch.hpp>

#include <dma/eval/suite.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_eval_suite {

namespace fs = std::filesystem;
using namespace dma::eval;

namespace {
// Every byte has probability 1/256: bits per byte is exactly 8, log-prob per byte -ln 256.
struct UniformModel {
  std::vector<double> score(std::span<const dma::ScoreRequest> reqs) {
    std::vector<double> out;
    for (const auto& r : reqs) out.push_back(-std::log(256.0) * double(r.continuation.size()));
    return out;
  }
  std::string generate_greedy(std::string_view, std::size_t) { return "#### 0"; }
};
static_assert(dma::ScoringModel<UniformModel>);
}  // namespace

TEST_CASE("suite: missing files are reported as not available, the rest is scored", "[eval][cpu]") {
  SuitePaths paths{"/nonexistent/bench", "/nonexistent/shared"};
  SuiteConfig cfg;
  cfg.fast_items = 8;
  std::vector<std::string> docs;
  for (int d = 0; d < 5; ++d) docs.push_back(std::string(600, char('a' + d)));
  const auto src = source_suite(paths, cfg, docs);
  UniformModel m;
  const auto rep = src.evaluate(m);
  // facts, wikitext2, tinyshakespeare are missing; the cloze over the given documents is scored
  CHECK(rep.unavailable.size() == 3);
  for (const auto& u : rep.unavailable) CHECK_THAT(u, Catch::Contains("benchmark not available"));
  REQUIRE(rep.find("cloze.acc") != nullptr);
  CHECK(rep.find("cloze.acc")->n == 5);
  // a uniform model ties every choice: the first choice wins, so accuracy = share of gold at 0
  const auto math = math_suite(paths, cfg, dma::data::MathGenerator{});
  const auto mr = math.evaluate(m);
  REQUIRE(mr.find("math_test.gold_logprob") != nullptr);
  CHECK(mr.find("math_test.gold_logprob")->value == Approx(-std::log(256.0)));
  CHECK(mr.find("math_test.gold_logprob")->n == 8);
  CHECK(mr.find("math_test.gold_logprob")->field == dma::Field::Target);
  CHECK(mr.find("math_test.exact") == nullptr);  // the fast variant does not decode
  CHECK(mr.unavailable.size() == 3);             // gsm8k, gbrainy choice, gbrainy gold

  dma::Feedback fb;
  mr.append_to(fb);
  CHECK(fb.score.size() == mr.scores.size());
  CHECK(fb.score_name.size() == fb.score.size());
  CHECK(fb.score_field.size() == fb.score.size());

  const auto code = code_suite(paths, cfg, docs);
  const auto cr = code.evaluate(m);
  REQUIRE(cr.find("code_heldout.neg_bpb") != nullptr);
  CHECK(cr.find("code_heldout.neg_bpb")->value == Approx(-8.0));
  CHECK(cr.unavailable.size() == 2);  // humaneval, plm
}

TEST_CASE("suite: the full variant adds exact match and more items", "[eval][cpu]") {
  SuitePaths paths{"/nonexistent/bench", "/nonexistent/shared"};
  SuiteConfig cfg;
  cfg.variant = Variant::Full;
  cfg.math_items = 30;
  cfg.exact_full_items = 10;
  UniformModel m;
  const auto r = math_suite(paths, cfg, dma::data::MathGenerator{}).evaluate(m);
  REQUIRE(r.find("math_test_ood.exact") != nullptr);
  CHECK(r.find("math_test_ood.exact")->n == 10);
  CHECK(r.find("math_test.gold_logprob")->n == 30);
}

TEST_CASE("suite: the developer data, when present, loads into the suites", "[eval][cpu]") {
  const fs::path shared = DMA_SHARED_DATA_DIR;
  if (!fs::exists(shared / "wikitext-2/test.txt")) {
    WARN("shared data not available at " << shared << "; skipped");
    return;
  }
  SuitePaths paths{"/nonexistent/bench", shared};
  SuiteConfig cfg;
  cfg.fast_windows = 4;
  cfg.fast_items = 4;
  UniformModel m;
  const auto r = source_suite(paths, cfg).evaluate(m);
  REQUIRE(r.find("wikitext2.neg_bpb") != nullptr);
  CHECK(r.find("wikitext2.neg_bpb")->value == Approx(-8.0));
  CHECK(r.find("wikitext2.neg_bpb")->n == 4);
  const auto mr = math_suite(paths, cfg, dma::data::MathGenerator{}).evaluate(m);
  REQUIRE(mr.find("gsm8k.gold_logprob") != nullptr);
  CHECK(mr.find("gsm8k.gold_logprob")->n == 4);
  const auto cr = code_suite(paths, cfg).evaluate(m);
  REQUIRE(cr.find("humaneval.gold_logprob") != nullptr);
}

}  // namespace dma_test_eval_suite
