// dma/env/cpt_eval.hpp: CptEvalSet, what env::Cpt evaluates after every stage: per-domain
// held-out bits/byte on FIXED windows (cut once from the held-out documents, the same for every
// stage, branch and run; forward only, batched across domains) and gold-answer log-prob probes
// (one over the source field, one per target domain: the paper's feedback signal). The same
// builder with larger sizes gives final_eval()'s set, which adds exact match by greedy decoding.
// With choice_items > 0 a probe also holds multiple-choice items scored by accuracy: its context
// and four continuations (the gold one and the gold continuations of three other items of the
// same probe), the choice with the highest log-prob per byte wins (HellaSwag-style ranking).
// Tested in tests/unit/env_cpt.cpp (fixed windows, probe fields, bpb against a direct forward).
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>
#include <span>
#include <string>
#include <vector>

// cpt_data.hpp (data/shard.hpp) first: shard.hpp's write_shard_set names detail::concat, which
// does not resolve once data/benchmarks.hpp has opened dma::data::detail.
#include "dma/env/cpt_data.hpp"
#include "dma/core/error.hpp"
#include "dma/core/types.hpp"
#include "dma/data/benchmarks.hpp"
#include "dma/eval/scorers.hpp"
#include "dma/model/llama.hpp"
#include "dma/model/scorer.hpp"

namespace dma::env {

struct CptProbe {
  std::string name;  // "probe_source" or "probe_<target domain>"
  Field field = Field::Source;
  std::vector<data::GoldItem> gold;
  std::vector<data::ExactItem> exact;  // only in a final set, only where documents give a "####" answer
  std::vector<data::ChoiceItem> choice;  // only with choice_items > 0
};

struct CptEvalResult {
  std::vector<double> bpb;              // per domain
  std::vector<double> score;            // per probe: gold log-prob per byte (nats); then choice accuracy; then exact (final)
  std::vector<Field> score_field;
  std::vector<std::string> score_name;
  double flops = 0;                     // forward FLOPs spent (probes: one window per item, an upper bound)
  double tokens = 0;                    // tokens run forward
};

class CptEvalSet {
 public:
  CptEvalSet() = default;

  // windows: per domain; probe_items: per probe; exact_items: per target probe (0: none);
  // choice_items: multiple-choice items per probe (0: none).
  static CptEvalSet build(const CptData& data, const CptEvalConfig& cfg, std::size_t context, std::size_t windows,
                          std::size_t probe_items, std::size_t exact_items, std::size_t choice_items = 0) {
    CptEvalSet s;
    s.m_T = context;
    s.m_domains = data.size();
    s.m_windows = windows;
    const std::size_t T = context;
    s.m_inputs.resize(s.m_domains * windows * T);
    s.m_targets.resize(s.m_domains * windows * T);
    std::vector<std::string> joined(data.size());
    for (std::size_t d = 0; d < data.size(); ++d) {
      for (const auto& doc : data.heldout[d]) {
        if (!joined[d].empty()) joined[d] += "\n\n";
        joined[d] += doc;
      }
      const std::string& text = joined[d];
      if (text.size() < T + 1)
        fail(data.source, ": domain '", data.name(d), "' has ", text.size(), " held-out bytes, fewer than one ",
             "evaluation window of context+1 = ", T + 1, " bytes");
      // Evenly spaced windows over the held-out text (they overlap when the text is short).
      const std::size_t L = text.size(), span = T + 1;
      for (std::size_t w = 0; w < windows; ++w) {
        const std::size_t at = windows > 1 ? w * (L - span) / (windows - 1) : 0;
        const std::size_t row = d * windows + w;
        for (std::size_t t = 0; t < T; ++t) {
          s.m_inputs[row * T + t] = Token(static_cast<unsigned char>(text[at + t]));
          s.m_targets[row * T + t] = Token(static_cast<unsigned char>(text[at + t + 1]));
        }
      }
    }
    if (probe_items == 0) return s;
    // Source probe: gold continuations cut from running held-out source text, round robin over
    // the source domains, at positions between the bpb windows.
    std::vector<std::size_t> sources, targets;
    for (std::size_t d = 0; d < data.size(); ++d) (data.field(d) == Field::Source ? sources : targets).push_back(d);
    auto source_cuts = [&](CptProbe& p, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t d = sources[k % sources.size()];
        const std::size_t per = (n + sources.size() - 1) / sources.size();
        add_cut(p, joined[d], data.name(d), k / sources.size(), per, cfg);
      }
    };
    if (!sources.empty()) {
      CptProbe p{"probe_source", Field::Source, {}, {}, {}};
      source_cuts(p, probe_items);
      if (choice_items > 0) {
        CptProbe c;
        source_cuts(c, choice_items);
        p.choice = choices_of(c.gold);
      }
      if (p.gold.empty())
        fail(data.source, ": no source probe item could be built (held-out source text shorter than ",
             cfg.probe_context_bytes + cfg.probe_answer_bytes, " bytes)");
      if (choice_items > 0 && p.choice.empty())
        fail(data.source, ": no source multiple-choice item could be built (fewer than 4 distinct cuts)");
      s.m_probes.push_back(std::move(p));
    }
    // Target probes: question -> answer where documents carry the answer marker, else cuts.
    for (std::size_t d : targets) {
      CptProbe p{"probe_" + data.name(d), Field::Target, {}, {}, {}};
      std::vector<std::size_t> marked;
      for (std::size_t i = 0; i < data.heldout[d].size(); ++i)
        if (!cfg.answer_marker.empty() && data.heldout[d][i].find(cfg.answer_marker) != std::string::npos)
          marked.push_back(i);
      if (!marked.empty()) {
        const std::size_t n = std::min(probe_items, marked.size());
        if (choice_items > 0) {
          CptProbe c;
          const std::size_t m = std::min(choice_items, marked.size());
          for (std::size_t j = 0; j < m; ++j) {
            const std::string& doc = data.heldout[d][marked[j * marked.size() / m]];
            const std::size_t at = doc.find(cfg.answer_marker) + cfg.answer_marker.size();
            if (at < doc.size())
              c.gold.push_back({data.name(d) + ":" + std::to_string(marked[j * marked.size() / m]), doc.substr(0, at),
                                doc.substr(at, cfg.probe_answer_bytes)});
          }
          p.choice = choices_of(c.gold);
        }
        for (std::size_t j = 0; j < n; ++j) {
          const std::string& doc = data.heldout[d][marked[j * marked.size() / n]];
          const std::size_t at = doc.find(cfg.answer_marker) + cfg.answer_marker.size();
          if (at >= doc.size()) continue;
          const std::string id = data.name(d) + ":" + std::to_string(marked[j * marked.size() / n]);
          p.gold.push_back({id, doc.substr(0, at), doc.substr(at, cfg.probe_answer_bytes)});
          if (j < exact_items) {
            const auto h = doc.find("####", at);
            if (h != std::string::npos) {
              std::string ans = doc.substr(h + 4, doc.find('\n', h) == std::string::npos ? std::string::npos
                                                                                        : doc.find('\n', h) - h - 4);
              ans.erase(0, ans.find_first_not_of(" \t"));
              ans.erase(ans.find_last_not_of(" \t\r") + 1);
              if (!ans.empty())
                p.exact.push_back({id, doc.substr(0, at), ans, data::AnswerKind::Number, cfg.exact_max_bytes});
            }
          }
        }
      } else {
        for (std::size_t j = 0; j < probe_items; ++j) add_cut(p, joined[d], data.name(d), j, probe_items, cfg);
        if (choice_items > 0) {
          CptProbe c;
          for (std::size_t j = 0; j < choice_items; ++j) add_cut(c, joined[d], data.name(d), j, choice_items, cfg);
          p.choice = choices_of(c.gold);
        }
      }
      if (choice_items > 0 && p.choice.empty())
        fail(data.source, ": domain '", data.name(d), "': no multiple-choice item could be built (fewer than 4 ",
             "distinct probe continuations)");
      if (p.gold.empty()) fail(data.source, ": domain '", data.name(d), "': no probe item could be built");
      s.m_probes.push_back(std::move(p));
    }
    return s;
  }

  [[nodiscard]] std::size_t context() const noexcept { return m_T; }
  [[nodiscard]] std::size_t windows() const noexcept { return m_windows; }
  [[nodiscard]] const std::vector<CptProbe>& probes() const noexcept { return m_probes; }
  [[nodiscard]] std::span<const Token> inputs() const noexcept { return m_inputs; }

  // Forward-only evaluation with `params` on `net` (its max_batch sets the batch).
  template <class B>
  CptEvalResult evaluate(model::Llama<B>& net, const float* params) const {
    CptEvalResult r;
    const std::size_t T = m_T, rows = m_domains * m_windows, MB = net.max_batch();
    std::vector<double> sum(m_domains, 0.0);
    for (std::size_t r0 = 0; r0 < rows; r0 += MB) {
      const std::size_t nb = std::min(MB, rows - r0);
      net.forward(params, m_inputs.data() + r0 * T, m_targets.data() + r0 * T, nb, T);
      const float* loss = net.token_losses();
      for (std::size_t i = 0; i < nb; ++i) {
        double s = 0;
        for (std::size_t t = 0; t < T; ++t) s += double(loss[i * T + t]);
        sum[(r0 + i) / m_windows] += s;
      }
      r.flops += net.forward_flops(nb, T);
      r.tokens += double(nb * T);
    }
    r.bpb.resize(m_domains);
    for (std::size_t d = 0; d < m_domains; ++d)
      r.bpb[d] = sum[d] / (double(m_windows * T) * std::numbers::ln2);
    model::Scorer<B> scorer(net, params);
    for (const auto& p : m_probes) {
      const auto g = eval::score_gold(scorer, std::span<const data::GoldItem>(p.gold));
      r.score.push_back(g.logprob_per_byte);
      r.score_field.push_back(p.field);
      r.score_name.push_back(p.name + ".gold_logprob");
      r.flops += net.forward_flops(1, T) * double(p.gold.size());
      r.tokens += double(T * p.gold.size());
    }
    for (const auto& p : m_probes) {
      if (p.choice.empty()) continue;
      const auto c = eval::score_choices(scorer, std::span<const data::ChoiceItem>(p.choice));
      r.score.push_back(c.accuracy_norm);
      r.score_field.push_back(p.field);
      r.score_name.push_back(p.name + ".choice");
      std::size_t k = 0;
      for (const auto& it : p.choice) k += it.choices.size();
      r.flops += net.forward_flops(1, T) * double(k);
      r.tokens += double(T * k);
    }
    for (const auto& p : m_probes) {
      if (p.exact.empty()) continue;
      const auto e = eval::score_exact(scorer, std::span<const data::ExactItem>(p.exact));
      r.score.push_back(e.accuracy);
      r.score_field.push_back(p.field);
      r.score_name.push_back(p.name + ".exact");
      std::size_t decoded = 0;
      for (const auto& it : p.exact) decoded += it.max_bytes;
      r.flops += net.forward_flops(1, T) * double(decoded);  // upper bound: every byte decoded
      r.tokens += double(T * decoded);
    }
    return r;
  }

 private:
  // Multiple choice from gold items: item k's context with its own gold continuation and those of
  // the items k + n/4, k + n/2, k + 3n/4 (distinct strings only; an item with fewer than 4 distinct
  // continuations is dropped). The gold one sits at position k mod 4.
  static std::vector<data::ChoiceItem> choices_of(const std::vector<data::GoldItem>& g) {
    std::vector<data::ChoiceItem> out;
    const std::size_t n = g.size();
    if (n < 4) return out;
    for (std::size_t k = 0; k < n; ++k) {
      data::ChoiceItem it;
      it.id = g[k].id;
      it.context = g[k].context;
      it.choices.push_back(g[k].answer);
      for (std::size_t j = 1; j < 4; ++j) {
        const std::string& a = g[(k + j * n / 4) % n].answer;
        if (std::find(it.choices.begin(), it.choices.end(), a) == it.choices.end()) it.choices.push_back(a);
      }
      if (it.choices.size() < 4) continue;
      it.gold = k % 4;
      std::swap(it.choices[0], it.choices[it.gold]);
      out.push_back(std::move(it));
    }
    return out;
  }

  // Item j of n cut from running text: context then gold continuation, evenly spaced with a
  // half-step offset (between the bpb windows).
  static void add_cut(CptProbe& p, const std::string& text, const std::string& domain, std::size_t j, std::size_t n,
                      const CptEvalConfig& cfg) {
    const std::size_t span = cfg.probe_context_bytes + cfg.probe_answer_bytes;
    if (text.size() < span) return;
    const std::size_t at = (2 * j + 1) * (text.size() - span) / (2 * std::max<std::size_t>(n, 1));
    p.gold.push_back({domain + "@" + std::to_string(at), text.substr(at, cfg.probe_context_bytes),
                      text.substr(at + cfg.probe_context_bytes, cfg.probe_answer_bytes)});
  }

  std::size_t m_T = 0, m_domains = 0, m_windows = 0;
  std::vector<Token> m_inputs, m_targets;  // [D * W, T]
  std::vector<CptProbe> m_probes;
};

}  // namespace dma::env
