// dma/data/benchmarks.hpp: benchmark items and the loaders for line-based benchmark files.
// Item kinds: ChoiceItem (multiple choice by likelihood), GoldItem (log-prob of a gold answer),
// ExactItem (exact match by greedy decoding), TextWindow (bits-per-byte). Loaders for GSM8K and
// generator JSONL, HumanEval (.jsonl.gz), held-out text windows, a HellaSwag-style cloze from
// held-out documents, and the math generator. A missing file gives Loaded::unavailable ("benchmark
// not available"), never a throw; a malformed line throws dma::Error naming file and line.
// Other formats: benchmarks_quiz.hpp, benchmarks_gbrainy.hpp, benchmarks_plm.hpp. Scored by eval/.
// Tested in tests/unit/data_benchmarks.cpp.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/data/mathgen.hpp"

namespace dma::data {

// Multiple choice: the choice with the highest log-likelihood given `context` is the answer.
struct ChoiceItem {
  std::string id;
  std::string context;
  std::vector<std::string> choices;
  std::size_t gold = 0;
};

// The log-probability of `answer` given `context` (the paper's feedback signal).
struct GoldItem {
  std::string id;
  std::string context;
  std::string answer;
};

// How the answer is read from a greedy continuation (see eval/extract.hpp).
enum class AnswerKind : std::uint8_t {
  Number = 0,  // the number after "####" if present, else the first number
  Line = 1,    // the first line, trimmed, compared case-insensitively
};

// Exact match: greedy-decode up to `max_bytes` after `prompt`, extract, compare with `answer`.
struct ExactItem {
  std::string id;
  std::string prompt;
  std::string answer;
  AnswerKind kind = AnswerKind::Number;
  std::size_t max_bytes = 64;
};

// Bits-per-byte: `text` is scored given `context` (which is not counted).
struct TextWindow {
  std::string context;
  std::string text;
};

// A loader's result: the items, or why the benchmark is not available; `skipped` lists items
// that could not be built from an otherwise valid file (with the reason).
template <class T>
struct Loaded {
  std::vector<T> items;
  std::string source;
  std::string unavailable;
  std::vector<std::string> skipped;
  [[nodiscard]] bool available() const noexcept { return unavailable.empty(); }
};

namespace detail::bench {

inline std::string not_available(const std::filesystem::path& p, std::string_view why = "file not found") {
  return "benchmark not available: " + p.string() + " (" + std::string(why) + ")";
}

// Reads a gzip (or plain) file through zlib.
inline std::string read_gz(const std::filesystem::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(path.string(), ": cannot open for reading");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      fail(path.string(), ": gzip read error: ", msg);
    }
    if (n == 0) break;
    out.append(buf, std::size_t(n));
  }
  gzclose(f);
  return out;
}

// Calls fn(line_number, json) for every non-empty line; a bad line throws naming file and line.
template <class Fn>
void for_each_jsonl(std::string_view text, const std::string& source, Fn&& fn) {
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const auto line = text.substr(pos, nl - pos);
    ++line_no;
    pos = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Json j;
    try {
      j = Json::parse(line);
    } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
      fail(source, ":", line_no, ": invalid JSON line (", e.what(), ")");
    }
    fn(line_no, j);
  }
}

inline std::string field(const Json& j, std::string_view key, const std::string& source, std::size_t line) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    fail(source, ":", line, ": expected a string field '", key, "'");
  return it->get<std::string>();
}

// The text after the last "####" of a GSM8K answer, without thousands separators.
inline std::string gsm_final(std::string_view answer) {
  const auto p = answer.rfind("####");
  if (p == std::string_view::npos) return {};
  std::string s;
  for (char c : answer.substr(p + 4))
    if (c != ',' && c != ' ' && c != '\n' && c != '\r' && c != '$') s.push_back(c);
  return s;
}

// Moves i back to the start of a UTF-8 character.
inline std::size_t utf8_start(std::string_view s, std::size_t i) {
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace detail::bench

// ---- GSM8K-format JSONL (GSM8K itself, or gen_math output) ---------------------------------
struct QaSet {
  Loaded<GoldItem> gold;
  Loaded<ExactItem> exact;
};

// {"question", "answer"} lines: gold = the full answer given qa_prompt(question); exact = the
// number after "####", decoded greedily from qa_prompt(question).
inline QaSet load_gsm_jsonl(const std::filesystem::path& path, std::size_t exact_max_bytes = 256) {
  QaSet out;
  out.gold.source = out.exact.source = path.string();
  if (!std::filesystem::exists(path)) {
    out.gold.unavailable = out.exact.unavailable = detail::bench::not_available(path);
    return out;
  }
  const std::string text = io::read_file(path);
  detail::bench::for_each_jsonl(text, path.string(), [&](std::size_t line, const Json& j) {
    const std::string q = detail::bench::field(j, "question", path.string(), line);
    const std::string a = detail::bench::field(j, "answer", path.string(), line);
    const std::string fin = detail::bench::gsm_final(a);
    if (fin.empty()) fail(path.string(), ":", line, ": answer has no '#### N' final line");
    const std::string id = path.filename().string() + ":" + std::to_string(line);
    out.gold.items.push_back({id, qa_prompt(q), " " + a});
    out.exact.items.push_back({id, qa_prompt(q), fin, AnswerKind::Number, exact_max_bytes});
  });
  return out;
}

// ---- HumanEval ----------------------------------------------------------------------------
// {"task_id", "prompt", "canonical_solution"} lines, gzip-compressed or plain: the canonical
// solution's log-prob given the prompt.
inline Loaded<GoldItem> load_humaneval(const std::filesystem::path& path) {
  Loaded<GoldItem> out;
  out.source = path.string();
  if (!std::filesystem::exists(path)) {
    out.unavailable = detail::bench::not_available(path);
    return out;
  }
  const std::string text = detail::bench::read_gz(path);
  detail::bench::for_each_jsonl(text, path.string(), [&](std::size_t line, const Json& j) {
    out.items.push_back({detail::bench::field(j, "task_id", path.string(), line),
                         detail::bench::field(j, "prompt", path.string(), line),
                         detail::bench::field(j, "canonical_solution", path.string(), line)});
  });
  return out;
}

// ---- held-out text: fixed windows for bits-per-byte -------------------------------------
struct WindowConfig {
  std::size_t window_bytes = 256;  // bytes scored per window
  std::size_t context_bytes = 0;   // bytes before each window given as context, not scored
  std::size_t max_windows = 128;   // windows are spread evenly over the text
};

// Fixed, evenly spaced windows over `text` (the same windows on every call).
inline std::vector<TextWindow> text_windows(std::string_view text, const WindowConfig& cfg) {
  std::vector<TextWindow> out;
  const std::size_t span = cfg.window_bytes + cfg.context_bytes;
  if (cfg.window_bytes == 0 || text.size() < span || cfg.max_windows == 0) return out;
  const std::size_t fit = text.size() / span;
  const std::size_t n = std::min(fit, cfg.max_windows);
  const std::size_t stride = n > 1 ? (text.size() - span) / (n - 1) : 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t start = detail::bench::utf8_start(text, i * stride);
    const std::size_t mid = detail::bench::utf8_start(text, start + cfg.context_bytes);
    const std::size_t end = detail::bench::utf8_start(text, std::min(text.size(), start + span));
    out.push_back({std::string(text.substr(start, mid - start)), std::string(text.substr(mid, end - mid))});
  }
  return out;
}

inline Loaded<TextWindow> load_text_windows(const std::filesystem::path& path, const WindowConfig& cfg = {}) {
  Loaded<TextWindow> out;
  out.source = path.string();
  if (!std::filesystem::exists(path)) {
    out.unavailable = detail::bench::not_available(path);
    return out;
  }
  out.items = text_windows(io::read_file(path), cfg);
  if (out.items.empty()) out.unavailable = detail::bench::not_available(path, "file shorter than one window");
  return out;
}

// ---- cloze from held-out documents (HellaSwag style) -------------------------------------
struct ClozeConfig {
  std::size_t context_bytes = 192;  // passage given
  std::size_t ending_bytes = 64;    // true continuation (and each distractor's length)
  std::size_t choices = 4;          // gold + distractors from other documents
  std::uint64_t seed = 0;
};

// One item per document long enough: the passage, its true continuation, and same-length
// continuations cut from other documents at random positions (dma::Rng, deterministic).
inline std::vector<ChoiceItem> make_cloze(std::span<const std::string> docs, const ClozeConfig& cfg,
                                          std::string_view name = "cloze") {
  std::vector<ChoiceItem> out;
  std::vector<std::size_t> usable;
  const std::size_t need = cfg.context_bytes + cfg.ending_bytes;
  for (std::size_t i = 0; i < docs.size(); ++i)
    if (docs[i].size() >= need) usable.push_back(i);
  if (usable.size() < 2 || cfg.choices < 2) return out;
  Rng base = Rng(cfg.seed).split("cloze");
  for (std::size_t u = 0; u < usable.size(); ++u) {
    const std::string& d = docs[usable[u]];
    Rng rng = base.split(std::uint64_t(u));
    const std::size_t s = detail::bench::utf8_start(d, rng.below(std::uint32_t(d.size() - need + 1)));
    const std::size_t mid = detail::bench::utf8_start(d, s + cfg.context_bytes);
    const std::size_t end = detail::bench::utf8_start(d, std::min(d.size(), mid + cfg.ending_bytes));
    ChoiceItem item;
    item.id = std::string(name) + ":" + std::to_string(usable[u]);
    item.context = d.substr(s, mid - s);
    std::vector<std::string> endings{d.substr(mid, end - mid)};
    const std::size_t k = std::min(cfg.choices, usable.size());
    std::size_t guard = 0;
    while (endings.size() < k && guard++ < 64) {
      const std::size_t o = usable[rng.below(std::uint32_t(usable.size()))];
      if (o == usable[u]) continue;
      const std::string& od = docs[o];
      const std::size_t os = detail::bench::utf8_start(od, rng.below(std::uint32_t(od.size() - cfg.ending_bytes + 1)));
      const std::size_t oe = detail::bench::utf8_start(od, std::min(od.size(), os + cfg.ending_bytes));
      std::string e = od.substr(os, oe - os);
      if (std::find(endings.begin(), endings.end(), e) == endings.end()) endings.push_back(std::move(e));
    }
    // the gold ending goes to a random position
    const std::size_t g = rng.below(std::uint32_t(endings.size()));
    std::swap(endings[0], endings[g]);
    item.choices = std::move(endings);
    item.gold = g;
    out.push_back(std::move(item));
  }
  return out;
}

// ---- the math generator as a benchmark ---------------------------------------------------
struct MathSet {
  std::vector<GoldItem> gold;      // full solution given the question
  std::vector<ChoiceItem> choice;  // gold solution vs wrong-operation solutions
  std::vector<ExactItem> exact;    // the final number by greedy decoding
};

inline MathSet math_items(const MathGenerator& gen, MathSplit split, std::size_t n, std::size_t max_choices = 4,
                          std::size_t exact_max_bytes = 256) {
  MathSet out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto p = gen.problem(split, i);
    const std::string id = std::string("math_") + to_string(split) + ":" + std::to_string(i);
    const std::string prompt = qa_prompt(p.question);
    out.gold.push_back({id, prompt, " " + p.answer});
    out.exact.push_back({id, prompt, std::to_string(p.result), AnswerKind::Number, exact_max_bytes});
    if (p.wrong_solutions.empty()) continue;
    ChoiceItem c;
    c.id = id;
    c.context = prompt;
    c.choices.push_back(" " + p.answer);
    for (std::size_t k = 0; k < p.wrong_solutions.size() && c.choices.size() < max_choices; ++k)
      c.choices.push_back(" " + p.wrong_solutions[k]);
    Rng rng = Rng(gen.config().seed).split("math_choice").split(std::uint64_t(i));
    c.gold = rng.below(std::uint32_t(c.choices.size()));
    std::swap(c.choices[0], c.choices[c.gold]);
    out.choice.push_back(std::move(c));
  }
  return out;
}

// A deterministic subset of at most n items (a seeded shuffle, then the first n in their
// original order): the "fast" variant of a suite.
template <class T>
std::vector<T> subsample(const std::vector<T>& items, std::size_t n, std::uint64_t seed = 0) {
  if (items.size() <= n) return items;
  std::vector<std::size_t> idx(items.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  Rng rng = Rng(seed).split("subsample");
  for (std::size_t i = idx.size() - 1; i > 0; --i) std::swap(idx[i], idx[rng.below(std::uint32_t(i + 1))]);
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  std::vector<T> out;
  out.reserve(n);
  for (auto i : idx) out.push_back(items[i]);
  return out;
}

}  // namespace dma::data
