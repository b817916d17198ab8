// dma/trainer/headroom.hpp: the headroom diagnostic. Does any per-stage schedule of the target
// share beat the best static share, on seeds never used to pick either? For any environment: the
// caller supplies `evaluate(candidate, seed, worker) -> objective` (one full run, scored at the
// end). Steps: (a) the static grid, every share x split on `search_seeds` seeds; (b) dynamic
// schedules around the best static share: structured families (ramps up/down, source first then
// target, target in the LR decay, target first) and a cross-entropy search over piecewise-linear
// per-stage shares; the best few dynamic candidates are re-run on every search seed and the best
// by that mean is selected; (c) the selected dynamic and static candidates re-run on `fresh_seeds`
// new seeds: paired difference, its standard error, and its share of the target-only -> best-static
// span; (d) sensitivity: one-stage pulses (the best static share except one stage at 0 or 1) paired
// against the best static share on the search seeds, so that a stage's effect on the objective is
// read against the seed noise. Every run is appended to a JSON-lines ledger so that an interrupted
// diagnostic resumes.
// Tested in tests/unit/trainer_headroom.cpp (it finds a planted dynamic gain and reports none where
// the objective depends only on the mean share); examples/headroom.cpp runs it on env::Cpt.
// Over 400 lines: steps (a)-(d) share the candidates, the ledger and the paired statistics.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/parallel.hpp"
#include "dma/core/progress.hpp"
#include "dma/core/reflect.hpp"
#include "dma/core/rng.hpp"

namespace dma::trainer {

// One schedule: the target field's share at every stage, and how each field is split inside
// (the caller names the splits, e.g. "uniform" or "natural").
struct HeadroomCandidate {
  std::string name, family, split;
  std::vector<double> shares;
  [[nodiscard]] bool is_static() const {
    return std::all_of(shares.begin(), shares.end(), [&](double s) { return s == shares.front(); });
  }
  // Identifies the schedule in the ledger (the name is only a label).
  [[nodiscard]] std::string key() const {
    std::string k = split;
    char b[24];
    for (double s : shares) std::snprintf(b, sizeof b, ":%.4f", s), k += b;
    return k;
  }
  [[nodiscard]] Json to_json() const {
    return Json{{"name", name}, {"family", family}, {"split", split}, {"shares", shares}};
  }
};

struct HeadroomConfig {
  std::vector<double> grid{0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0};
  std::vector<std::string> splits{"uniform"};
  std::size_t search_seeds = 5;     // seeds 0..n-1: the grid, the confirmation of the dynamic finalists
  std::size_t family_seeds = 3;     // the first n search seeds score every structured candidate
  std::size_t cem_iterations = 3, cem_population = 8, cem_elite = 3, cem_knots = 4, cem_seeds = 2;
  double cem_init_sd = 0.25;
  std::size_t finalists = 3;        // dynamic candidates re-run on every search seed
  std::size_t fresh_seeds = 8;      // seeds fresh_base.. : never seen by the search
  std::uint64_t fresh_base = 1'000'000;
  std::uint64_t seed = 1;           // the cross-entropy search's draws
  bool pulses = true;               // (d): one-stage pulses at the first, middle, last stable and last stage
  std::size_t workers = 2;

  static constexpr auto fields() {
    using namespace reflect;
    using H = HeadroomConfig;
    return make_fields(field("grid", &H::grid), field("splits", &H::splits), field("search_seeds", &H::search_seeds),
                       field("family_seeds", &H::family_seeds), field("cem_iterations", &H::cem_iterations),
                       field("cem_population", &H::cem_population), field("cem_elite", &H::cem_elite),
                       field("cem_knots", &H::cem_knots), field("cem_seeds", &H::cem_seeds),
                       field("cem_init_sd", &H::cem_init_sd), field("finalists", &H::finalists),
                       field("fresh_seeds", &H::fresh_seeds), field("fresh_base", &H::fresh_base),
                       field("seed", &H::seed), field("pulses", &H::pulses), field("workers", &H::workers).read_only(),
                       ignored("target_weight"));  // the objective's weight: examples/headroom.cpp reads it
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
  static HeadroomConfig from_config(const Config& c) { return reflect::from_json<HeadroomConfig>(c.json(), c.source()); }
  void validate(const std::string& src) const {
    if (grid.size() < 2) fail(src, ": key 'grid': expected at least 2 static shares");
    for (double g : grid)
      if (!(g >= 0 && g <= 1)) fail(src, ": key 'grid': expected shares in [0, 1], got ", g);
    if (std::find(grid.begin(), grid.end(), 1.0) == grid.end())
      fail(src, ": key 'grid': expected the share 1 (target-only: one end of the span)");
    if (splits.empty()) fail(src, ": key 'splits': expected at least one within-field split");
    if (search_seeds < 2) fail(src, ": key 'search_seeds': expected >= 2");
    if (family_seeds == 0 || family_seeds > search_seeds)
      fail(src, ": key 'family_seeds': expected 1..search_seeds (", search_seeds, "), got ", family_seeds);
    if (cem_seeds == 0 || cem_seeds > search_seeds)
      fail(src, ": key 'cem_seeds': expected 1..search_seeds (", search_seeds, "), got ", cem_seeds);
    if (cem_iterations > 0 && (cem_elite == 0 || cem_elite >= cem_population))
      fail(src, ": key 'cem_elite': expected 1..cem_population-1 (", cem_population, "), got ", cem_elite);
    if (cem_knots < 2) fail(src, ": key 'cem_knots': expected >= 2");
    if (!(cem_init_sd > 0)) fail(src, ": key 'cem_init_sd': expected > 0, got ", cem_init_sd);
    if (finalists == 0) fail(src, ": key 'finalists': expected >= 1");
    if (fresh_seeds < 2) fail(src, ": key 'fresh_seeds': expected >= 2 (a standard error needs two)");
    if (fresh_base < search_seeds) fail(src, ": key 'fresh_base': must not overlap the search seeds 0..", search_seeds - 1);
    if (workers == 0) fail(src, ": key 'workers': expected >= 1");
  }
};

// Mean, sample sd and standard error of the mean.
struct MeanSe {
  double mean = 0, sd = 0, se = 0;
  std::size_t n = 0;
  static MeanSe of(const std::vector<double>& v) {
    MeanSe m;
    m.n = v.size();
    if (v.empty()) return m;
    m.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    if (v.size() > 1) {
      double ss = 0;
      for (double x : v) ss += (x - m.mean) * (x - m.mean);
      m.sd = std::sqrt(ss / double(v.size() - 1));
      m.se = m.sd / std::sqrt(double(v.size()));
    }
    return m;
  }
  [[nodiscard]] Json to_json() const { return Json{{"mean", mean}, {"sd", sd}, {"se", se}, {"n", n}}; }
};

// Piecewise-linear shares over `stages` through `knots` evenly spaced values, clamped to [0, 1].
inline std::vector<double> knot_shares(const std::vector<double>& knots, std::size_t stages) {
  std::vector<double> s(stages);
  for (std::size_t t = 0; t < stages; ++t) {
    const double x = stages > 1 ? double(t) / double(stages - 1) * double(knots.size() - 1) : 0.0;
    const std::size_t i = std::min(knots.size() - 2, std::size_t(x));
    const double f = x - double(i);
    s[t] = std::clamp(knots[i] * (1 - f) + knots[i + 1] * f, 0.0, 1.0);
  }
  return s;
}

// The structured dynamic families around the best static share p. `decay_start`: the first stage
// of the LR decay phase (== stages when the schedule has none; then the last quarter is used).
inline std::vector<HeadroomCandidate> headroom_families(double p, std::size_t stages, std::size_t decay_start,
                                                        const std::string& split) {
  std::vector<HeadroomCandidate> out;
  auto add = [&](std::string name, std::string fam, std::vector<double> s) {
    for (double& x : s) x = std::clamp(x, 0.0, 1.0);
    HeadroomCandidate c{std::move(name), std::move(fam), split, std::move(s)};
    if (c.is_static()) return;  // one stage, or clamped flat: not a dynamic schedule
    for (const auto& o : out)
      if (o.key() == c.key()) return;
    out.push_back(std::move(c));
  };
  char nm[96];
  for (double a : {0.15, 0.3}) {
    std::vector<double> up(stages), down(stages);
    for (std::size_t t = 0; t < stages; ++t) {
      const double f = stages > 1 ? double(t) / double(stages - 1) : 0.0;
      up[t] = p - a + 2 * a * f;
      down[t] = p + a - 2 * a * f;
    }
    std::snprintf(nm, sizeof nm, "ramp_up +-%.2f", a);
    add(nm, "ramp_up", up);
    std::snprintf(nm, sizeof nm, "ramp_down +-%.2f", a);
    add(nm, "ramp_down", down);
  }
  // Source first, then target: no target for the first k stages, then either p or the share that
  // spends the same target tokens as p over the whole run.
  for (std::size_t k : {stages / 4, stages / 2}) {
    if (k == 0 || k >= stages) continue;
    for (bool same_tokens : {false, true}) {
      const double q = same_tokens ? p * double(stages) / double(stages - k) : p;
      std::vector<double> s(stages, q);
      std::fill(s.begin(), s.begin() + std::ptrdiff_t(k), 0.0);
      std::snprintf(nm, sizeof nm, "source first %zu, then %.3f", k, std::min(1.0, q));
      add(nm, "source_first", s);
    }
  }
  // Target during the LR decay: share p - a before the decay, p + b inside it.
  const std::size_t d0 = decay_start < stages ? decay_start : stages - std::max<std::size_t>(1, stages / 4);
  for (auto [a, b] : {std::pair{0.2, 0.2}, std::pair{0.0, 0.3}, std::pair{0.3, 0.0}, std::pair{0.2, 0.0}}) {
    std::vector<double> s(stages, p - a);
    for (std::size_t t = d0; t < stages; ++t) s[t] = p + b;
    std::snprintf(nm, sizeof nm, "decay target %.3f -> %.3f", std::clamp(p - a, 0.0, 1.0), std::clamp(p + b, 0.0, 1.0));
    add(nm, "decay_target", s);
  }
  // Target first, then mostly source (the pilot's losing direction; a control).
  {
    std::vector<double> s(stages, std::max(0.0, p - 0.2));
    for (std::size_t t = 0; t < std::max<std::size_t>(1, stages / 4); ++t) s[t] = std::min(1.0, p + 0.3);
    add("target first", "target_first", s);
  }
  return out;
}

// One-stage pulses around the best static share p: p everywhere except stage t at 0 or at 1, for
// t the first stage, the middle one, the last before the LR decay and the last (distinct ones).
// Their paired effect against p is what one decision of a mixer can move; none for one stage.
inline std::vector<HeadroomCandidate> headroom_pulses(double p, std::size_t stages, std::size_t decay_start,
                                                      const std::string& split) {
  std::vector<HeadroomCandidate> out;
  if (stages < 2) return out;
  std::vector<std::size_t> at{0, stages / 2};
  if (decay_start > 0 && decay_start < stages) at.push_back(decay_start - 1);
  at.push_back(stages - 1);
  std::sort(at.begin(), at.end());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  char nm[96];
  for (std::size_t t : at)
    for (double v : {0.0, 1.0}) {
      if (v == p) continue;
      std::vector<double> s(stages, p);
      s[t] = v;
      std::snprintf(nm, sizeof nm, "pulse stage %zu -> %.0f", t + 1, v);
      out.push_back({nm, "pulse", split, std::move(s)});
    }
  return out;
}

// The diagnostic. Evaluate: double(const HeadroomCandidate&, std::uint64_t seed, std::size_t worker),
// called from `cfg.workers` threads at once (worker < workers). `ledger`: a JSON-lines file of
// finished runs (empty path: none). Returns the results (schema dma.headroom/1).
template <class Evaluate>
Json measure_headroom(const HeadroomConfig& cfg, std::size_t stages, std::size_t decay_start, Evaluate&& evaluate,
                      const std::filesystem::path& ledger = {}, bool progress = true) {
  cfg.validate("headroom config");
  if (stages == 0) fail("headroom: the environment has no stages");
  std::map<std::string, double> done;  // "key|seed" -> objective
  std::mutex mu;
  if (!ledger.empty() && std::filesystem::exists(ledger)) {
    std::ifstream in(ledger);
    std::string line;
    std::size_t ln = 0;
    while (std::getline(in, line)) {
      ++ln;
      if (line.empty()) continue;
      Json j;
      try {
        j = Json::parse(line);
        done[j.at("key").get<std::string>() + "|" + std::to_string(j.at("seed").get<std::uint64_t>())] =
            j.at("objective").get<double>();
      } catch (const std::exception& e) {
        // A torn last line (killed mid-write) is dropped; damage elsewhere is an error.
        if (in.peek() != EOF) fail(ledger.string(), ": line ", ln, ": not a ledger record (", e.what(), ")");
      }
    }
  }
  std::ofstream log;
  if (!ledger.empty()) {
    std::filesystem::create_directories(ledger.parent_path().empty() ? "." : ledger.parent_path());
    log.open(ledger, std::ios::app);
    if (!log) fail(ledger.string(), ": cannot append to the headroom ledger");
  }
  std::size_t runs_total = 0, runs_new = 0;
  double seconds_new = 0;
  // Runs every (candidate, seed) pair not in the ledger, `workers` at a time.
  auto run_all = [&](const std::vector<HeadroomCandidate>& cands, const std::vector<std::uint64_t>& seeds,
                     const std::string& label) {
    std::vector<std::pair<std::size_t, std::uint64_t>> todo;
    for (std::size_t i = 0; i < cands.size(); ++i)
      for (auto s : seeds) {
        ++runs_total;
        if (!done.count(cands[i].key() + "|" + std::to_string(s))) todo.push_back({i, s});
      }
    Progress prog("headroom " + label, todo.size(), 5.0, progress && !todo.empty());
    std::atomic<std::size_t> finished{0};
    parallel_for(todo.size(), cfg.workers, [&](std::size_t k, std::size_t worker) {
      const auto& c = cands[todo[k].first];
      const auto t0 = std::chrono::steady_clock::now();
      const double v = evaluate(c, todo[k].second, worker);
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!std::isfinite(v)) fail("headroom: candidate '", c.name, "' seed ", todo[k].second, ": objective ", v);
      std::lock_guard<std::mutex> g(mu);
      done[c.key() + "|" + std::to_string(todo[k].second)] = v;
      ++runs_new;
      seconds_new += sec;
      if (log) log << Json{{"key", c.key()}, {"seed", todo[k].second}, {"objective", v}, {"name", c.name},
                           {"seconds", sec}}.dump() << "\n" << std::flush;
      prog.update(++finished, c.name);
    });
  };
  auto values = [&](const HeadroomCandidate& c, const std::vector<std::uint64_t>& seeds) {
    std::vector<double> v;
    for (auto s : seeds) v.push_back(done.at(c.key() + "|" + std::to_string(s)));
    return v;
  };
  auto seed_range = [](std::uint64_t from, std::size_t n) {
    std::vector<std::uint64_t> s(n);
    std::iota(s.begin(), s.end(), from);
    return s;
  };
  const auto search = seed_range(0, cfg.search_seeds);
  const auto fam_seeds = seed_range(0, cfg.family_seeds), cem_seeds = seed_range(0, cfg.cem_seeds);
  const auto fresh = seed_range(cfg.fresh_base, cfg.fresh_seeds);
  char nm[96];

  // (a) The static grid.
  std::vector<HeadroomCandidate> grid;
  for (const auto& sp : cfg.splits)
    for (double g : cfg.grid) {
      std::snprintf(nm, sizeof nm, "static %.3f (%s)", g, sp.c_str());
      grid.push_back({nm, "static", sp, std::vector<double>(stages, g)});
    }
  run_all(grid, search, "static grid");
  // The candidate with the best mean over the search seeds (the first of equals).
  auto best_of = [&](const std::vector<HeadroomCandidate>& v) {
    std::size_t b = 0;
    double bm = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < v.size(); ++i)
      if (const double m = MeanSe::of(values(v[i], search)).mean; m > bm) b = i, bm = m;
    return b;
  };
  // Refinement: the shares halfway to the best grid share's neighbours, so that a dynamic schedule
  // cannot win only because the grid is coarse.
  {
    const HeadroomCandidate g = grid[best_of(grid)];
    std::vector<double> sorted = cfg.grid;
    std::sort(sorted.begin(), sorted.end());
    const auto at = std::find(sorted.begin(), sorted.end(), g.shares.front());
    std::vector<HeadroomCandidate> ref;
    for (auto nb : {at == sorted.begin() ? at : at - 1, at + 1 == sorted.end() ? at : at + 1}) {
      if (nb == at) continue;
      const double h = 0.5 * (*at + *nb);
      std::snprintf(nm, sizeof nm, "static %.4f (%s)", h, g.split.c_str());
      ref.push_back({nm, "static_refined", g.split, std::vector<double>(stages, h)});
    }
    run_all(ref, search, "static refinement");
    for (auto& r : ref) grid.push_back(std::move(r));
  }
  const HeadroomCandidate best_static = grid[best_of(grid)];
  const double p = best_static.shares.front();
  const std::string split = best_static.split;

  // (b) Dynamic: structured families, then the cross-entropy search around p.
  std::vector<HeadroomCandidate> dyn = headroom_families(p, stages, decay_start, split);
  run_all(dyn, fam_seeds, "families");
  std::vector<std::pair<double, std::size_t>> ranked;  // (mean on its seeds, index into dyn)
  for (std::size_t i = 0; i < dyn.size(); ++i) ranked.push_back({MeanSe::of(values(dyn[i], fam_seeds)).mean, i});
  Json cem_curve = Json::array();
  if (cfg.cem_iterations > 0 && stages > 1) {
    Rng rng = Rng(cfg.seed).split("headroom.cem");
    std::vector<double> mu_k(cfg.cem_knots, p), sd_k(cfg.cem_knots, cfg.cem_init_sd);
    for (std::size_t it = 0; it < cfg.cem_iterations; ++it) {
      std::vector<HeadroomCandidate> pop;
      std::vector<std::vector<double>> knots;
      for (std::size_t j = 0; j < cfg.cem_population; ++j) {
        std::vector<double> k(cfg.cem_knots);
        for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::clamp(mu_k[i] + sd_k[i] * rng.normal(), 0.0, 1.0);
        std::snprintf(nm, sizeof nm, "cem %zu.%zu knots", it + 1, j + 1);
        pop.push_back({nm, "cem", split, knot_shares(k, stages)});
        for (double x : k) std::snprintf(nm, sizeof nm, " %.2f", x), pop.back().name += nm;
        knots.push_back(std::move(k));
      }
      run_all(pop, cem_seeds, "cem " + std::to_string(it + 1) + "/" + std::to_string(cfg.cem_iterations));
      std::vector<std::pair<double, std::size_t>> sc;
      for (std::size_t j = 0; j < pop.size(); ++j) sc.push_back({MeanSe::of(values(pop[j], cem_seeds)).mean, j});
      std::sort(sc.rbegin(), sc.rend());
      std::vector<std::vector<double>> ek;
      for (std::size_t e = 0; e < cfg.cem_elite; ++e) ek.push_back(knots[sc[e].second]);
      for (std::size_t i = 0; i < cfg.cem_knots; ++i) {
        std::vector<double> col;
        for (const auto& k : ek) col.push_back(k[i]);
        const MeanSe m = MeanSe::of(col);
        mu_k[i] = m.mean;
        sd_k[i] = std::max(0.03, m.sd);
      }
      cem_curve.push_back(Json{{"iteration", it + 1}, {"best", sc.front().first}, {"elite_mean_knots", mu_k}});
      for (auto& c : pop) {
        if (c.is_static()) continue;
        ranked.push_back({MeanSe::of(values(c, cem_seeds)).mean, dyn.size()});
        dyn.push_back(std::move(c));
      }
    }
  }
  // Finalists: the best few dynamic candidates, re-run on every search seed; the best by that mean.
  std::sort(ranked.rbegin(), ranked.rend());
  std::vector<HeadroomCandidate> fin;
  for (std::size_t i = 0; i < std::min(cfg.finalists, ranked.size()); ++i) fin.push_back(dyn[ranked[i].second]);
  Json out{{"schema", "dma.headroom/1"}, {"config", cfg.to_json()}, {"stages", stages}, {"decay_start", decay_start}};
  Json jgrid = Json::array();
  for (const auto& g : grid)
    jgrid.push_back(Json{{"share", g.shares.front()}, {"split", g.split}, {"objective", MeanSe::of(values(g, search)).to_json()},
                         {"values", values(g, search)}});
  out["grid"] = jgrid;
  out["best_static"] = best_static.to_json();
  out["best_static"]["search"] = MeanSe::of(values(best_static, search)).to_json();
  if (fin.empty()) {  // one stage: no schedule differs from a static share
    out["best_dynamic"] = nullptr;
    out["verdict"] = "no dynamic schedule exists (one stage)";
    out["runs"] = Json{{"total", runs_total}, {"new", runs_new}, {"seconds_new", seconds_new}};
    return out;
  }
  run_all(fin, search, "finalists");
  const HeadroomCandidate best_dynamic = fin[best_of(fin)];
  Json jdyn = Json::array();
  for (const auto& [m, i] : ranked) {
    Json c = dyn[i].to_json();
    c["mean_on_own_seeds"] = m;
    jdyn.push_back(c);
  }
  out["dynamic"] = jdyn;
  out["cem"] = cem_curve;
  Json jfin = Json::array();
  for (const auto& f : fin) {
    Json c = f.to_json();
    c["search"] = MeanSe::of(values(f, search)).to_json();
    jfin.push_back(c);
  }
  out["finalists"] = jfin;

  // (c) Fresh seeds: the selected pair, paired.
  HeadroomCandidate target_only{"static 1.000 (" + split + ")", "static", split, std::vector<double>(stages, 1.0)};
  // Control: the static share equal to the dynamic schedule's mean share (the same target tokens).
  const double mean_share =
      std::accumulate(best_dynamic.shares.begin(), best_dynamic.shares.end(), 0.0) / double(stages);
  std::snprintf(nm, sizeof nm, "static %.4f (%s)", mean_share, split.c_str());
  const HeadroomCandidate matched{nm, "static_matched_mean", split, std::vector<double>(stages, mean_share)};
  run_all({best_static, best_dynamic, matched}, fresh, "fresh seeds");
  const auto vs = values(best_static, fresh), vd = values(best_dynamic, fresh), vm = values(matched, fresh);
  std::vector<double> diff_m(vs.size());
  for (std::size_t i = 0; i < vs.size(); ++i) diff_m[i] = vd[i] - vm[i];
  std::vector<double> diff(vs.size());
  for (std::size_t i = 0; i < vs.size(); ++i) diff[i] = vd[i] - vs[i];
  const MeanSe d = MeanSe::of(diff);
  const double span = MeanSe::of(values(best_static, search)).mean - MeanSe::of(values(target_only, search)).mean;
  out["best_dynamic"] = best_dynamic.to_json();
  out["best_dynamic"]["search"] = MeanSe::of(values(best_dynamic, search)).to_json();
  out["fresh"] = Json{{"seeds", fresh}, {"static", vs}, {"dynamic", vd},
                      {"static_objective", MeanSe::of(vs).to_json()}, {"dynamic_objective", MeanSe::of(vd).to_json()},
                      {"matched_mean_static", matched.to_json()}, {"matched_mean_values", vm},
                      {"dynamic_minus_matched_mean", MeanSe::of(diff_m).to_json()}};
  const double t = d.se > 0 ? d.mean / d.se : 0.0;
  out["headroom"] = Json{{"mean", d.mean}, {"se", d.se}, {"sd", d.sd}, {"n", d.n}, {"paired_se_units", t},
                         {"span_target_only_to_best_static", span},
                         {"share_of_span", span > 0 ? d.mean / span : std::nan("")}};
  const bool clear = t >= 3 && span > 0 && d.mean >= 0.1 * span;
  out["verdict"] = clear ? "dynamic beats static (>= 3 paired se and >= 10% of the span)"
                   : std::abs(t) < 3 ? "within noise (|headroom| < 3 paired se)"
                   : t <= -3         ? "static beats the selected dynamic schedule"
                                     : "significant but under 10% of the span";
  // (d) Sensitivity: what one stage's decision moves, paired on the search seeds, against the
  // seed-to-seed sd of the best static share's objective.
  if (cfg.pulses) {
    const auto pulses = headroom_pulses(p, stages, decay_start, split);
    run_all(pulses, search, "pulses");
    const auto base = values(best_static, search);
    Json jp = Json::array();
    for (const auto& c : pulses) {
      const auto v = values(c, search);
      std::vector<double> dd(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) dd[i] = v[i] - base[i];
      const MeanSe m = MeanSe::of(dd);
      const auto at = std::size_t(std::find_if(c.shares.begin(), c.shares.end(), [&](double x) { return x != p; }) -
                                  c.shares.begin());
      jp.push_back(Json{{"name", c.name}, {"stage", at + 1}, {"share", c.shares[at]}, {"effect", m.to_json()},
                        {"paired_se_units", m.se > 0 ? m.mean / m.se : 0.0},
                        {"share_of_span", span > 0 ? m.mean / span : std::nan("")}});
    }
    out["sensitivity"] = Json{{"seed_sd_of_best_static", MeanSe::of(base).sd}, {"pulses", jp}};
  }
  out["runs"] = Json{{"total", runs_total}, {"new", runs_new}, {"seconds_new", seconds_new}};
  return out;
}

}  // namespace dma::trainer
