// Plots (dma/report/plots.hpp) from the hand-made fixture of tests/support/report_fixture.hpp:
// the .dat files hold the numbers the plots show (seed means, cumulative shares for the stacked
// areas), the .gp scripts are always written, PNG + SVG appear when gnuplot is installed, and a
// missing gnuplot is said, not hidden.
#include <catch2/catch.hpp>

#include <dma/core/file_io.hpp>
#include <dma/report/plots.hpp>

#include <filesystem>

#include "../support/report_fixture.hpp"
#include "../support/temp_dir.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_report_plots {

using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using namespace dma::report;

namespace {
Results fixture() { return parse_results(dma::test::report_fixture(), "fixture.json"); }
}  // namespace

TEST_CASE("report plots: data files hold seed means and cumulative shares", "[report][cpu]") {
  dma::test::TempDir dir("report_plots_dat");
  PlotOptions opt;
  opt.run_gnuplot = false;
  const auto out = write_plots(fixture(), dir.path, opt);
  // in_dist_2d: mixture + scores (only the cql runs have stages) + avg; scarcity, code: avg only.
  CHECK(out.scripts.size() == 5);
  CHECK(out.images.empty());
  CHECK_THAT(out.note, Contains("not run"));
  for (const auto& gp : out.scripts) CHECK(fs::exists(gp));

  // cql seeds: stage 1 mixes 0.7/0.3 and 0.5/0.5 -> mean 0.6/0.4 -> cumulative 0 0.6 1.
  const std::string mix = dma::io::read_file(dir.path / "in_dist_2d_w0p5_mixture.dat");
  CHECK_THAT(mix, Contains("1 0 0.6 1\n2 0 0.5 1\n3 0 0.4 1\n"));
  // target_avg over stages: (0.40+0.40)/2, (0.46+0.44)/2, (0.52+0.48)/2.
  const std::string sc = dma::io::read_file(dir.path / "in_dist_2d_w0p5_scores.dat");
  CHECK_THAT(sc, Contains("1 0.45 0.4\n2 0.44 0.45\n3 0.44 0.5\n"));
  // Avg per method index (uniform 0, cql_agent 4 in this setting's table order).
  const std::string avg = dma::io::read_file(dir.path / "in_dist_2d_avg.dat");
  CHECK_THAT(avg, Contains("\n0 0.4 0\n"));            // uniform: one seed, sd 0
  CHECK_THAT(avg, Contains("\n4 0.47 0.0141421\n"));   // cql_agent: mean 0.47, sd over 2 seeds
  const std::string gp = dma::io::read_file(dir.path / "in_dist_2d_w0p5_mixture.gp");
  CHECK_THAT(gp, Contains("domains = \"fiction math\"") && Contains("filledcurves") && Contains("pngterm"));
}

TEST_CASE("report plots: a missing gnuplot leaves the scripts and says so", "[report][cpu]") {
  dma::test::TempDir dir("report_plots_nognuplot");
  PlotOptions opt;
  opt.gnuplot = dir.path / "no-such-gnuplot";
  const auto out = write_plots(fixture(), dir.path, opt);
  CHECK_FALSE(out.gnuplot_found);
  CHECK(out.images.empty());
  CHECK_THAT(out.note, Contains("gnuplot not found: wrote scripts only"));
  CHECK(out.scripts.size() == 5);
}

TEST_CASE("report plots: gnuplot draws a PNG and an SVG for every script", "[report][cpu]") {
  if (!find_gnuplot()) {
    WARN("gnuplot is not installed (apt-get install gnuplot-nox): PNG/SVG not checked");
    return;
  }
  dma::test::TempDir dir("report_plots_gnuplot");
  const auto out = write_plots(fixture(), dir.path);
  CHECK(out.gnuplot_found);
  INFO(out.note);
  for (const auto& f : out.failures) INFO(f);
  CHECK(out.failures.empty());
  REQUIRE(out.images.size() == 2 * out.scripts.size());
  for (const auto& img : out.images) {
    REQUIRE(fs::exists(img));
    const std::string head = dma::io::read_file(img).substr(0, 512);
    if (img.extension() == ".png") CHECK(head.substr(1, 3) == "PNG");
    else CHECK_THAT(head, Contains("<svg"));
  }
}

}  // namespace dma_test_report_plots
