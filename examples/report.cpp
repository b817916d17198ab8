// examples/report.cpp: regenerates the report of a finished main job from its results.json alone:
// results.md (tables like the paper's Table 1, claims with verdicts computed from the numbers)
// and plots/ (gnuplot .dat/.gp, PNG + SVG when gnuplot is installed).
//
//   build/<dir>/examples/report --results out/quick/results.json --out out/quick [--no_gnuplot]
//
// --out defaults to the folder of --results. A bad file stops with a message naming the file and
// the field. Schema: docs/RESULTS_SCHEMA.md.
#include <dma/core/config.hpp>
#include <dma/core/error.hpp>
#include <dma/report/report.hpp>

#include "main_job/claims.hpp"

#include <cstdio>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  try {
    const dma::Config cfg = dma::Config::from_args(argc, argv);
    const std::filesystem::path results = cfg.require<std::string>("results");
    const std::filesystem::path out =
        cfg.get<std::string>("out", results.has_parent_path() ? results.parent_path().string() : std::string("."));
    dma::report::PlotOptions plots;
    plots.run_gnuplot = !cfg.get<bool>("no_gnuplot", false);
    const auto rep = dma::report::write_all(results, out, plots, dma::main_job::paper_claims);
    std::printf("wrote %s\n%s\n", rep.markdown.c_str(), rep.plots.note.c_str());
    for (const auto& f : rep.plots.failures) std::fprintf(stderr, "gnuplot failed: %s\n", f.c_str());
    return rep.plots.failures.empty() ? 0 : 1;
  } catch (const dma::Error& e) {
    std::fprintf(stderr, "report: %s\n", e.what());
    return 2;
  }
}
