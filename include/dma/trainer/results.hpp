// dma/trainer/results.hpp: ResultsTable, what compare() produces: one row per (method,
// instance, run seed) with its return, final balanced parts and cost, and summaries per
// instance group: mean return +- sd over instances (each instance averaged over its run seeds),
// the paired difference to the reference (uniform) +- its standard error, and the gap closed to
// the oracle, (m - uniform) / (oracle - uniform) on group means.
// Printed as a text table and written as results.json. Tested in tests/unit/trainer_results.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "dma/core/config.hpp"

namespace dma::trainer {

struct ResultRow {
  std::string method;
  std::string group;           // e.g. "D=5 unseen"
  std::uint64_t instance = 0;
  std::uint64_t run_seed = 0;
  double ret = 0;              // return (sum of rewards)
  double target_gain = 0;      // final mean target-probe gain
  double source_worst = 0;     // final worst source-probe gain
  double mean_target_share = 0;
  double tokens = 0, seconds = 0;
};

struct MethodSummary {
  std::string method;
  std::size_t instances = 0;
  double mean = 0, sd = 0;      // over instances
  double gap_closed = std::nan("");
  double diff_ref = 0, diff_ref_se = 0; // mean and standard error of (method - reference), paired per instance
  double target_gain = 0, source_worst = 0, mean_target_share = 0, tokens = 0, seconds = 0;
};

class ResultsTable {
 public:
  std::string reference = "uniform";  // gap closed is measured from this method...
  std::string oracle = "oracle";      // ...to this one
  std::vector<ResultRow> rows;

  [[nodiscard]] std::vector<std::string> methods() const {
    std::vector<std::string> m;
    for (const auto& r : rows)
      if (std::find(m.begin(), m.end(), r.method) == m.end()) m.push_back(r.method);
    return m;
  }
  [[nodiscard]] std::vector<std::string> groups() const {
    std::vector<std::string> g;
    for (const auto& r : rows)
      if (std::find(g.begin(), g.end(), r.group) == g.end()) g.push_back(r.group);
    std::sort(g.begin(), g.end());
    return g;
  }

  // Summary over the rows of `group` ("" = all groups).
  [[nodiscard]] std::vector<MethodSummary> summarize(const std::string& group = "") const {
    std::vector<MethodSummary> out;
    for (const auto& m : methods()) {
      std::map<std::uint64_t, std::pair<double, int>> per_inst;
      MethodSummary s;
      s.method = m;
      std::size_t n = 0;
      for (const auto& r : rows) {
        if (r.method != m || (!group.empty() && r.group != group)) continue;
        auto& p = per_inst[r.instance];
        p.first += r.ret;
        p.second += 1;
        s.target_gain += r.target_gain;
        s.source_worst += r.source_worst;
        s.mean_target_share += r.mean_target_share;
        s.tokens += r.tokens;
        s.seconds += r.seconds;
        ++n;
      }
      if (n == 0) continue;
      for (double* v : {&s.target_gain, &s.source_worst, &s.mean_target_share, &s.tokens, &s.seconds}) *v /= double(n);
      std::vector<double> xs;
      for (const auto& [k, p] : per_inst) xs.push_back(p.first / p.second);
      s.instances = xs.size();
      for (double x : xs) s.mean += x / double(xs.size());
      double v = 0;
      for (double x : xs) v += (x - s.mean) * (x - s.mean);
      s.sd = xs.size() > 1 ? std::sqrt(v / double(xs.size() - 1)) : 0.0;
      out.push_back(s);
    }
    // Paired differences to the reference: instances differ far more than methods do.
    std::map<std::string, std::map<std::uint64_t, std::pair<double, int>>> per;
    for (const auto& r : rows) {
      if (!group.empty() && r.group != group) continue;
      auto& p = per[r.method][r.instance];
      p.first += r.ret;
      p.second += 1;
    }
    if (per.count(reference))
      for (auto& s : out) {
        std::vector<double> d;
        for (const auto& [inst, p] : per[s.method])
          if (auto it = per[reference].find(inst); it != per[reference].end())
            d.push_back(p.first / p.second - it->second.first / it->second.second);
        if (d.empty()) continue;
        double m = 0, v = 0;
        for (double x : d) m += x / double(d.size());
        for (double x : d) v += (x - m) * (x - m);
        s.diff_ref = m;
        s.diff_ref_se = d.size() > 1 ? std::sqrt(v / double(d.size() - 1) / double(d.size())) : 0.0;
      }
    const MethodSummary* ref = find(out, reference);
    const MethodSummary* orc = find(out, oracle);
    if (ref && orc && std::abs(orc->mean - ref->mean) > 1e-12)
      for (auto& s : out) s.gap_closed = (s.mean - ref->mean) / (orc->mean - ref->mean);
    return out;
  }

  void print(std::ostream& os) const {
    auto gs = groups();
    gs.insert(gs.begin(), "");
    for (const auto& g : gs) {
      os << "\n== " << (g.empty() ? std::string("all held-out instances") : g) << " ==\n";
      char buf[256];
      std::snprintf(buf, sizeof buf, "%-24s %4s %17s %17s %7s %8s %9s %6s\n", "method", "inst", "return mean+-sd",
                    ("- " + reference + " +-se").c_str(), "gap", "tgt gain", "src worst", "tgt sh");
      os << buf;
      for (const auto& s : summarize(g)) {
        std::snprintf(buf, sizeof buf, "%-24s %4zu %8.4f+-%-7.4f %+8.4f+-%-7.4f %7.3f %8.4f %9.4f %6.3f\n",
                      s.method.c_str(), s.instances, s.mean, s.sd, s.diff_ref, s.diff_ref_se, s.gap_closed,
                      s.target_gain, s.source_worst, s.mean_target_share);
        os << buf;
      }
    }
  }

  [[nodiscard]] Json to_json() const {
    Json j;
    j["reference"] = reference;
    j["oracle"] = oracle;
    auto sj = [](const std::vector<MethodSummary>& ss) {
      Json a = Json::array();
      for (const auto& s : ss)
        a.push_back({{"method", s.method}, {"instances", s.instances}, {"mean_return", s.mean},
                     {"sd_return", s.sd}, {"minus_reference", s.diff_ref}, {"minus_reference_se", s.diff_ref_se}, {"gap_closed", std::isnan(s.gap_closed) ? Json(nullptr) : Json(s.gap_closed)},
                     {"target_gain", s.target_gain}, {"source_worst", s.source_worst},
                     {"mean_target_share", s.mean_target_share}, {"tokens", s.tokens}, {"seconds", s.seconds}});
      return a;
    };
    j["summary"]["all"] = sj(summarize(""));
    for (const auto& g : groups()) j["summary"][g] = sj(summarize(g));
    Json rs = Json::array();
    for (const auto& r : rows)
      rs.push_back({{"method", r.method}, {"group", r.group}, {"instance", r.instance}, {"run_seed", r.run_seed},
                    {"return", r.ret}, {"target_gain", r.target_gain}, {"source_worst", r.source_worst},
                    {"mean_target_share", r.mean_target_share}, {"tokens", r.tokens}, {"seconds", r.seconds}});
    j["rows"] = rs;
    return j;
  }

 private:
  static const MethodSummary* find(const std::vector<MethodSummary>& v, const std::string& name) {
    for (const auto& s : v)
      if (s.method == name) return &s;
    return nullptr;
  }
};

}  // namespace dma::trainer
