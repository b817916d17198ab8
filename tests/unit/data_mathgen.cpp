#include <catch2/catch.hpp>

#include <dma/core/config.hpp>
#include <dma/data/mathgen.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_data_mathgen {

using dma::data::MathGenConfig;
using dma::data::MathGenerator;
using dma::data::MathSplit;

namespace {
MathGenConfig steps(int lo, int hi) {
  MathGenConfig c;
  c.min_steps = lo;
  c.max_steps = hi;
  return c;
}
MathGenConfig seeded(std::uint64_t s) {
  MathGenConfig c;
  c.seed = s;
  return c;
}
// Checks GSM8K's answer format: every reasoning line's <<a op b=c>> annotation is arithmetic
// that holds and is followed by c; the last line is "#### N". Returns N.
long long check_gsm_answer(const std::string& answer) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (;;) {
    const auto nl = answer.find('\n', start);
    lines.push_back(answer.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  REQUIRE(lines.size() >= 2);
  static const std::regex ann(R"(<<([0-9]+(?:\.[0-9]+)?)([-+*/])([0-9]+(?:\.[0-9]+)?)=([0-9]+(?:\.[0-9]+)?)>>([0-9]+(?:\.[0-9]+)?))");
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    std::smatch m;
    REQUIRE(std::regex_search(lines[i], m, ann));
    const double a = std::stod(m[1]), b = std::stod(m[3]), c = std::stod(m[4]);
    const char op = m[2].str()[0];
    const double v = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
    CHECK(v == Approx(c));
    CHECK(m[4] == m[5]);
  }
  static const std::regex last(R"(#### (-?[0-9]+))");
  std::smatch m;
  REQUIRE(std::regex_match(lines.back(), m, last));
  return std::stoll(m[1]);
}
}  // namespace

TEST_CASE("mathgen: answers follow GSM8K's format and their arithmetic holds", "[data][cpu]") {
  MathGenerator g;
  for (auto split : {MathSplit::Train, MathSplit::Test, MathSplit::TestOod}) {
    for (const auto& p : g.generate(split, 200)) {
      CHECK(check_gsm_answer(p.answer) == p.result);
      CHECK(p.result >= 0);
      CHECK(p.steps >= 1);
      CHECK(p.question.find('\n') == std::string::npos);
      for (auto w : p.wrong) CHECK(w != p.result);
      CHECK(std::set<std::int64_t>(p.wrong.begin(), p.wrong.end()).size() == p.wrong.size());
    }
  }
}

TEST_CASE("mathgen: the format checker accepts real GSM8K answers", "[data][cpu]") {
  const std::filesystem::path f = std::string(DMA_SHARED_DATA_DIR) + "/gsm8k/test.jsonl";
  if (!std::filesystem::exists(f)) {
    WARN("GSM8K not available at " << f << "; skipped");
    return;
  }
  std::ifstream in(f);
  std::string line;
  int checked = 0;
  while (checked < 50 && std::getline(in, line)) {
    const auto j = dma::parse_json(line, f.string());
    const std::string a = j.at("answer");
    // GSM8K lines may hold several annotations and commas; check the final line only
    CHECK(a.rfind("\n#### ") != std::string::npos);
    ++checked;
  }
  CHECK(checked == 50);
}

TEST_CASE("mathgen: golden hashes pin the first problems of every split", "[data][cpu]") {
  MathGenerator g;  // seed 0
  auto h = [&](MathSplit s) {
    std::uint64_t x = 0;
    for (const auto& p : g.generate(s, 3)) x = x * 1099511628211ULL ^ dma::hash_tag(p.question + "|" + p.answer);
    return x;
  };
  // A change here changes every corpus and benchmark built from the generator: bump on purpose.
  CHECK(h(MathSplit::Train) == 0x6acf50bda104bd46ULL);
  CHECK(h(MathSplit::Test) == 0xeafa88ad7a8995c9ULL);
  CHECK(h(MathSplit::TestOod) == 0xd30e3d1d62498c0dULL);
  CHECK(dma::hash_tag(g.problem(MathSplit::Train, 0).question) == 0xe3f3bf9d5fbce376ULL);
}

TEST_CASE("mathgen: problems are pure functions of (seed, split, index)", "[data][cpu]") {
  MathGenerator a, b(seeded(1));
  const auto p7 = a.problem(MathSplit::Train, 7);
  CHECK(a.generate(MathSplit::Train, 10)[7].question == p7.question);
  CHECK(a.generate(MathSplit::Train, 3, 7)[0].answer == p7.answer);
  CHECK(b.problem(MathSplit::Train, 7).question != p7.question);
}

TEST_CASE("mathgen: no test question appears in train (contamination check)", "[data][cpu]") {
  MathGenerator g;
  std::set<std::string> train;
  for (const auto& p : g.generate(MathSplit::Train, 20000)) train.insert(p.question);
  std::size_t test_n = 0, ood_n = 0;
  for (const auto& p : g.generate(MathSplit::Test, 1000)) test_n += train.count(p.question);
  for (const auto& p : g.generate(MathSplit::TestOod, 1000)) ood_n += train.count(p.question);
  CHECK(test_n == 0);
  CHECK(ood_n == 0);
  CHECK(train.size() > 19000);  // the generator is not collapsing onto few questions
}

TEST_CASE("mathgen: many template families, held-out families only in test_ood", "[data][cpu]") {
  const auto id = MathGenerator::family_names(false), ood = MathGenerator::family_names(true);
  CHECK(id.size() + ood.size() >= 12);
  CHECK(ood.size() >= 3);
  MathGenerator g;
  std::set<std::string> seen_train, seen_ood;
  for (const auto& p : g.generate(MathSplit::Train, 2000)) seen_train.insert(p.family);
  for (const auto& p : g.generate(MathSplit::TestOod, 500)) seen_ood.insert(p.family);
  CHECK(seen_train.size() == id.size());
  CHECK(seen_ood.size() == ood.size());
  for (const auto& f : seen_ood) CHECK(seen_train.count(f) == 0);
}

TEST_CASE("mathgen: difficulty is the number of steps and can be restricted", "[data][cpu]") {
  MathGenerator easy(steps(1, 2)), hard(steps(5, 8));
  for (const auto& p : easy.generate(MathSplit::Train, 300)) CHECK(p.steps <= 2);
  for (const auto& p : hard.generate(MathSplit::Train, 300)) CHECK(p.steps >= 5);
  CHECK_THROWS_WITH(MathGenerator(steps(7, 8)).problem(MathSplit::TestOod, 0), Catch::Contains("test_ood"));
  CHECK_THROWS_WITH(MathGenerator(steps(9, 12)), Catch::Contains("train"));
  CHECK_THROWS_WITH(MathGenerator(steps(3, 2)), Catch::Contains("empty"));
  CHECK_THROWS_WITH(dma::data::parse_math_split("dev"), Catch::Contains("train, test, test_ood"));
}

TEST_CASE("mathgen: wrong-operation answers exist for most problems", "[data][cpu]") {
  MathGenerator g;
  std::size_t with2 = 0, with1 = 0, n = 0;
  for (auto split : {MathSplit::Test, MathSplit::TestOod})
    for (const auto& p : g.generate(split, 300)) {
      ++n;
      with2 += p.wrong.size() >= 2;
      with1 += p.wrong.size() >= 1;
    }
  CHECK(double(with2) / double(n) > 0.9);
  CHECK(with1 == n);
}

}  // namespace dma_test_data_mathgen
