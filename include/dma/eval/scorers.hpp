// dma/eval/scorers.hpp: the scorers of dma, usable with any dma::ScoringModel (summed natural-log
// probability of a continuation's bytes given a context; greedy decoding). Multiple choice by
// likelihood (accuracy and per-byte length-normalised accuracy), gold-answer log-probability per
// byte (the paper's feedback signal), exact match by greedy decoding, held-out bits-per-byte.
// Requests are batched. Sits between the benchmark items (data/benchmarks*.hpp) and the suites
// (eval/suite.hpp). Tested against hand-computed values in tests/unit/eval_scorers.cpp.
#pragma once

#include <cmath>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/data/benchmarks.hpp"
#include "dma/eval/extract.hpp"

namespace dma::eval {

inline constexpr std::size_t kScoreBatch = 256;  // requests per model.score() call

namespace detail {
// Scores requests in chunks of `batch`, checking that the model answers each one.
template <ScoringModel M>
std::vector<double> score_all(M& model, const std::vector<ScoreRequest>& reqs, std::size_t batch) {
  std::vector<double> out;
  out.reserve(reqs.size());
  for (std::size_t i = 0; i < reqs.size(); i += batch) {
    const std::size_t n = std::min(batch, reqs.size() - i);
    auto part = model.score(std::span<const ScoreRequest>(reqs.data() + i, n));
    if (part.size() != n) fail("scoring model returned ", part.size(), " scores for ", n, " requests");
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}
}  // namespace detail

struct ChoiceResult {
  double accuracy = 0;       // argmax of summed log-prob is the gold choice (ties: first wins)
  double accuracy_norm = 0;  // argmax of log-prob per byte of the choice
  std::size_t n = 0;
};

template <ScoringModel M>
ChoiceResult score_choices(M& model, std::span<const data::ChoiceItem> items, std::size_t batch = kScoreBatch) {
  std::vector<ScoreRequest> reqs;
  for (const auto& it : items) {
    if (it.choices.empty() || it.gold >= it.choices.size())
      fail("multiple-choice item '", it.id, "': gold index ", it.gold, " out of ", it.choices.size(), " choices");
    for (const auto& c : it.choices) reqs.push_back({it.context, c});
  }
  const auto lp = detail::score_all(model, reqs, batch);
  ChoiceResult r;
  std::size_t k = 0, hit = 0, hit_norm = 0;
  for (const auto& it : items) {
    std::size_t best = 0, best_norm = 0;
    double bv = -INFINITY, bn = -INFINITY;
    for (std::size_t c = 0; c < it.choices.size(); ++c, ++k) {
      const double v = lp[k];
      const double nv = v / double(std::max<std::size_t>(1, it.choices[c].size()));
      if (v > bv) {
        bv = v;
        best = c;
      }
      if (nv > bn) {
        bn = nv;
        best_norm = c;
      }
    }
    hit += best == it.gold;
    hit_norm += best_norm == it.gold;
  }
  r.n = items.size();
  if (r.n > 0) {
    r.accuracy = double(hit) / double(r.n);
    r.accuracy_norm = double(hit_norm) / double(r.n);
  }
  return r;
}

struct GoldResult {
  double logprob_per_byte = 0;        // mean over items of (log-prob / answer bytes), nats
  double logprob_per_byte_micro = 0;  // total log-prob / total answer bytes, nats
  double total_logprob = 0;
  std::size_t bytes = 0;
  std::size_t n = 0;
};

// The average per-byte log-probability of the gold answers [paper: "average per-token
// log-probability of the gold answer"; ours: per byte, so that it does not depend on a tokenizer].
template <ScoringModel M>
GoldResult score_gold(M& model, std::span<const data::GoldItem> items, std::size_t batch = kScoreBatch) {
  std::vector<ScoreRequest> reqs;
  for (const auto& it : items) reqs.push_back({it.context, it.answer});
  const auto lp = detail::score_all(model, reqs, batch);
  GoldResult r;
  r.n = items.size();
  double macro = 0;
  std::size_t counted = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::size_t b = items[i].answer.size();
    r.total_logprob += lp[i];
    r.bytes += b;
    if (b > 0) {
      macro += lp[i] / double(b);
      ++counted;
    }
  }
  if (counted > 0) r.logprob_per_byte = macro / double(counted);
  if (r.bytes > 0) r.logprob_per_byte_micro = r.total_logprob / double(r.bytes);
  return r;
}

struct ExactResult {
  double accuracy = 0;
  std::size_t n = 0;
};

// Greedy decoding; the continuation is cut at the first blank line (the end of an answer in
// the corpus format, see data::qa_document), then the answer is extracted and compared.
template <ScoringModel M>
ExactResult score_exact(M& model, std::span<const data::ExactItem> items) {
  ExactResult r;
  std::size_t hit = 0;
  for (const auto& it : items) {
    std::string g = model.generate_greedy(it.prompt, it.max_bytes);
    if (const auto p = g.find("\n\n"); p != std::string::npos) g.resize(p);
    hit += answer_matches(it.kind, g, it.answer);
  }
  r.n = items.size();
  if (r.n > 0) r.accuracy = double(hit) / double(r.n);
  return r;
}

struct BpbResult {
  double bpb = 0;  // bits per byte of the scored text
  std::size_t bytes = 0;
  std::size_t n = 0;
};

// Bits per byte = -sum log-prob / (ln 2 * scored bytes), over fixed windows.
template <ScoringModel M>
BpbResult score_bpb(M& model, std::span<const data::TextWindow> windows, std::size_t batch = kScoreBatch) {
  std::vector<ScoreRequest> reqs;
  for (const auto& w : windows) reqs.push_back({w.context, w.text});
  const auto lp = detail::score_all(model, reqs, batch);
  BpbResult r;
  r.n = windows.size();
  double total = 0;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    total += lp[i];
    r.bytes += windows[i].text.size();
  }
  if (r.bytes > 0) r.bpb = -total / (std::numbers::ln2 * double(r.bytes));
  return r;
}

}  // namespace dma::eval
