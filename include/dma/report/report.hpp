// dma/report/report.hpp: write_all(), the report step of the main job: results.json in, and
// results.md plus plots/ (.dat, .gp, and PNG + SVG when gnuplot is installed) out. The experiment
// driver calls it after writing results.json; examples/report.cpp calls it alone to regenerate
// a report. Tested in tests/unit/report_markdown.cpp and report_plots.cpp.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dma/report/markdown.hpp"
#include "dma/report/plots.hpp"
#include "dma/report/results.hpp"

namespace dma::report {

struct ReportOutcome {
  std::filesystem::path markdown;  // out_dir/results.md
  PlotOutcome plots;               // out_dir/plots/*
};

// Loads and checks `results_json` (dma::Error naming the file and field on a bad file), then
// writes `out_dir`/results.md and `out_dir`/plots/. Rerunning overwrites both (atomic writes).
// `plot_options.run_gnuplot = false` writes the scripts without running gnuplot. `claims`, when
// given, turns the loaded results into the verdicts results.md opens with (the main job passes
// dma::main_job::paper_claims, examples/main_job/claims.hpp).
// Usage from the driver:
//   const auto rep = dma::report::write_all(out / "results.json", out, {}, dma::main_job::paper_claims);
//   std::printf("%s\n%s\n", rep.markdown.c_str(), rep.plots.note.c_str());
using ClaimsFn = std::function<std::vector<ClaimVerdict>(const Results&)>;

inline ReportOutcome write_all(const std::filesystem::path& results_json, const std::filesystem::path& out_dir,
                               const PlotOptions& plot_options = {}, const ClaimsFn& claims = {}) {
  const Results r = load_results(results_json);
  ReportOutcome out;
  out.plots = write_plots(r, out_dir / "plots", plot_options);
  std::string md = render_markdown(r, claims ? claims(r) : std::vector<ClaimVerdict>{});
  md += "\n## Plots\n\n" + out.plots.note + ".\n\n";
  for (const auto& img : out.plots.images)
    if (img.extension() == ".png") md += "![" + img.stem().string() + "](plots/" + img.filename().string() + ")\n\n";
  if (out.plots.images.empty())
    for (const auto& gp : out.plots.scripts) md += "- `plots/" + gp.filename().string() + "`\n";
  for (const auto& f : out.plots.failures) md += "- gnuplot failed: " + f + "\n";
  out.markdown = out_dir / "results.md";
  io::atomic_write(out.markdown, md);
  return out;
}

}  // namespace dma::report
