// examples/experiment.cpp: the main job on the LLM proxy: base proxies -> trajectory
// collection -> agents -> every method deployed on every setting -> OUT/results.json, then the
// report (results.md + plots) by dma::report::write_all. Data must be prepared first
// (scripts/run.sh calls scripts/prepare_data.sh). Every stage is cached under --out; rerunning
// the same command skips finished work. docs/EXPERIMENT.md describes the stages and presets.
//
//   experiment --preset quick|full [--out out/quick] [--config FILE.json] [--KEY VALUE ...]
//              [--quiet] [--no-report]
//
// --preset NAME reads examples/presets/experiment-NAME.json (next to this source, or under
// --presets DIR); any key of main_job/settings.hpp can be overridden (dots for nesting).
// `experiment_cuda` (CUDA builds) is this file with DMA_EXPERIMENT_CUDA: every CPT run is an
// env::Cpt<backend::Cuda> on the one GPU, one run at a time; the rest is the same program.
#include <dma/core/config.hpp>
#include <dma/report/report.hpp>
#include "main_job/claims.hpp"
#include "main_job/experiment.hpp"
#if defined(DMA_EXPERIMENT_CUDA)
#include <dma/backend/cuda/host.hpp>
using Backend = dma::backend::Cuda;
#else
using Backend = dma::backend::Cpu;
#endif

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;

int main(int argc, char** argv) try {
  const auto t0 = std::chrono::steady_clock::now();
  const dma::Config args = dma::Config::from_args(argc, argv);
  dma::Json j = dma::Json::object();
  std::string source = "command line";
  if (args.has("preset")) {
    const std::string name = args.get<std::string>("preset", "quick");
    fs::path dir = args.get<std::string>("presets", "examples/presets");
    const fs::path file = dir / ("experiment-" + name + ".json");
    if (!fs::exists(file)) dma::fail("experiment: --preset ", name, ": no file ", file.string(), " (run from the repository root or pass --presets DIR)");
    j = dma::load_json(file);
    source = file.string() + " + command line";
  }
  j.merge_patch(args.json());  // --config FILE and --key value override the preset
  const std::string out = j.value("out", std::string("out/") + j.value("preset", std::string("custom")));
  const bool quiet = j.value("quiet", false), report = !j.value("no-report", false);
  for (const char* k : {"preset", "presets", "quiet", "no-report", "out"}) j.erase(k);
  if (args.has("preset")) j["preset"] = args.get<std::string>("preset", "");
  const auto cfg = dma::main_job::ExperimentConfig::from_json(j, source);

  std::unique_ptr<dma::main_job::ExperimentData> data;
  if (cfg.data == "synthetic")
    data = std::make_unique<dma::main_job::SyntheticData>();
  else
    data = std::make_unique<dma::main_job::ShardData>(cfg.shards, cfg.manifest, fs::path(out) / "spaces", cfg.kd.restarts,
                                                     cfg.kd.seed);
  dma::main_job::Experiment<Backend> exp(cfg, out, std::move(data), !quiet);
  const dma::Json res = exp.run();
  std::printf("experiment: wrote %s/results.json (%zu settings); phases (s): %s\n", out.c_str(),
              res["settings"].size(), exp.phases().dump().c_str());
  if (report) {
    const auto rep = dma::report::write_all(fs::path(out) / "results.json", out, {}, dma::main_job::paper_claims);
    std::printf("experiment: report %s; %s\n", rep.markdown.c_str(), rep.plots.note.c_str());
  }
  std::printf("experiment: total %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "experiment: %s\n", e.what());
  return 1;
}
