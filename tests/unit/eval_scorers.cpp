#include <catch2/catch.hpp>

#include <dma/eval/scorers.hpp>

#include <cmath>
#include <map>
#include <string>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_eval_scorers {

namespace {
// A byte unigram model with chosen probabilities: p('a') = 1/2, p('b') = 1/4, every other byte
// shares the remaining 1/4. The context is ignored, so every log-prob is known by hand.
struct UnigramModel {
  std::map<std::string, std::string> replies;  // greedy outputs by prompt
  int score_calls = 0;
  static double logp(unsigned char c) {
    if (c == 'a') return std::log(0.5);
    if (c == 'b') return std::log(0.25);
    return std::log(0.25 / 254.0);
  }
  std::vector<double> score(std::span<const dma::ScoreRequest> reqs) {
    ++score_calls;
    std::vector<double> out;
    for (const auto& r : reqs) {
      double s = 0;
      for (char c : r.continuation) s += logp(static_cast<unsigned char>(c));
      out.push_back(s);
    }
    return out;
  }
  std::string generate_greedy(std::string_view prompt, std::size_t max_bytes) {
    const auto it = replies.find(std::string(prompt));
    std::string s = it == replies.end() ? std::string(max_bytes, 'a') : it->second;
    if (s.size() > max_bytes) s.resize(max_bytes);
    return s;
  }
};
static_assert(dma::ScoringModel<UnigramModel>);

using dma::data::AnswerKind;
using dma::data::ChoiceItem;
using dma::data::ExactItem;
using dma::data::GoldItem;
using dma::data::TextWindow;
}  // namespace

TEST_CASE("scorers: multiple choice accuracy and length-normalised accuracy match hand values",
          "[eval][cpu]") {
  UnigramModel m;
  // item 1: raw log-prob prefers "b" (-1.386 > 4 * -0.693), per byte prefers "aaaa" (-0.693)
  // item 2: "a" wins both ways
  const std::vector<ChoiceItem> items{{"1", "Q:", {"aaaa", "b"}, 0}, {"2", "Q:", {"b", "a"}, 1}};
  const auto r = dma::eval::score_choices(m, std::span<const ChoiceItem>(items));
  CHECK(r.n == 2);
  CHECK(r.accuracy == Approx(0.5));
  CHECK(r.accuracy_norm == Approx(1.0));
  // batching does not change the result
  UnigramModel m2;
  const auto r2 = dma::eval::score_choices(m2, std::span<const ChoiceItem>(items), 1);
  CHECK(m2.score_calls == 4);
  CHECK(r2.accuracy == r.accuracy);
  const std::vector<ChoiceItem> bad{{"x", "Q", {"a"}, 3}};
  CHECK_THROWS_WITH(dma::eval::score_choices(m, std::span<const ChoiceItem>(bad)), Catch::Contains("'x'"));
}

TEST_CASE("scorers: gold-answer log-prob per byte matches hand values", "[eval][cpu]") {
  UnigramModel m;
  const std::vector<GoldItem> items{{"1", "ctx", "ab"}, {"2", "ctx", "a"}};
  const auto r = dma::eval::score_gold(m, std::span<const GoldItem>(items));
  const double ab = std::log(0.5) + std::log(0.25), a = std::log(0.5);
  CHECK(r.total_logprob == Approx(ab + a));
  CHECK(r.bytes == 3);
  CHECK(r.logprob_per_byte == Approx((ab / 2 + a) / 2));   // -0.8664
  CHECK(r.logprob_per_byte_micro == Approx((ab + a) / 3)); // -0.9242
  CHECK(r.logprob_per_byte == Approx(-0.866434).epsilon(1e-5));
}

TEST_CASE("scorers: bits per byte over fixed windows matches hand values", "[eval][cpu]") {
  UnigramModel m;
  // 'a' costs 1 bit, 'b' 2 bits: "aab" + "b" = 6 bits over 4 bytes; context bytes are not counted
  const std::vector<TextWindow> w{{"zzzz", "aab"}, {"", "b"}};
  const auto r = dma::eval::score_bpb(m, std::span<const TextWindow>(w));
  CHECK(r.bytes == 4);
  CHECK(r.bpb == Approx(6.0 / 4.0));
}

TEST_CASE("scorers: exact match extracts the answer after #### or the first number", "[eval][cpu]") {
  UnigramModel m;
  m.replies = {{"p1", "She makes 9 * 2 = $18.\n#### 18"},
               {"p2", "The answer is 1,234 apples"},
               {"p3", "It is 18.\n#### 17"},
               {"p4", " Hangar.\nmore text"},
               {"p5", "18\n\n#### 19"}};  // cut at the blank line: "18"
  const std::vector<ExactItem> items{{"1", "p1", "18", AnswerKind::Number, 64},
                                     {"2", "p2", "1234", AnswerKind::Number, 64},
                                     {"3", "p3", "18", AnswerKind::Number, 64},
                                     {"4", "p4", "hangar", AnswerKind::Line, 64},
                                     {"5", "p5", "18", AnswerKind::Number, 64}};
  const auto r = dma::eval::score_exact(m, std::span<const ExactItem>(items));
  CHECK(r.n == 5);
  CHECK(r.accuracy == Approx(4.0 / 5.0));
}

TEST_CASE("extract: numbers are normalised and read from the right place", "[eval][cpu]") {
  using namespace dma::eval;
  CHECK(normalize_number("1,234.50") == "1234.5");
  CHECK(normalize_number("$18") == "18");
  CHECK(normalize_number("-3.0") == "-3");
  CHECK(first_number("x = -7 and 8") == "-7");
  CHECK(first_number("no digits") == "");
  CHECK(extract_number("1 + 2 = 3\n#### 3") == "3");
  CHECK(extract_number("#### $1,000") == "1000");
  CHECK(extract_line("  Sleep.\nrest") == "sleep");
  CHECK_FALSE(answer_matches(AnswerKind::Number, "nothing", "5"));
}

}  // namespace dma_test_eval_scorers
