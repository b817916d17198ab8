// examples/headroom.cpp: the headroom diagnostic (trainer/headroom.hpp) on the LLM proxy: for one
// setting of the main job (its world: space, base model, hidden pools, LR schedule), does any
// per-stage schedule of the target share beat the best static share on fresh seeds? Each run is a
// whole CPT (env::Cpt::train per stage, no per-stage evaluation: the schedules are open-loop) scored
// by the setting's benchmark suite, as the main job scores its runs. Writes OUT/headroom.json,
// OUT/ledger.jsonl (every run; a rerun resumes) and OUT/plots (gnuplot when found). The one-stage
// pulses of the sensitivity step measure what a single stage's decision moves against seed noise.
// OUT/identity.json pins the ledger to its world (fingerprint), benchmark suite and weight: a rerun
// into OUT with another environment is refused instead of mixing runs of two environments.
//
//   headroom [--preset full] --setting in_dist_2d|in_dist_kd|scarcity [--out DIR]
//            [--headroom.KEY VALUE ...] [--KEY VALUE ...]   (experiment keys, e.g. --cpt.stages 1)
//
// docs/HEADROOM.md has the measured table.
#include <dma/core/config.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/report/plots.hpp>
#include <dma/trainer/headroom.hpp>

#include "main_job/scoring.hpp"
#include "main_job/worlds.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace fs = std::filesystem;
using namespace dma;

namespace {

// The mixture of one stage: `share` to the target field, the rest to the source field, each split
// evenly over its domains ("uniform", mixers::fixed_mixture) or by training tokens ("natural").
Mixture stage_mixture(const env::CptData& d, const EpisodeSpec& spec, double share, const std::string& split) {
  if (split != "natural") return mixers::fixed_mixture(spec, share);
  double ns = 0, nt = 0;
  for (std::size_t i = 0; i < d.size(); ++i) (d.field(i) == Field::Source ? ns : nt) += double(d.train[i].size());
  if (ns == 0 || nt == 0) fail("headroom: the natural split needs source and target training tokens");
  Mixture m(d.size());
  for (std::size_t i = 0; i < d.size(); ++i)
    m[i] = d.field(i) == Field::Source ? (1 - share) * double(d.train[i].size()) / ns
                                        : share * double(d.train[i].size()) / nt;
  return m;
}

void write_plots(const Json& r, const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<std::string> splits;
  {
    // One block per split (sorted by share), separated by two blank lines: gnuplot's `index`.
    std::map<std::string, std::map<double, std::pair<double, double>>> by;
    for (const auto& x : r["grid"])
      by[x["split"].get<std::string>()][x["share"].get<double>()] = {x["objective"]["mean"].get<double>(),
                                                                     x["objective"]["se"].get<double>()};
    std::ofstream g(dir / "grid.dat");
    for (const auto& [split, pts] : by) {
      g << "# split " << split << ": share mean se\n";
      for (const auto& [sh, v] : pts) g << sh << " " << v.first << " " << v.second << "\n";
      g << "\n\n";
      splits.push_back(split);
    }
  }
  {
    // The last row repeats the last stage so that `steps` draws it.
    std::ofstream s(dir / "schedules.dat");
    s << "# stage best_static best_dynamic\n";
    const auto st = r["best_static"]["shares"];
    const Json dy = r["best_dynamic"].is_null() ? st : r["best_dynamic"]["shares"];
    for (std::size_t t = 0; t <= st.size(); ++t) {
      const std::size_t k = std::min(t, st.size() - 1);
      s << t + 1 << " " << st[k].get<double>() << " " << dy[k].get<double>() << "\n";
    }
  }
  std::string grid_plot = "plot";
  for (std::size_t i = 0; i < splits.size(); ++i)
    grid_plot += std::string(i ? "," : "") + " 'grid.dat' index " + std::to_string(i) + " u 1:2:3 w yerrorlines t 'static, " +
                 splits[i] + " split'";
  std::ofstream gp(dir / "headroom.gp");
  gp << "# gnuplot headroom.gp (in this folder)\n"
     << "set terminal pngcairo size 1100,420 noenhanced\nset output 'headroom.png'\nset multiplot layout 1,2\n"
     << "set title 'target share per stage'\nset xlabel 'stage'\nset ylabel 'target share'\nset yrange [0:1]\nset key bottom right\n"
     << "set xrange [1:" << r["stages"].get<std::size_t>() + 1 << "]\n"
     << "plot 'schedules.dat' u 1:2 w steps lw 2 t 'best static', '' u 1:3 w steps lw 2 t 'best dynamic (selected)'\n"
     << "set title 'static grid: objective on the search seeds (mean +- se)'\nset xlabel 'target share'\n"
     << "set ylabel 'objective'\nset autoscale y\nset xrange [-0.05:1.05]\n"
     << grid_plot << "\nunset multiplot\n";
  gp.close();
  if (report::find_gnuplot()) {
    const std::string cmd = "cd " + report::detail::shell_quote(dir.string()) + " && gnuplot headroom.gp >gnuplot.log 2>&1";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "headroom: gnuplot failed (see %s/gnuplot.log)\n", dir.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) try {
  const auto t0 = std::chrono::steady_clock::now();
  const Config args = Config::from_args(argc, argv);
  const std::string preset = args.get<std::string>("preset", "full");
  const fs::path file = fs::path(args.get<std::string>("presets", "examples/presets")) / ("experiment-" + preset + ".json");
  if (!fs::exists(file)) fail("headroom: --preset ", preset, ": no file ", file.string());
  Json j = load_json(file);
  j.merge_patch(args.json());
  const std::string setting = j.value("setting", std::string("in_dist_2d"));
  const fs::path out = j.value("out", "out/headroom/" + preset + "/" + setting);
  Json hj = j.value("headroom", Json::object());
  for (const char* k : {"preset", "presets", "setting", "out", "headroom", "quiet"}) j.erase(k);
  j["preset"] = preset;
  const auto cfg = main_job::ExperimentConfig::from_json(j, file.string() + " + command line");
  trainer::HeadroomConfig defaults;
  defaults.workers = cfg.parallel;
  auto hc = reflect::from_json(hj, "headroom", defaults);

  const auto defs = main_job::experiment_settings();
  auto it = std::find_if(defs.begin(), defs.end(), [&](const auto& s) { return s.name == setting; });
  if (it == defs.end()) fail("headroom: --setting '", setting, "': not a setting of the main job");
  const main_job::SettingDef s = *it;
  const double tw = hj.value("target_weight", cfg.target_weights.front());
  auto data = std::make_unique<main_job::ShardData>(cfg.shards, cfg.manifest, fs::path("out") / "spaces", cfg.kd.restarts,
                                                   cfg.kd.seed);
  main_job::Worlds<> worlds(cfg, std::move(data), true);
  const std::vector<std::size_t> pools = worlds.setting_pools(s);
  const auto world = worlds.make_world(s.space, s.base, s.target, tw, pools, cfg.threads);
  const auto& wc = world->config();
  const EpisodeSpec spec = world->spec();
  if (hj.contains("splits") == false && s.space != "2d") hc.splits = {"uniform", "natural"};
  std::vector<std::unique_ptr<main_job::BenchmarkSuite<>>> bench;
  for (std::size_t w = 0; w < hc.workers; ++w)
    bench.push_back(std::make_unique<main_job::BenchmarkSuite<>>(worlds.data().per_source(), worlds.base_sources(s.base), s.target,
                                                                 wc.base.model, wc.eval, cfg.benchmark.windows,
                                                                 cfg.benchmark.probe_items, cfg.threads,
                                                                 cfg.benchmark.choice_items, cfg.benchmark.kinds));
  const main_job::RunScores base = bench[0]->evaluate(world->base().state.params.data());
  const auto info = bench[0]->benchmarks();
  for (std::size_t w = 1; w < bench.size(); ++w) (void)bench[w]->evaluate(world->base().state.params.data());
  std::printf("headroom: %s, %zu domains, %zu stages x %zu tokens, LR %s, %zu workers; model %zu parameters\n",
              setting.c_str(), world->data().size(), wc.stages, wc.steps_per_stage() * wc.batch * wc.base.model.context,
              wc.lr_schedule.c_str(), hc.workers, world->base().state.num_params());

  {
    const Json id{{"setting", setting}, {"world", std::to_string(world->fingerprint())}, {"target_weight", tw},
                  {"benchmark", {{"windows", cfg.benchmark.windows}, {"probe_items", cfg.benchmark.probe_items},
                                 {"choice_items", cfg.benchmark.choice_items}, {"kinds", cfg.benchmark.kinds}}}};
    const fs::path idf = out / "identity.json";
    if (fs::exists(idf)) {
      if (load_json(idf) != id)
        fail(idf.string(), ": this folder's ledger was made with another environment or benchmark suite (now ", id.dump(),
             "); use another --out or delete the folder");
    } else {
      // A folder from before identity.json: its headroom.json names the environment it ran on.
      const fs::path hf = out / "headroom.json";
      if (fs::exists(hf) && load_json(hf).value("env", Json()) != wc.to_json())
        fail(hf.string(), ": field 'env': this folder was made with another environment; use another --out or "
             "delete the folder");
      fs::create_directories(out);
      save_json(idf, id);
    }
  }

  auto evaluate = [&](const trainer::HeadroomCandidate& c, std::uint64_t seed, std::size_t worker) {
    const std::uint64_t inst = s.scarce ? main_job::Worlds<>::scarce_instance(*world, pools, std::size_t(seed)) : 0;
    env::Cpt<> env(world, inst);
    env.reset(1000 + seed);
    for (double sh : c.shares) env.train(stage_mixture(world->data(), spec, sh, c.split));
    return bench[worker]->evaluate(env.state().params.data()).objective(base, info, tw);
  };
  Json r = trainer::measure_headroom(hc, wc.stages, wc.decay_start_stage(), evaluate, out / "ledger.jsonl");
  r["setting"] = setting;
  r["preset"] = preset;
  r["target_weight"] = tw;
  r["env"] = wc.to_json();
  r["params"] = world->base().state.num_params();
  r["benchmarks"] = Json::array();  // the suite, with the base model's scores (the objective's zero)
  for (std::size_t i = 0; i < info.size(); ++i)
    r["benchmarks"].push_back(Json{{"name", info[i].name}, {"field", info[i].field == Field::Source ? "source" : "target"},
                                   {"base_score", base.scores[i]}});
  r["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  save_json(out / "headroom.json", r);
  write_plots(r, out / "plots");
  const auto& h = r.value("headroom", Json::object());
  std::printf("headroom: best static %s: %.5f; best dynamic %s\n", r["best_static"]["name"].get<std::string>().c_str(),
              r["best_static"]["search"]["mean"].get<double>(),
              r["best_dynamic"].is_null() ? "(none)" : r["best_dynamic"]["name"].get<std::string>().c_str());
  if (!h.empty())
    std::printf("headroom: fresh seeds: dynamic - static = %+.5f +- %.5f (%.2f paired se), span %.5f, %.1f%% of it\n",
                h["mean"].get<double>(), h["se"].get<double>(), h["paired_se_units"].get<double>(),
                h["span_target_only_to_best_static"].get<double>(), 100 * h["share_of_span"].get<double>());
  if (r.contains("sensitivity")) {
    const auto& sv = r["sensitivity"];
    std::printf("headroom: one-stage pulses (seed sd of the best static %.5f):", sv["seed_sd_of_best_static"].get<double>());
    for (const auto& x : sv["pulses"])
      std::printf(" [stage %zu -> %.0f: %+.5f, %.1f se]", x["stage"].get<std::size_t>(), x["share"].get<double>(),
                  x["effect"]["mean"].get<double>(), x["paired_se_units"].get<double>());
    std::printf("\n");
  }
  std::printf("headroom: %s; %zu runs (%zu new, %.0f s of run time); wall %.0f s; wrote %s\n",
              r["verdict"].get<std::string>().c_str(), r["runs"]["total"].get<std::size_t>(),
              r["runs"]["new"].get<std::size_t>(), r["runs"]["seconds_new"].get<double>(),
              r["wall_seconds"].get<double>(), (out / "headroom.json").c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "headroom: %s\n", e.what());
  return 1;
}
