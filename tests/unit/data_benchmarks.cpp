#include <catch2/catch.hpp>

#include <dma/data/benchmarks.hpp>
#include <dma/data/benchmarks_gbrainy.hpp>
#include <dma/data/benchmarks_plm.hpp>
#include <dma/data/benchmarks_quiz.hpp>

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_data_benchmarks {

namespace fs = std::filesystem;
using namespace dma::data;

namespace {
fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("dma_test_bench_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}
const std::string kShared = DMA_SHARED_DATA_DIR;
}  // namespace

TEST_CASE("quiz: patterns read as their canonical form", "[data][cpu]") {
  using detail::quiz::alternatives;
  using detail::quiz::canonical;
  CHECK(canonical("{G{eorge} }Washington", "t") == "George Washington");
  CHECK(canonical("Hen[ry|] [I|1]", "t") == "Henry I");
  CHECK(canonical("sleep|Duncan", "t") == "sleep");
  CHECK(canonical("a\\:b", "t") == "a:b");
  CHECK(alternatives("sleep|Duncan", "t") == std::vector<std::string>{"sleep", "Duncan"});
  CHECK_THROWS_WITH(canonical("[a|b}", "f:3"), Catch::Contains("f:3") && Catch::Contains("unbalanced"));
}

TEST_CASE("quiz: fixture files give multiple-choice items with same-file distractors", "[data][cpu]") {
  const auto dir = fresh_dir("quiz");
  write(dir / "index", "/usr/share/games/bsdgames/quiz/capitals:count{ry}:cap{ital}\n");
  write(dir / "capitals", "France:Paris\nItaly:Rome\nSpain:Madrid\nPeru:Lima\nChile:Santiago|Stgo\n"
                          "Long{ Name}:\\\nContinued\n");
  const auto r = load_quiz(dir);
  REQUIRE(r.available());
  REQUIRE(r.items.size() == 6);
  std::set<std::string> golds;
  for (const auto& it : r.items) {
    CHECK(it.choices.size() == 4);
    CHECK(it.context.rfind("country: ", 0) == 0);
    CHECK(it.context.find("\ncapital:") != std::string::npos);
    golds.insert(it.choices[it.gold]);
    CHECK(std::set<std::string>(it.choices.begin(), it.choices.end()).size() == 4);
  }
  CHECK(golds.count(" Paris") == 1);
  CHECK(golds.count(" Continued") == 1);  // backslash continuation joins the lines
  const auto& france = r.items[0];
  CHECK(france.context == "country: France\ncapital:");
  CHECK(france.choices[france.gold] == " Paris");
  // deterministic
  CHECK(load_quiz(dir).items[3].choices == r.items[3].choices);

  write(dir / "broken", "one:two\nno separator here\n");
  CHECK_THROWS_WITH(load_quiz(dir), Catch::Contains("broken:2") && Catch::Contains("':'-separated"));
  const auto missing = load_quiz(dir / "nope");
  CHECK_FALSE(missing.available());
  CHECK_THAT(missing.unavailable, Catch::Contains("benchmark not available"));
  fs::remove_all(dir);
}

TEST_CASE("gbrainy: games are instantiated by interpreting their variables", "[data][cpu]") {
  const auto dir = fresh_dir("gbrainy");
  write(dir / "games.xml", R"(<games>
  <!-- a comment -->
  <game>
    <_name>Sum</_name>
    <variables>
      int [] xs = new int [] {10, 20, 30};
      int a = 2 + random.Next (5); // 2..6
      int b = xs [random.Next (xs.Length)];
      int rslt = a * b;
      double half = rslt / 2.0;
      int p = (int) Math.Pow (2, 3);
    </variables>
    <question>What is [a] times [b] &amp; p=[p]?</question>
    <answer>[rslt]</answer>
  </game>
  <game>
    <_name>Pick</_name>
    <variant>
      <variables>int n = 3;</variables>
      <_question>Which is [n]? [option_answers]</_question>
      <option correct = "yes"><string _text = "[option_prefix] [n]"/></option>
      <option><string _text = "[option_prefix] 4"/></option>
    </variant>
  </game>
  <game>
    <_name>Broken</_name>
    <variables>int x = y + 1;</variables>
    <question>[x]?</question><answer>[x]</answer>
  </game>
</games>)");
  write(dir / "verbal_analogies.xml", R"(<analogies>
  <analogy><_question type = "MultipleOptions">Odd one out?</_question>
    <_answer>Golf</_answer><_answer correct = "yes">Cycling</_answer></analogy>
  <analogy><_question type = "PairOfWordsCompare">hungry / eat | tired</_question>
    <_answer correct ="yes">sleep | rest</_answer></analogy>
</analogies>)");
  GbrainyConfig cfg;
  cfg.instances = 30;
  const auto r = load_gbrainy(dir / "games.xml", dir / "verbal_analogies.xml", cfg);
  REQUIRE(r.gold.available());
  // Sum: a in 2..6, b in {10,20,30}: at most 15 distinct questions, each answer = a*b
  std::size_t sums = 0;
  for (std::size_t i = 0; i < r.gold.items.size(); ++i) {
    const auto& g = r.gold.items[i];
    if (g.id.rfind("gbrainy/Sum", 0) != 0) continue;
    ++sums;
    int a = 0, b = 0, p = 0;
    REQUIRE(std::sscanf(g.context.c_str(), "Question: What is %d times %d & p=%d?", &a, &b, &p) == 3);
    CHECK(a >= 2);
    CHECK(a <= 6);
    CHECK(p == 8);
    CHECK(g.answer == " " + std::to_string(a * b));
    CHECK(r.exact.items[i].answer == std::to_string(a * b));
  }
  CHECK(sums >= 5);
  CHECK(sums <= 15);
  // options -> multiple choice; analogies too
  REQUIRE(r.choice.items.size() == 2);
  CHECK(r.choice.items[0].choices == std::vector<std::string>{" 3", " 4"});
  CHECK(r.choice.items[0].gold == 0);
  CHECK(r.choice.items[1].gold == 1);
  // PairOfWordsCompare -> gold answer (first alternative)
  CHECK(r.gold.items.back().context == "Question: hungry is to eat as tired is to what?\nAnswer:");
  CHECK(r.gold.items.back().answer == " sleep");
  // the broken game is skipped with its reason, not thrown
  REQUIRE(r.choice.skipped.size() == 1);
  CHECK_THAT(r.choice.skipped[0], Catch::Contains("Broken") && Catch::Contains("unknown name 'y'"));

  write(dir / "bad.xml", "<games>\n<game><_name>x</_name>\n</games>");
  CHECK_THROWS_WITH(load_gbrainy(dir / "bad.xml", dir / "none.xml"), Catch::Contains("bad.xml:3"));
  const auto none = load_gbrainy(dir / "no.xml", dir / "none.xml");
  CHECK_THAT(none.gold.unavailable, Catch::Contains("benchmark not available"));
  fs::remove_all(dir);
}

TEST_CASE("plm: Python gold solutions are read from the exercise sources", "[data][cpu]") {
  const auto dir = fresh_dir("plm");
  write(dir / "lessons/bat/Twice.java", R"(public class Twice {
    templatePython("twice", new String[]{"Int"},
        "def twice(n):\n",
        "  return n * 2\n" +
        "  # \"done\"\n");
    templateScala("twice", new String[]{"Int"}, "def twice(n:Int):Int = {\n", "  n*2\n}");
})");
  write(dir / "lessons/bat/Twice.html",
        "<!-- translation note -->\n<h1>Twice</h1>\n<p>Return [!java]java only[/!][!python]twice[/!] n.</p>");
  write(dir / "lessons/bat/NoPython.java", "class X {}");
  const auto r = load_plm(dir);
  REQUIRE(r.available());
  REQUIRE(r.items.size() == 1);
  CHECK(r.items[0].id == "plm/twice");
  CHECK(r.items[0].context == "# Twice\n# Return twice n.\ndef twice(n):\n");
  CHECK(r.items[0].answer == "  return n * 2\n  # \"done\"\n");
  CHECK_THAT(load_plm(dir / "missing").unavailable, Catch::Contains("benchmark not available"));
  fs::remove_all(dir);
}

TEST_CASE("gsm jsonl: items, malformed lines name file and line, missing file is not available",
          "[data][cpu]") {
  const auto dir = fresh_dir("gsm");
  write(dir / "t.jsonl", R"({"question": "What is 2+3?", "answer": "2+3=<<2+3=5>>5\n#### 5"})"
                         "\n\n"
                         R"({"question": "Big?", "answer": "#### 1,200"})"
                         "\n");
  const auto r = load_gsm_jsonl(dir / "t.jsonl");
  REQUIRE(r.gold.items.size() == 2);
  CHECK(r.gold.items[0].context == "Question: What is 2+3?\nAnswer:");
  CHECK(r.gold.items[0].answer == " 2+3=<<2+3=5>>5\n#### 5");
  CHECK(r.exact.items[1].answer == "1200");
  CHECK(r.gold.items[1].id == "t.jsonl:3");
  write(dir / "bad.jsonl", R"({"question": "a", "answer": "#### 1"})"
                           "\n{not json\n");
  CHECK_THROWS_WITH(load_gsm_jsonl(dir / "bad.jsonl"), Catch::Contains("bad.jsonl:2") && Catch::Contains("invalid JSON"));
  write(dir / "nofield.jsonl", R"({"q": "a"})");
  CHECK_THROWS_WITH(load_gsm_jsonl(dir / "nofield.jsonl"), Catch::Contains("nofield.jsonl:1") && Catch::Contains("'question'"));
  write(dir / "nofinal.jsonl", R"({"question": "a", "answer": "no final"})");
  CHECK_THROWS_WITH(load_gsm_jsonl(dir / "nofinal.jsonl"), Catch::Contains("nofinal.jsonl:1") && Catch::Contains("####"));
  const auto missing = load_gsm_jsonl(dir / "missing.jsonl");
  CHECK_THAT(missing.gold.unavailable, Catch::Contains("benchmark not available") && Catch::Contains("missing.jsonl"));
  fs::remove_all(dir);
}

TEST_CASE("humaneval: gzip JSONL gives prompt -> canonical solution", "[data][cpu]") {
  const auto dir = fresh_dir("he");
  const std::string line = R"({"task_id": "T/0", "prompt": "def f():\n", "canonical_solution": "    return 1\n"})";
  gzFile f = gzopen((dir / "h.jsonl.gz").c_str(), "wb");
  gzwrite(f, line.data(), unsigned(line.size()));
  gzclose(f);
  const auto r = load_humaneval(dir / "h.jsonl.gz");
  REQUIRE(r.items.size() == 1);
  CHECK(r.items[0].context == "def f():\n");
  CHECK(r.items[0].answer == "    return 1\n");
  CHECK_FALSE(load_humaneval(dir / "none.gz").available());
  const fs::path real = kShared + "/humaneval/HumanEval.jsonl.gz";
  if (fs::exists(real)) CHECK(load_humaneval(real).items.size() == 164);
  fs::remove_all(dir);
}

TEST_CASE("text windows: fixed, evenly spaced, context not scored", "[data][cpu]") {
  std::string text;
  for (int i = 0; i < 1000; ++i) text.push_back(char('a' + i % 26));
  WindowConfig cfg;
  cfg.window_bytes = 100;
  cfg.context_bytes = 20;
  cfg.max_windows = 5;
  const auto w = text_windows(text, cfg);
  REQUIRE(w.size() == 5);
  for (const auto& x : w) {
    CHECK(x.context.size() == 20);
    CHECK(x.text.size() == 100);
  }
  CHECK(w[0].context == text.substr(0, 20));
  CHECK(w[4].text == text.substr(900, 100));  // the last window ends at the end of the text
  cfg.max_windows = 100;
  CHECK(text_windows(text, cfg).size() == 8);  // no more than fit without overlap
  CHECK(text_windows("short", cfg).empty());
}

TEST_CASE("cloze: the true continuation is among same-length endings from other documents",
          "[data][cpu]") {
  std::vector<std::string> docs;
  for (int d = 0; d < 6; ++d) docs.push_back(std::string(400, char('A' + d)));
  docs.push_back("too short");
  ClozeConfig cfg;
  cfg.context_bytes = 100;
  cfg.ending_bytes = 30;
  const auto items = make_cloze(docs, cfg);
  REQUIRE(items.size() == 6);
  std::set<std::size_t> gold_pos;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    CHECK(it.choices.size() == 4);
    CHECK(it.context == std::string(100, char('A' + i)));
    CHECK(it.choices[it.gold] == std::string(30, char('A' + i)));
    for (std::size_t c = 0; c < 4; ++c)
      if (c != it.gold) CHECK(it.choices[c][0] != char('A' + i));
    gold_pos.insert(it.gold);
  }
  CHECK(gold_pos.size() > 1);  // the gold position varies
}

TEST_CASE("math items: gold solution among wrong-operation solutions", "[data][cpu]") {
  MathGenerator g;
  const auto s = math_items(g, MathSplit::Test, 20);
  CHECK(s.gold.size() == 20);
  CHECK(s.exact.size() == 20);
  for (std::size_t i = 0; i < s.choice.size(); ++i) {
    const auto& c = s.choice[i];
    CHECK(c.choices.size() >= 2);
    CHECK(c.choices[c.gold] == s.gold[i].answer);
  }
}

TEST_CASE("subsample: a deterministic subset in original order", "[data][cpu]") {
  std::vector<int> v(100);
  for (int i = 0; i < 100; ++i) v[std::size_t(i)] = i;
  const auto a = subsample(v, 10, 1), b = subsample(v, 10, 1), c = subsample(v, 10, 2);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(subsample(v, 200).size() == 100);
}

}  // namespace dma_test_data_benchmarks
