// main_job/results.hpp: what the main job writes per setting into results.json
// (schema dma.results/1, docs/RESULTS_SCHEMA.md): a deployment run's record (RunRecord, the
// settings/NAME.json cache), the runs scored at every target weight (RunScores), the hindsight-best
// static share, the per-(method, weight) summary (report::summarize's mean and sd over seeds, rank,
// regret: the statistics have one implementation, in report/), and the provenance helpers
// (commit, machine). Tested through tests/integration/experiment_tiny.cpp and trainer_experiment.cpp.
#pragma once

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/types.hpp"
#include "dma/report/results.hpp"
#include "dma/report/summary.hpp"
#include "main_job/scoring.hpp"

namespace dma::main_job {

// The key of a target weight in file names and JSON objects ("0.5", "0.7").
inline std::string weight_key(double tw) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", tw);
  return b;
}

// One deployment run's outcome (before the target weight turns it into an objective).
struct RunRecord {
  std::string method;
  std::uint64_t seed = 0;
  double target_weight = -1;  // < 0: the run does not depend on the weight
  std::vector<double> scores;
  double tokens_source = 0, tokens_target = 0, extra_tokens = 0, wall_seconds = 0;
  Json stages = Json::array();

  [[nodiscard]] Json to_json() const {
    return Json{{"method", method}, {"seed", seed}, {"target_weight", target_weight}, {"scores", scores},
                {"tokens_source", tokens_source}, {"tokens_target", tokens_target}, {"extra_tokens", extra_tokens},
                {"wall_seconds", wall_seconds}, {"stages", stages}};
  }
  static RunRecord from_json(const Json& j) {
    RunRecord r;
    r.method = j.at("method").get<std::string>();
    r.seed = j.at("seed").get<std::uint64_t>();
    r.target_weight = j.at("target_weight").get<double>();
    r.scores = j.at("scores").get<std::vector<double>>();
    r.tokens_source = j.at("tokens_source").get<double>();
    r.tokens_target = j.at("tokens_target").get<double>();
    r.extra_tokens = j.at("extra_tokens").get<double>();
    r.wall_seconds = j.at("wall_seconds").get<double>();
    r.stages = j.at("stages");
    return r;
  }
};

// One setting of the main job's results.json from its settings/NAME.json: the runs at every
// target weight, the hindsight-best static share, the summary.
inline Json setting_result(const Json& sj, const std::vector<double>& target_weights) {
  std::vector<BenchmarkInfo> bi;
  for (const auto& b : sj["benchmarks"])
    bi.push_back({b["name"].get<std::string>(), b["field"].get<std::string>() == "target" ? Field::Target : Field::Source});
  RunScores base{sj["base_scores"].get<std::vector<double>>()};
  const auto grid = sj["grid"].get<std::vector<double>>();
  Json out;
  for (const char* k : {"name", "title", "kind", "target_field", "domains", "benchmarks", "stages"}) out[k] = sj[k];
  out["pools_hidden"] = sj["pools"];
  out["base_model"] = sj["base_model"];
  out["params"] = sj["params"];
  out["runs"] = Json::array();
  std::vector<RunRecord> recs;
  for (const auto& r : sj["records"]) recs.push_back(RunRecord::from_json(r));
  // The hidden target pool of a run's seed (settings written before it was recorded: null).
  auto pool_of = [&](std::uint64_t seed) -> Json {
    const std::string k = std::to_string(seed);
    return sj.contains("pools_drawn") && sj["pools_drawn"].contains(k) ? sj["pools_drawn"][k] : Json();
  };
  auto run_json = [&](const RunRecord& r, const std::string& method, double tw) {
    RunScores sc{r.scores};
    Json scores = Json::object();
    for (std::size_t i = 0; i < bi.size() && i < r.scores.size(); ++i) scores[bi[i].name] = r.scores[i];
    const std::size_t w = sc.worst_source(base, bi);
    return Json{{"method", method}, {"seed", r.seed}, {"target_weight", tw}, {"scores", scores},
                {"avg", sc.avg(bi)}, {"var", sc.var(bi)},
                {"source_avg", RunScores::mean_of(r.scores, bi, Field::Source)},
                {"source_worst", w < r.scores.size() ? r.scores[w] : std::nan("")},
                {"source_worst_benchmark", w < bi.size() ? bi[w].name : ""},
                {"target_avg", RunScores::mean_of(r.scores, bi, Field::Target)},
                {"objective", sc.objective(base, bi, tw)},
                {"target_pool_tokens", pool_of(r.seed)},
                {"tokens", {{"source", r.tokens_source}, {"target", r.tokens_target}}},
                {"extra_tokens", r.extra_tokens}, {"wall_seconds", r.wall_seconds}, {"stages_detail", r.stages}};
  };
  Json hb = Json::object();
  for (double tw : target_weights) {
    // Every method's runs at this weight (weight-free runs count at every weight).
    for (const auto& r : recs) {
      if (r.method.rfind("grid_", 0) == 0) continue;
      if (r.target_weight >= 0 && std::abs(r.target_weight - tw) > 1e-12) continue;
      out["runs"].push_back(run_json(r, r.method, tw));
    }
    // hindsight_static: the grid share with the best mean objective over seeds, on this setting.
    std::size_t best = 0;
    double best_v = -1e300;
    for (std::size_t g = 0; g < grid.size(); ++g) {
      double v = 0, n = 0;
      char nm[32];
      std::snprintf(nm, sizeof nm, "grid_%.3f", grid[g]);
      for (const auto& r : recs)
        if (r.method == nm) v += RunScores{r.scores}.objective(base, bi, tw), n += 1;
      if (n > 0 && v / n > best_v) best_v = v / n, best = g;
    }
    char nm[32];
    std::snprintf(nm, sizeof nm, "grid_%.3f", grid[best]);
    Mixture mix;
    for (const auto& r : recs)
      if (r.method == nm) {
        RunRecord h = r;
        h.extra_tokens = sj["grid_tokens_per_seed"].get<double>();
        out["runs"].push_back(run_json(h, "hindsight_static", tw));
        if (mix.empty() && !r.stages.empty()) mix = r.stages[0]["mixture"].get<Mixture>();
      }
    hb["target_weight_" + weight_key(tw)] = Json{{"mixture", mix}, {"objective", best_v}, {"target_share", grid[best]}};
  }
  out["hindsight_best"] = hb;
  // The per-(method, weight) statistics: report/'s, computed once (report::summarize).
  const std::string src = "settings/" + out["name"].get<std::string>() + ".json";
  const report::Setting parsed = report::detail::parse_setting(report::detail::At(out, src, "setting"));
  out["summary"] = report::summary_json(report::summarize(parsed, target_weights));
  return out;
}

inline std::string git_commit() {
  std::string s;
  if (FILE* f = ::popen("git rev-parse --short HEAD 2>/dev/null", "r")) {
    char buf[64];
    if (std::fgets(buf, sizeof buf, f)) s = buf;
    ::pclose(f);
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s.empty() ? "unknown" : s;
}
inline std::string machine() {
  const unsigned n = std::thread::hardware_concurrency();
  std::string cpu;
  if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::string(line).rfind("model name", 0) == 0) {
        cpu = std::string(line).substr(std::string(line).find(':') + 2);
        break;
      }
    std::fclose(f);
  }
  while (!cpu.empty() && cpu.back() == '\n') cpu.pop_back();
  return std::to_string(n) + " cores" + (cpu.empty() ? "" : ", " + cpu);
}


}  // namespace dma::main_job
