// dma/eval/extract.hpp: reading an answer out of a greedy continuation, for exact match.
// Numbers: the number after the last "####" when present (GSM8K's final line), else the first
// number; normalised (no thousands separators, "$", trailing ".0"). Lines: the first line,
// trimmed, lower-cased, without a final period. Used by eval/scorers.hpp; tested in
// tests/unit/eval_scorers.cpp.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include "dma/data/benchmarks.hpp"

namespace dma::eval {

// "1,234.50" -> "1234.5", "$18" -> "18", "-3.0" -> "-3"; "" when s holds no number.
inline std::string normalize_number(std::string_view s) {
  std::string t;
  for (char c : s)
    if (c != ',' && c != '$' && c != ' ') t.push_back(c);
  if (!t.empty() && t.front() == '+') t.erase(0, 1);
  if (t.find('.') != std::string::npos) {
    while (!t.empty() && t.back() == '0') t.pop_back();
    if (!t.empty() && t.back() == '.') t.pop_back();
  }
  if (t == "-0") t = "0";
  return t;
}

// The first number in s (digits with optional sign, thousands commas and decimals), normalised.
inline std::string first_number(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) continue;
    std::size_t b = i;
    if (b > 0 && s[b - 1] == '-') --b;
    std::size_t e = i;
    while (e < s.size() && (std::isdigit(static_cast<unsigned char>(s[e])) ||
                            ((s[e] == ',' || s[e] == '.') && e + 1 < s.size() &&
                             std::isdigit(static_cast<unsigned char>(s[e + 1])))))
      ++e;
    return normalize_number(s.substr(b, e - b));
  }
  return {};
}

inline std::string extract_number(std::string_view generated) {
  const auto p = generated.rfind("####");
  if (p != std::string_view::npos) {
    const std::string n = first_number(generated.substr(p + 4));
    if (!n.empty()) return n;
  }
  return first_number(generated);
}

inline std::string extract_line(std::string_view generated) {
  const auto nl = generated.find('\n', generated.find_first_not_of(" \t\n"));
  std::string_view l = generated.substr(0, nl);
  std::string t;
  for (char c : l) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  const auto b = t.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  t = t.substr(b, t.find_last_not_of(" \t\r\n") - b + 1);
  if (!t.empty() && t.back() == '.') t.pop_back();
  return t;
}

// Whether a greedy continuation answers `gold` under `kind`.
inline bool answer_matches(data::AnswerKind kind, std::string_view generated, std::string_view gold) {
  if (kind == data::AnswerKind::Number) {
    const std::string g = normalize_number(gold);
    return !g.empty() && extract_number(generated) == g;
  }
  return extract_line(generated) == extract_line(gold);
}

}  // namespace dma::eval
