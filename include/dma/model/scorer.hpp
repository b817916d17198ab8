// dma/model/scorer.hpp: the proxy as a dma::ScoringModel for the evaluator (eval/): score() sums
// the natural-log probabilities of each continuation's bytes given its context, forward-only and
// batched (all windows of all requests packed into batches of the model's max_batch);
// generate_greedy() decodes bytes after a prompt. Byte tokens via data::ByteTokenizer. Tested in
// tests/unit/model_scorer.cpp.
//
// Windows: a request is the byte sequence [BOS if the context is empty] + context + continuation.
// When it is longer than context + 1 tokens the context is truncated from the left; a
// continuation longer than the window is scored in sliding windows that advance by half the
// context, so that every scored byte sees at least T/2 bytes of left context (or all there is).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/data/tokenizer.hpp"
#include "dma/model/llama.hpp"
#include "dma/model/state.hpp"

namespace dma::model {

template <class B = backend::Cpu>
class Scorer {
 public:
  // Scores with `params` (e.g. TrainState::params.data()) on `model`'s buffers; both must outlive
  // the scorer. The model's vocabulary must hold the 256 bytes.
  Scorer(Llama<B>& model, const float* params) : m_model(&model), m_params(params) {
    if (model.config().vocab < 256)
      fail("model::Scorer: vocab ", model.config().vocab, " cannot hold byte tokens (need >= 256)");
  }
  Scorer(Llama<B>& model, const TrainState<B>& state) : Scorer(model, state.params.data()) {}

  std::vector<double> score(std::span<const ScoreRequest> reqs) {
    const std::size_t T = m_model->config().context;
    std::vector<double> out(reqs.size(), 0.0);
    std::vector<std::vector<Token>> seqs(reqs.size());
    std::vector<Window> windows;
    for (std::size_t r = 0; r < reqs.size(); ++r) {
      auto& s = seqs[r];
      const bool bos = reqs[r].context.empty() && m_model->config().vocab > data::ByteTokenizer::kBos;
      if (bos) s.push_back(data::ByteTokenizer::kBos);
      for (char c : reqs[r].context) s.push_back(Token(static_cast<unsigned char>(c)));
      const std::size_t cs = std::max<std::size_t>(s.size(), 1);  // first scored position
      for (char c : reqs[r].continuation) s.push_back(Token(static_cast<unsigned char>(c)));
      const std::size_t L = s.size();
      const std::size_t stride = std::max<std::size_t>(1, T / 2);
      for (std::size_t cur = cs; cur < L;) {
        const std::size_t e = std::min(L, std::max(cur + stride, T + 1));
        const std::size_t st = e - 1 > T ? e - 1 - T : 0;
        windows.push_back({r, st, cur, e});
        cur = e;
      }
    }
    const std::size_t MB = m_model->max_batch();
    std::vector<Token> in, tg;
    for (std::size_t w0 = 0; w0 < windows.size(); w0 += MB) {
      const std::size_t nb = std::min(MB, windows.size() - w0);
      std::size_t len = 1;
      for (std::size_t i = 0; i < nb; ++i) len = std::max(len, windows[w0 + i].e - 1 - windows[w0 + i].s);
      in.assign(nb * len, 0);
      tg.assign(nb * len, 0);
      for (std::size_t i = 0; i < nb; ++i) {
        const Window& w = windows[w0 + i];
        const auto& s = seqs[w.req];
        for (std::size_t p = w.s; p + 1 < w.e; ++p) {
          in[i * len + (p - w.s)] = s[p];
          tg[i * len + (p - w.s)] = s[p + 1];
        }
      }
      m_model->forward(m_params, in.data(), tg.data(), nb, len);
      const float* losses = m_model->token_losses();
      for (std::size_t i = 0; i < nb; ++i) {
        const Window& w = windows[w0 + i];
        double sum = 0.0;
        for (std::size_t p = w.cur; p < w.e; ++p) sum += double(losses[i * len + (p - 1 - w.s)]);
        out[w.req] -= sum;
      }
    }
    return out;
  }

  // Greedy decoding of up to max_bytes bytes after the prompt (stops early at a special token).
  std::string generate_greedy(std::string_view prompt, std::size_t max_bytes) {
    const std::size_t T = m_model->config().context, V = m_model->config().vocab;
    std::vector<Token> s;
    if (prompt.empty() && V > data::ByteTokenizer::kBos) s.push_back(data::ByteTokenizer::kBos);
    for (char c : prompt) s.push_back(Token(static_cast<unsigned char>(c)));
    if (s.empty()) s.push_back(Token('\n'));
    std::string out;
    for (std::size_t i = 0; i < max_bytes; ++i) {
      const std::size_t len = std::min(T, s.size());
      m_model->forward(m_params, s.data() + (s.size() - len), nullptr, 1, len);
      const float* row = m_model->logits() + (len - 1) * V;
      const std::size_t best = std::size_t(std::max_element(row, row + V) - row);
      if (best >= 256) break;
      s.push_back(Token(best));
      out.push_back(static_cast<char>(best));
    }
    return out;
  }

 private:
  struct Window {
    std::size_t req, s, cur, e;  // inputs s[s, e-1), targets s[s+1, e), scored positions [cur, e)
  };
  Llama<B>* m_model;
  const float* m_params;
};
static_assert(ScoringModel<Scorer<backend::Cpu>>);

}  // namespace dma::model
