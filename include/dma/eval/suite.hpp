// dma/eval/suite.hpp: benchmark suites. A Suite is a list of tasks (multiple choice, gold-answer
// log-prob, exact match, bits-per-byte), each with a field (source/target); evaluate(model)
// returns named scores (higher is better; bits-per-byte enters as "neg_bpb") that fill
// dma::Feedback's score / score_field / score_name. Builders for the source, math and code
// suites read files by path: a missing file is listed in `unavailable`, never thrown. Each has
// a fast variant (deterministic subsets, no greedy decoding: for trajectory collection) and a
// full variant. Tested in tests/unit/eval_suite.cpp; docs/BENCHMARKS.md lists every task.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/types.hpp"
#include "dma/data/benchmarks.hpp"
#include "dma/data/benchmarks_gbrainy.hpp"
#include "dma/data/benchmarks_plm.hpp"
#include "dma/data/benchmarks_quiz.hpp"
#include "dma/data/mathgen.hpp"
#include "dma/eval/scorers.hpp"

namespace dma::eval {

struct Score {
  std::string name;
  Field field = Field::Source;
  double value = 0;  // higher is better
  std::size_t n = 0; // items or windows behind the value
};

struct SuiteReport {
  std::vector<Score> scores;
  std::vector<std::string> unavailable;  // "benchmark not available: ..." lines

  [[nodiscard]] const Score* find(std::string_view name) const {
    for (const auto& s : scores)
      if (s.name == name) return &s;
    return nullptr;
  }
  // Appends the scores to a Feedback (score, score_field, score_name stay parallel).
  void append_to(Feedback& fb) const {
    for (const auto& s : scores) {
      fb.score.push_back(s.value);
      fb.score_field.push_back(s.field);
      fb.score_name.push_back(s.name);
    }
  }
};

enum class TaskKind : std::uint8_t { Choice, Gold, Exact, Bpb };

struct Task {
  std::string name;
  Field field = Field::Source;
  TaskKind kind = TaskKind::Gold;
  std::vector<data::ChoiceItem> choice;
  std::vector<data::GoldItem> gold;
  std::vector<data::ExactItem> exact;
  std::vector<data::TextWindow> windows;

  [[nodiscard]] std::size_t size() const noexcept {
    return choice.size() + gold.size() + exact.size() + windows.size();
  }
};

class Suite {
 public:
  Suite() = default;
  explicit Suite(std::string name) : m_name(std::move(name)) {}

  void add(Task t) {
    if (t.size() > 0) m_tasks.push_back(std::move(t));
  }
  // Records a loader's "not available" line, or adds its items as a task.
  template <class T>
  void add(const std::string& name, Field field, TaskKind kind, const data::Loaded<T>& loaded,
           std::size_t limit, std::uint64_t seed) {
    if (!loaded.available()) {
      m_unavailable.push_back(name + ": " + loaded.unavailable);
      return;
    }
    Task t{name, field, kind, {}, {}, {}, {}};
    auto items = limit > 0 ? data::subsample(loaded.items, limit, seed) : loaded.items;
    if constexpr (std::is_same_v<T, data::ChoiceItem>) t.choice = std::move(items);
    else if constexpr (std::is_same_v<T, data::GoldItem>) t.gold = std::move(items);
    else if constexpr (std::is_same_v<T, data::ExactItem>) t.exact = std::move(items);
    else t.windows = std::move(items);
    add(std::move(t));
  }
  void note_unavailable(std::string line) { m_unavailable.push_back(std::move(line)); }

  [[nodiscard]] const std::string& name() const noexcept { return m_name; }
  [[nodiscard]] const std::vector<Task>& tasks() const noexcept { return m_tasks; }
  [[nodiscard]] const std::vector<std::string>& unavailable() const noexcept { return m_unavailable; }

  // Scores: "<task>.acc" and "<task>.acc_norm" (choice), "<task>.gold_logprob" (nats per byte),
  // "<task>.exact" (accuracy), "<task>.neg_bpb" (minus bits per byte).
  template <ScoringModel M>
  SuiteReport evaluate(M& model) const {
    SuiteReport r;
    r.unavailable = m_unavailable;
    for (const auto& t : m_tasks) {
      switch (t.kind) {
        case TaskKind::Choice: {
          const auto c = score_choices(model, std::span<const data::ChoiceItem>(t.choice));
          r.scores.push_back({t.name + ".acc", t.field, c.accuracy, c.n});
          r.scores.push_back({t.name + ".acc_norm", t.field, c.accuracy_norm, c.n});
          break;
        }
        case TaskKind::Gold: {
          const auto g = score_gold(model, std::span<const data::GoldItem>(t.gold));
          r.scores.push_back({t.name + ".gold_logprob", t.field, g.logprob_per_byte, g.n});
          break;
        }
        case TaskKind::Exact: {
          const auto e = score_exact(model, std::span<const data::ExactItem>(t.exact));
          r.scores.push_back({t.name + ".exact", t.field, e.accuracy, e.n});
          break;
        }
        case TaskKind::Bpb: {
          const auto b = score_bpb(model, std::span<const data::TextWindow>(t.windows));
          r.scores.push_back({t.name + ".neg_bpb", t.field, -b.bpb, b.n});
          break;
        }
      }
    }
    return r;
  }

 private:
  std::string m_name;
  std::vector<Task> m_tasks;
  std::vector<std::string> m_unavailable;
};

enum class Variant : std::uint8_t { Fast, Full };

// Where the benchmark files are. bench_root: the data-preparation output's bench/ folder, with
// each Debian package unpacked under bench/<package>/ at its package-relative paths. shared_data:
// the developers' ../shared/data (GSM8K, HumanEval, WikiText-2, tinyshakespeare). Either may
// be empty or missing: the tasks that need it are reported as not available.
struct SuitePaths {
  std::filesystem::path bench_root;
  std::filesystem::path shared_data;

  [[nodiscard]] std::filesystem::path quiz_dir() const { return bench_root / "bsdgames/usr/share/games/bsdgames/quiz"; }
  [[nodiscard]] std::filesystem::path gbrainy_games() const { return bench_root / "gbrainy/usr/share/games/gbrainy/games.xml"; }
  [[nodiscard]] std::filesystem::path gbrainy_analogies() const {
    return bench_root / "gbrainy/usr/share/games/gbrainy/verbal_analogies.xml";
  }
  [[nodiscard]] std::filesystem::path plm_dir() const { return bench_root / "plm"; }
  [[nodiscard]] std::filesystem::path gsm8k_test() const { return shared_data / "gsm8k/test.jsonl"; }
  [[nodiscard]] std::filesystem::path humaneval() const { return shared_data / "humaneval/HumanEval.jsonl.gz"; }
  [[nodiscard]] std::filesystem::path wikitext2_test() const { return shared_data / "wikitext-2/test.txt"; }
  [[nodiscard]] std::filesystem::path tinyshakespeare() const { return shared_data / "tinyshakespeare/input.txt"; }
};

struct SuiteConfig {
  Variant variant = Variant::Fast;
  std::size_t fast_items = 64;         // items per task in the fast variant
  std::size_t fast_windows = 32;       // bits-per-byte windows per task in the fast variant
  std::size_t full_windows = 256;      // ... in the full variant
  std::size_t math_items = 500;        // generated math problems per split (full variant)
  std::size_t exact_full_items = 200;  // exact-match items per task in the full variant (decoding is slow)
  data::WindowConfig window{};         // window size and context for bits-per-byte
  data::ClozeConfig cloze{};
  data::QuizConfig quiz{};
  data::GbrainyConfig gbrainy{};
  std::uint64_t seed = 0;              // picks the fast subsets

  [[nodiscard]] bool fast() const noexcept { return variant == Variant::Fast; }
  [[nodiscard]] std::size_t items() const noexcept { return fast() ? fast_items : 0; }
  [[nodiscard]] data::WindowConfig windows() const {
    auto w = window;
    w.max_windows = fast() ? fast_windows : full_windows;
    return w;
  }
};

namespace detail {
inline data::Loaded<data::TextWindow> doc_windows(std::span<const std::string> docs, const data::WindowConfig& w,
                                                  const std::string& what) {
  data::Loaded<data::TextWindow> l;
  l.source = what;
  std::string joined;
  for (const auto& d : docs) joined += d + "\n\n";
  l.items = data::text_windows(joined, w);
  if (l.items.empty()) l.unavailable = "benchmark not available: " + what + " (no held-out documents given)";
  return l;
}
}  // namespace detail

// Source field: facts (bsdgames quiz), cloze over held-out source documents, WikiText-2 and
// tinyshakespeare bits-per-byte.
inline Suite source_suite(const SuitePaths& paths, const SuiteConfig& cfg,
                          std::span<const std::string> heldout_docs = {}) {
  Suite s("source");
  s.add("facts", Field::Source, TaskKind::Choice, data::load_quiz(paths.quiz_dir(), cfg.quiz), cfg.items(), cfg.seed);
  data::Loaded<data::ChoiceItem> cloze;
  cloze.source = "held-out source documents";
  cloze.items = data::make_cloze(heldout_docs, cfg.cloze, "cloze");
  if (cloze.items.empty()) cloze.unavailable = "benchmark not available: cloze (too few held-out source documents given)";
  s.add("cloze", Field::Source, TaskKind::Choice, cloze, cfg.items(), cfg.seed);
  s.add("wikitext2", Field::Source, TaskKind::Bpb, data::load_text_windows(paths.wikitext2_test(), cfg.windows()), 0,
        cfg.seed);
  s.add("tinyshakespeare", Field::Source, TaskKind::Bpb,
        data::load_text_windows(paths.tinyshakespeare(), cfg.windows()), 0, cfg.seed);
  return s;
}

// Math field: the generator's test and test_ood splits (gold log-prob, multiple choice against
// wrong-operation solutions, exact match), GSM8K test, gbrainy puzzles.
inline Suite math_suite(const SuitePaths& paths, const SuiteConfig& cfg, const data::MathGenerator& gen) {
  Suite s("math");
  const std::size_t n = cfg.fast() ? cfg.fast_items : cfg.math_items;
  const std::size_t exact_n = cfg.fast() ? 0 : cfg.exact_full_items;
  for (auto split : {data::MathSplit::Test, data::MathSplit::TestOod}) {
    const std::string name = std::string("math_") + data::to_string(split);
    auto set = data::math_items(gen, split, n);
    s.add(Task{name, Field::Target, TaskKind::Gold, {}, std::move(set.gold), {}, {}});
    s.add(Task{name, Field::Target, TaskKind::Choice, std::move(set.choice), {}, {}, {}});
    if (exact_n > 0) {
      set.exact.resize(std::min(set.exact.size(), exact_n));
      s.add(Task{name, Field::Target, TaskKind::Exact, {}, {}, std::move(set.exact), {}});
    }
  }
  const auto gsm = data::load_gsm_jsonl(paths.gsm8k_test());
  s.add("gsm8k", Field::Target, TaskKind::Gold, gsm.gold, cfg.items(), cfg.seed);
  if (exact_n > 0) s.add("gsm8k", Field::Target, TaskKind::Exact, gsm.exact, exact_n, cfg.seed);
  const auto gb = data::load_gbrainy(paths.gbrainy_games(), paths.gbrainy_analogies(), cfg.gbrainy);
  s.add("gbrainy", Field::Target, TaskKind::Choice, gb.choice, cfg.items(), cfg.seed);
  s.add("gbrainy", Field::Target, TaskKind::Gold, gb.gold, cfg.items(), cfg.seed);
  if (exact_n > 0) s.add("gbrainy", Field::Target, TaskKind::Exact, gb.exact, exact_n, cfg.seed);
  return s;
}

// Code field: HumanEval canonical solutions, plm gold solutions (log-prob), held-out code
// bits-per-byte.
inline Suite code_suite(const SuitePaths& paths, const SuiteConfig& cfg,
                        std::span<const std::string> heldout_code_docs = {}) {
  Suite s("code");
  s.add("humaneval", Field::Target, TaskKind::Gold, data::load_humaneval(paths.humaneval()), cfg.items(), cfg.seed);
  s.add("plm", Field::Target, TaskKind::Gold, data::load_plm(paths.plm_dir()), cfg.items(), cfg.seed);
  s.add("code_heldout", Field::Target, TaskKind::Bpb,
        detail::doc_windows(heldout_code_docs, cfg.windows(), "held-out code documents"), 0, cfg.seed);
  return s;
}

}  // namespace dma::eval
