// dma/data/benchmarks_quiz.hpp: the `facts` multiple-choice benchmark of the source field, built
// from bsdgames' quiz files (quiz(6) format: one item per line, fields separated by ':', a
// trailing '\' continues the line, '\' quotes a character, answers are patterns with `{optional}`
// parts, `a|b` and `[a|b]` alternatives). Distractors are other answers of the same file and
// category. A line without a ':' separator throws (file:line); an answer whose pattern has
// unbalanced brackets (a few in the shipped files) is skipped and listed in `skipped`. Read by eval/suite.hpp; tested in tests/unit/data_benchmarks.cpp on fixture files.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/data/benchmarks.hpp"

namespace dma::data {

namespace detail::quiz {

// The canonical reading of a pattern: the first alternative, optional parts included
// ("{G{eorge} }Washington" -> "George Washington", "Hen[ry|] [I|1]" -> "Henry I").
// Throws (with `where`) on unbalanced brackets.
inline std::string canonical(std::string_view pat, const std::string& where) {
  std::string out;
  // depth of [..] or {..} groups, and for each the "skip the rest of this alternative" state
  struct G { char close; bool skipping; };
  std::vector<G> stack;
  bool top_skip = false;  // after a top-level '|'
  auto skipping = [&] { return top_skip || std::any_of(stack.begin(), stack.end(), [](const G& g) { return g.skipping; }); };
  for (std::size_t i = 0; i < pat.size(); ++i) {
    const char c = pat[i];
    if (c == '\\' && i + 1 < pat.size()) {
      if (!skipping()) out.push_back(pat[++i]);
      else ++i;
      continue;
    }
    if (c == '{' || c == '[') {
      stack.push_back({c == '{' ? '}' : ']', false});
    } else if (c == '}' || c == ']') {
      if (stack.empty() || stack.back().close != c) fail(where, ": unbalanced '", c, "' in pattern '", pat, "'");
      stack.pop_back();
    } else if (c == '|') {
      if (stack.empty()) top_skip = true;
      else stack.back().skipping = true;
    } else if (!skipping()) {
      out.push_back(c);
    }
  }
  if (!stack.empty()) fail(where, ": unclosed '", stack.back().close == '}' ? '{' : '[', "' in pattern '", pat, "'");
  return out;
}

// The canonical reading of each top-level alternative ("sleep|Duncan" -> {"sleep", "Duncan"}).
inline std::vector<std::string> alternatives(std::string_view pat, const std::string& where) {
  std::vector<std::string> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= pat.size(); ++i) {
    if (i < pat.size() && pat[i] == '\\') {
      ++i;
      continue;
    }
    if (i < pat.size() && (pat[i] == '{' || pat[i] == '[')) ++depth;
    if (i < pat.size() && (pat[i] == '}' || pat[i] == ']')) --depth;
    if (i == pat.size() || (pat[i] == '|' && depth == 0)) {
      out.push_back(canonical(pat.substr(start, i - start), where));
      start = i + 1;
    }
  }
  return out;
}

// Splits a logical line at unescaped ':'.
inline std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      out.back().push_back(line[i]);
      out.back().push_back(line[++i]);
    } else if (line[i] == ':') {
      out.emplace_back();
    } else {
      out.back().push_back(line[i]);
    }
  }
  return out;
}

struct Entry {
  std::vector<std::string> fields;  // raw patterns
  std::size_t line;                 // first physical line
};

// Logical lines (continuations joined) of one quiz file.
inline std::vector<Entry> read_entries(const std::filesystem::path& path) {
  const std::string text = io::read_file(path);
  std::vector<Entry> out;
  std::string cur;
  std::size_t line_no = 0, first = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view l(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (cur.empty()) first = line_no;
    // a trailing unescaped backslash continues the line
    std::size_t bs = 0;
    while (bs < l.size() && l[l.size() - 1 - bs] == '\\') ++bs;
    if (bs % 2 == 1) {
      cur.append(l.substr(0, l.size() - 1));
      continue;
    }
    cur.append(l);
    if (!cur.empty()) {
      auto f = fields(cur);
      if (f.size() < 2)
        fail(path.string(), ":", first, ": expected at least two ':'-separated fields, got '", cur, "'");
      out.push_back({std::move(f), first});
    }
    cur.clear();
  }
  if (!cur.empty()) fail(path.string(), ":", first, ": file ends inside a continued line");
  return out;
}

}  // namespace detail::quiz

struct QuizConfig {
  std::size_t choices = 4;  // gold + up to choices-1 distractors
  std::uint64_t seed = 0;
  // Categories asked: question field 0, answer field k for every k >= 1 (all_pairs) or k = 1 only.
  bool all_pairs = true;
};

// Builds multiple-choice items from every quiz file in `dir` (the `index` file, when present,
// names the categories; it lists files by absolute path, matched here by file name).
inline Loaded<ChoiceItem> load_quiz(const std::filesystem::path& dir, const QuizConfig& cfg = {}) {
  namespace fs = std::filesystem;
  Loaded<ChoiceItem> out;
  out.source = dir.string();
  if (!fs::is_directory(dir)) {
    out.unavailable = detail::bench::not_available(dir, "quiz directory not found");
    return out;
  }
  std::map<std::string, std::vector<std::string>> categories;
  if (fs::exists(dir / "index")) {
    for (const auto& e : detail::quiz::read_entries(dir / "index")) {
      std::vector<std::string> names;
      for (std::size_t i = 1; i < e.fields.size(); ++i)
        names.push_back(detail::quiz::canonical(e.fields[i], (dir / "index").string()));
      categories[fs::path(e.fields[0]).filename().string()] = names;
    }
  }
  std::vector<fs::path> files;
  for (const auto& de : fs::directory_iterator(dir))
    if (de.is_regular_file() && de.path().filename() != "index") files.push_back(de.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const auto entries = detail::quiz::read_entries(f);
    const std::string stem = f.filename().string();
    const auto cat_it = categories.find(stem);
    std::size_t width = 0;
    for (const auto& e : entries) width = std::max(width, e.fields.size());
    for (std::size_t k = 1; k < width && (cfg.all_pairs || k == 1); ++k) {
      auto cat = [&](std::size_t i) {
        if (cat_it != categories.end() && i < cat_it->second.size()) return cat_it->second[i];
        return i == 0 ? std::string("question") : "answer " + std::to_string(i);
      };
      // answers of this category: canonical text and all alternatives (for the distractor test)
      struct A { std::string q, gold; std::vector<std::string> alts; std::size_t line; };
      std::vector<A> rows;
      for (const auto& e : entries) {
        if (e.fields.size() <= k) continue;
        const std::string where = f.string() + ":" + std::to_string(e.line);
        A a;
        try {
          a = A{detail::quiz::canonical(e.fields[0], where), detail::quiz::canonical(e.fields[k], where),
                detail::quiz::alternatives(e.fields[k], where), e.line};
        } catch (const Error& err) {
          // the shipped files hold a few broken patterns: skip that answer, keep the file
          if (k == 1) out.skipped.push_back(err.what());
          continue;
        }
        if (a.q.empty() || a.gold.empty()) continue;
        rows.push_back(std::move(a));
      }
      std::vector<std::string> pool;
      for (const auto& r : rows)
        if (std::find(pool.begin(), pool.end(), r.gold) == pool.end()) pool.push_back(r.gold);
      for (const auto& r : rows) {
        std::vector<std::string> cands;
        for (const auto& p : pool)
          if (std::find(r.alts.begin(), r.alts.end(), p) == r.alts.end() && p != r.gold) cands.push_back(p);
        if (cands.empty()) {
          out.skipped.push_back(f.string() + ":" + std::to_string(r.line) + ": no distractor available");
          continue;
        }
        Rng rng = Rng(cfg.seed).split("quiz").split(stem).split(std::uint64_t(r.line * 64 + k));
        ChoiceItem item;
        item.id = "quiz/" + stem + ":" + std::to_string(r.line) + ":" + std::to_string(k);
        item.context = cat(0) + ": " + r.q + "\n" + cat(k) + ":";
        item.choices.push_back(" " + r.gold);
        while (item.choices.size() < cfg.choices && !cands.empty()) {
          const auto j = rng.below(std::uint32_t(cands.size()));
          item.choices.push_back(" " + cands[j]);
          cands.erase(cands.begin() + std::ptrdiff_t(j));
        }
        item.gold = rng.below(std::uint32_t(item.choices.size()));
        std::swap(item.choices[0], item.choices[item.gold]);
        out.items.push_back(std::move(item));
      }
    }
  }
  if (out.items.empty()) out.unavailable = detail::bench::not_available(dir, "no quiz items found");
  return out;
}

}  // namespace dma::data
