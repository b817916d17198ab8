// dma/report/summary.hpp: the numbers the report states, computed from the runs of a results.json:
// per setting and target weight, each method's mean and spread over seeds (Avg, Var, objective),
// its rank (objective and Avg; the hindsight reference is not ranked), its regret to the
// hindsight-best static mixture; the verdict type of a claim (the main job's claims are
// examples/main_job/claims.hpp). The driver's own "summary" block is compared with these and
// every disagreement is listed, never trusted blindly.
// Sits between results.hpp (loading) and markdown.hpp / plots.hpp (rendering).
// Tested in tests/unit/report_summary.cpp against hand-computed fixture numbers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/report/results.hpp"

namespace dma::report {

// The reference (grid search on the setting itself): regret is measured against it, it is not ranked.
inline constexpr const char* kReference = "hindsight_static";

// Methods in the order the tables list them (the contract's fixed names); unknown ones follow
// alphabetically, the reference comes last.
inline const std::vector<std::string>& known_methods() {
  static const std::vector<std::string> m = {
      "base",    "target_only", "uniform",         "replay_25",    "replay_50", "replay_75",
      "static_tuned", "regmix_transfer", "regmix_refit", "dbl",  "doremi",    "odm",
      "sft_agent", "cql_agent"};
  return m;
}

inline std::vector<std::string> ordered_methods(const Setting& s) {
  std::set<std::string> present;
  for (const auto& r : s.runs) present.insert(r.method);
  std::vector<std::string> out;
  for (const auto& m : known_methods())
    if (present.erase(m)) out.push_back(m);
  const bool has_ref = present.erase(kReference) > 0;
  out.insert(out.end(), present.begin(), present.end());  // std::set: alphabetical
  if (has_ref) out.push_back(kReference);
  return out;
}

// Which of the main job's settings a setting is: its optional "kind" field, else read from its name
// (in_dist*, *scarc*, *code* or target_field "code", *source*, *space*, *model*).
enum class SettingKind { InDistribution, Scarcity, UnseenModel, SourceField, DomainSpace, NewTarget, Other };

inline std::string_view kind_name(SettingKind k) {
  switch (k) {
    case SettingKind::InDistribution: return "in_distribution";
    case SettingKind::Scarcity: return "scarcity";
    case SettingKind::UnseenModel: return "unseen_model";
    case SettingKind::SourceField: return "source_field";
    case SettingKind::DomainSpace: return "domain_space";
    case SettingKind::NewTarget: return "new_target";
    case SettingKind::Other: return "other";
  }
  return "other";
}

inline SettingKind setting_kind(const Setting& s) {
  for (auto k : {SettingKind::InDistribution, SettingKind::Scarcity, SettingKind::UnseenModel,
                 SettingKind::SourceField, SettingKind::DomainSpace, SettingKind::NewTarget})
    if (s.kind == kind_name(k)) return k;
  auto has = [&](const char* w) { return s.name.find(w) != std::string::npos; };
  if (has("in_dist")) return SettingKind::InDistribution;
  if (has("scarc")) return SettingKind::Scarcity;
  if (has("code") || s.target_field == "code") return SettingKind::NewTarget;
  if (has("source")) return SettingKind::SourceField;
  if (has("space")) return SettingKind::DomainSpace;
  if (has("model")) return SettingKind::UnseenModel;
  return SettingKind::Other;
}

struct MethodStats {
  std::string method;
  double target_weight = 0;
  std::size_t seeds = 0;
  bool reference = false;
  std::map<std::string, double> score_mean;  // per benchmark, over the seeds that have it
  double avg_mean = kNaN, avg_sd = kNaN, var_mean = kNaN;
  double objective_mean = kNaN, objective_sd = kNaN;
  double source_avg_mean = kNaN, source_worst_mean = kNaN, target_avg_mean = kNaN;
  double extra_tokens = kNaN;  // mean over seeds
  double wall_seconds = kNaN;  // mean over seeds
  int rank = 0;                // by objective_mean, 1 = best; 0 for the reference
  int avg_rank = 0;            // by avg_mean, 1 = best; 0 for the reference
  double regret = kNaN;        // reference objective_mean - objective_mean (NaN without a reference)
};

struct WeightSummary {
  double target_weight = 0;
  double reference_objective = kNaN;
  std::string reference_from;  // "hindsight_static runs", "hindsight_best", or "" (none)
  std::vector<MethodStats> methods;  // in ordered_methods() order

  [[nodiscard]] const MethodStats* find(std::string_view method) const {
    for (const auto& m : methods)
      if (m.method == method) return &m;
    return nullptr;
  }
  [[nodiscard]] std::size_t ranked() const {
    return static_cast<std::size_t>(std::count_if(methods.begin(), methods.end(), [](auto& m) { return !m.reference; }));
  }
};

namespace detail {

// Mean and sample standard deviation (n - 1; 0 for one value) of the finite values. The mean is
// accumulated as the sum of x / n (the order of the runs in the file), as results.json's summary
// block has always been computed, so that a file's block and this computation agree bit for bit.
inline std::pair<double, double> mean_sd(const std::vector<double>& v) {
  std::size_t n = 0;
  for (double x : v) n += std::isfinite(x) ? 1 : 0;
  if (n == 0) return {kNaN, kNaN};
  double mean = 0;
  for (double x : v)
    if (std::isfinite(x)) mean += x / static_cast<double>(n);
  if (n == 1) return {mean, 0.0};
  double q = 0;
  for (double x : v)
    if (std::isfinite(x)) q += (x - mean) * (x - mean);
  return {mean, std::sqrt(q / static_cast<double>(n - 1))};
}

inline bool same_weight(double a, double b) { return std::abs(a - b) < 1e-9; }

// Competition ranking (1, 2, 2, 4), higher is better; ties within 1e-12; NaN ranks last.
inline void assign_ranks(std::vector<MethodStats>& ms, double MethodStats::*value, int MethodStats::*rank) {
  for (auto& m : ms) {
    if (m.reference) continue;
    int better = 0;
    for (const auto& o : ms) {
      if (o.reference || &o == &m) continue;
      const double a = m.*value, b = o.*value;
      if (!std::isfinite(a) ? std::isfinite(b) : (std::isfinite(b) && b > a + 1e-12)) ++better;
    }
    m.*rank = better + 1;
  }
}

}  // namespace detail

inline MethodStats method_stats(const Setting& s, const std::string& method, double w) {
  MethodStats m;
  m.method = method;
  m.target_weight = w;
  m.reference = method == kReference;
  std::vector<double> avg, var, obj, src, worst, tgt, extra, wall;
  std::map<std::string, std::vector<double>> scores;
  for (const auto& r : s.runs) {
    if (r.method != method || !detail::same_weight(r.target_weight, w)) continue;
    ++m.seeds;
    avg.push_back(r.avg), var.push_back(r.var), obj.push_back(r.objective);
    src.push_back(r.source_avg), worst.push_back(r.source_worst), tgt.push_back(r.target_avg);
    extra.push_back(r.extra_tokens), wall.push_back(r.wall_seconds);
    for (const auto& [b, v] : r.scores) scores[b].push_back(v);
  }
  std::tie(m.avg_mean, m.avg_sd) = detail::mean_sd(avg);
  std::tie(m.objective_mean, m.objective_sd) = detail::mean_sd(obj);
  m.var_mean = detail::mean_sd(var).first;
  m.source_avg_mean = detail::mean_sd(src).first;
  m.source_worst_mean = detail::mean_sd(worst).first;
  m.target_avg_mean = detail::mean_sd(tgt).first;
  m.extra_tokens = detail::mean_sd(extra).first;
  m.wall_seconds = detail::mean_sd(wall).first;
  for (const auto& [b, v] : scores) m.score_mean[b] = detail::mean_sd(v).first;
  return m;
}

// One WeightSummary per target weight (only weights with at least one run of this setting).
inline std::vector<WeightSummary> summarize(const Setting& s, const std::vector<double>& weights) {
  std::vector<WeightSummary> out;
  const auto methods = ordered_methods(s);
  for (double w : weights) {
    WeightSummary ws;
    ws.target_weight = w;
    for (const auto& name : methods) {
      MethodStats m = method_stats(s, name, w);
      if (m.seeds > 0) ws.methods.push_back(std::move(m));
    }
    if (ws.methods.empty()) continue;
    detail::assign_ranks(ws.methods, &MethodStats::objective_mean, &MethodStats::rank);
    detail::assign_ranks(ws.methods, &MethodStats::avg_mean, &MethodStats::avg_rank);
    if (const MethodStats* ref = ws.find(kReference); ref && std::isfinite(ref->objective_mean)) {
      ws.reference_objective = ref->objective_mean;
      ws.reference_from = "hindsight_static runs";
    } else {
      for (const auto& h : s.hindsight_best)
        if (detail::same_weight(h.target_weight, w)) {
          ws.reference_objective = h.objective;
          ws.reference_from = "hindsight_best";
        }
    }
    if (std::isfinite(ws.reference_objective))
      for (auto& m : ws.methods) m.regret = ws.reference_objective - m.objective_mean;
    out.push_back(std::move(ws));
  }
  return out;
}

// The "summary" block of a results.json setting (docs/RESULTS_SCHEMA.md) from summarize(): per
// target weight, one entry per method in name order; the reference has no rank; regret is null
// without a reference. The main job writes it (examples/main_job/results.hpp); check_summary
// compares a file's block with a fresh computation.
inline Json summary_json(const std::vector<WeightSummary>& sums) {
  Json out = Json::array();
  for (const auto& ws : sums) {
    std::vector<const MethodStats*> ms;
    for (const auto& m : ws.methods) ms.push_back(&m);
    std::sort(ms.begin(), ms.end(), [](const MethodStats* a, const MethodStats* b) { return a->method < b->method; });
    for (const MethodStats* m : ms)
      out.push_back(Json{{"method", m->method}, {"target_weight", ws.target_weight}, {"seeds", m->seeds},
                         {"avg_mean", m->avg_mean}, {"avg_sd", m->avg_sd}, {"var_mean", m->var_mean},
                         {"objective_mean", m->objective_mean}, {"objective_sd", m->objective_sd},
                         {"extra_tokens", m->extra_tokens},
                         {"rank", m->reference ? Json(nullptr) : Json(m->rank)},
                         {"regret", std::isfinite(m->regret) ? Json(m->regret) : Json(nullptr)}});
  }
  return out;
}

// A disagreement between the driver's "summary" block and what the report computed.
struct Mismatch {
  std::string setting, method, field;
  double target_weight = 0, in_file = kNaN, computed = kNaN;
};

// Compares every number the driver's summary states (tolerance 1e-4 absolute: files round).
inline std::vector<Mismatch> check_summary(const Setting& s, const std::vector<WeightSummary>& sums) {
  std::vector<Mismatch> out;
  for (const auto& e : s.summary) {
    const MethodStats* m = nullptr;
    for (const auto& ws : sums)
      if (detail::same_weight(ws.target_weight, e.target_weight)) m = ws.find(e.method);
    if (!m) {
      out.push_back({s.name, e.method, "runs", e.target_weight, kNaN, kNaN});
      continue;
    }
    auto cmp = [&](const char* field, double in_file, double computed) {
      if (!std::isfinite(in_file)) return;
      if (!std::isfinite(computed) || std::abs(in_file - computed) > 1e-4)
        out.push_back({s.name, e.method, field, e.target_weight, in_file, computed});
    };
    cmp("seeds", e.seeds, static_cast<double>(m->seeds));
    cmp("avg_mean", e.avg_mean, m->avg_mean);
    cmp("avg_sd", e.avg_sd, m->avg_sd);
    cmp("var_mean", e.var_mean, m->var_mean);
    cmp("objective_mean", e.objective_mean, m->objective_mean);
    cmp("objective_sd", e.objective_sd, m->objective_sd);
    if (!m->reference) cmp("rank", e.rank, m->rank);
    cmp("regret", e.regret, m->regret);
    cmp("extra_tokens", e.extra_tokens, m->extra_tokens);
  }
  return out;
}

// ---- claims: a verdict on a stated claim, computed by a caller (the main job's: examples/main_job/claims.hpp) ---------------------------------------------------------

enum class Verdict { Held, NotHeld, NotTested };

inline std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Held: return "held";
    case Verdict::NotHeld: return "not held";
    case Verdict::NotTested: return "not tested";
  }
  return "not tested";
}

struct ClaimVerdict {
  std::string id, claim;
  Verdict verdict = Verdict::NotTested;
  std::string detail;
};

namespace detail {

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Four decimals; a non-zero value that would print as (-)0.0000 gets two significant digits
// instead, so that a 2e-9 gap is not shown as a tie (or a negative regret as zero).
inline std::string dec4(double v, bool sign = false) {
  if (v != 0 && std::abs(v) < 5e-5) return fmt(sign ? "%+.1e" : "%.1e", v);
  return fmt(sign ? "%+.4f" : "%.4f", v);
}

inline std::string weight_label(double w) { return "w=" + fmt("%g", w); }

struct SettingSums {
  const Setting* setting;
  SettingKind kind;
  std::vector<WeightSummary> sums;
};

inline std::vector<SettingSums> all_sums(const Results& r) {
  std::vector<SettingSums> out;
  for (const auto& s : r.settings) out.push_back({&s, setting_kind(s), summarize(s, r.target_weights)});
  return out;
}

}  // namespace detail

}  // namespace dma::report
