// dma/report/plots.hpp: the plots of a results.json, as gnuplot data (.dat) and scripts (.gp)
// that each draw a PNG (pngcairo; `png` when cairo is missing) and an SVG: per setting and target
// weight the mixture over stages per method (stacked areas) and the source / target scores over
// stages (means over seeds), and per setting Avg +- sd over seeds per method and weight.
// The .dat/.gp files are always written; gnuplot (Debian's gnuplot-nox) is run when found,
// otherwise the outcome says "gnuplot not found: wrote scripts only".
// Last step of the data flow, beside markdown.hpp. Tested in tests/unit/report_plots.cpp.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/report/results.hpp"
#include "dma/report/summary.hpp"

namespace dma::report {

struct PlotOptions {
  bool run_gnuplot = true;
  std::filesystem::path gnuplot;  // empty: look for `gnuplot` on PATH
};

struct PlotOutcome {
  std::vector<std::filesystem::path> data, scripts, images;  // images: the ones gnuplot produced
  bool gnuplot_found = false;
  std::string png_terminal;            // "pngcairo" or "png" when gnuplot ran
  std::string note;                    // one line for the user
  std::vector<std::string> failures;   // scripts gnuplot rejected, with the end of its log
};

namespace detail {

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// File-name and gnuplot-word safe: letters, digits, '_', '-', '.'; anything else becomes '_'.
inline std::string safe_name(const std::string& s) {
  std::string o = s;
  for (char& c : o)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) c = '_';
  return o.empty() ? std::string("_") : o;
}

inline std::string weight_tag(double w) {
  std::string t = fmt("%g", w);
  std::replace(t.begin(), t.end(), '.', 'p');
  return "w" + t;
}

inline std::string words(const std::vector<std::string>& v) {
  std::string o;
  for (const auto& s : v) o += (o.empty() ? "" : " ") + safe_name(s);
  return o;
}

// The lines every script starts with: one loop draws the same figure as PNG and as SVG.
inline std::string script_head(const std::string& stem, int width, int height, const std::string& what) {
  std::ostringstream g;
  g << "# " << stem << ".gp: " << what << "\n"
    << "# Written by dma::report (plots.hpp); run in this folder: gnuplot " << stem << ".gp\n"
    << "if (!exists(\"pngterm\")) pngterm = \"pngcairo\"\n"
    << "do for [fmt in \"png svg\"] {\n"
    << "  if (fmt eq \"png\") { eval sprintf(\"set terminal %s noenhanced size %d,%d\", pngterm, " << width << ", "
    << height << ") } else { set terminal svg noenhanced size " << width << "," << height << " }\n"
    << "  set output \"" << stem << ".\".fmt\n";
  return g.str();
}
inline std::string script_tail() { return "  set output\n}\n"; }

// Mean over the seeds that reach stage i (runs may stop early).
struct StageMeans {
  std::vector<std::vector<double>> mixture;  // [stage][domain]
  std::vector<double> source_avg, target_avg;
};

inline StageMeans stage_means(const Setting& s, const std::string& method, double w) {
  StageMeans out;
  std::vector<std::vector<int>> mix_n;
  std::vector<int> src_n, tgt_n;
  for (const auto& r : s.runs) {
    if (r.method != method || !same_weight(r.target_weight, w)) continue;
    for (std::size_t i = 0; i < r.stages.size(); ++i) {
      if (out.mixture.size() <= i) {
        out.mixture.resize(i + 1), mix_n.resize(i + 1);
        out.source_avg.resize(i + 1, 0.0), out.target_avg.resize(i + 1, 0.0);
        src_n.resize(i + 1, 0), tgt_n.resize(i + 1, 0);
      }
      const auto& st = r.stages[i];
      if (!st.mixture.empty()) {
        out.mixture[i].resize(st.mixture.size(), 0.0), mix_n[i].resize(st.mixture.size(), 0);
        for (std::size_t k = 0; k < st.mixture.size(); ++k) out.mixture[i][k] += st.mixture[k], ++mix_n[i][k];
      }
      if (std::isfinite(st.source_avg)) out.source_avg[i] += st.source_avg, ++src_n[i];
      if (std::isfinite(st.target_avg)) out.target_avg[i] += st.target_avg, ++tgt_n[i];
    }
  }
  for (std::size_t i = 0; i < out.mixture.size(); ++i) {
    for (std::size_t k = 0; k < out.mixture[i].size(); ++k) out.mixture[i][k] /= mix_n[i][k];
    out.source_avg[i] = src_n[i] ? out.source_avg[i] / src_n[i] : kNaN;
    out.target_avg[i] = tgt_n[i] ? out.target_avg[i] / tgt_n[i] : kNaN;
  }
  return out;
}

inline std::string dat_num(double v) { return std::isfinite(v) ? fmt("%.6g", v) : std::string("NaN"); }

}  // namespace detail

// Looks for an executable `gnuplot` in the directories of $PATH.
inline std::optional<std::filesystem::path> find_gnuplot() {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::filesystem::path p = std::filesystem::path(dir) / "gnuplot";
    std::error_code ec;
    const auto st = std::filesystem::status(p, ec);
    if (!ec && std::filesystem::is_regular_file(st) &&
        (st.permissions() & std::filesystem::perms::others_exec) != std::filesystem::perms::none)
      return p;
  }
  return std::nullopt;
}

// Writes every .dat and .gp under `dir` (created if needed) and runs gnuplot on each script.
inline PlotOutcome write_plots(const Results& r, const std::filesystem::path& dir, const PlotOptions& opt = {}) {
  namespace fs = std::filesystem;
  using detail::dat_num;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("report plots: cannot create folder ", dir.string(), ": ", ec.message());
  PlotOutcome out;
  std::vector<std::string> stems;

  auto emit = [&](const std::string& stem, const std::string& dat, const std::string& gp) {
    io::atomic_write(dir / (stem + ".dat"), dat);
    io::atomic_write(dir / (stem + ".gp"), gp);
    out.data.push_back(dir / (stem + ".dat"));
    out.scripts.push_back(dir / (stem + ".gp"));
    stems.push_back(stem);
  };

  for (const auto& s : r.settings) {
    const std::string sname = detail::safe_name(s.name);
    const auto sums = summarize(s, r.target_weights);
    std::vector<std::string> domain_names;
    for (const auto& d : s.domains) domain_names.push_back(d.name);

    for (const auto& ws : sums) {
      const std::string wt = detail::weight_tag(ws.target_weight);
      std::vector<std::string> mix_methods, score_methods;
      std::ostringstream mix_dat, score_dat;
      std::size_t max_stage = 1;
      for (const auto& m : ws.methods) {
        const auto sm = detail::stage_means(s, m.method, ws.target_weight);
        const bool has_mix = !sm.mixture.empty() && !sm.mixture[0].empty() &&
                             (domain_names.empty() || sm.mixture[0].size() == domain_names.size());
        bool has_scores = false;
        for (std::size_t i = 0; i < sm.source_avg.size(); ++i)
          has_scores = has_scores || std::isfinite(sm.source_avg[i]) || std::isfinite(sm.target_avg[i]);
        max_stage = std::max(max_stage, sm.mixture.size());
        if (has_mix) {
          mix_methods.push_back(m.method);
          mix_dat << "# " << m.method << ": stage, then cumulative shares 0, d1, d1+d2, ...\n";
          for (std::size_t i = 0; i < sm.mixture.size(); ++i) {
            if (sm.mixture[i].empty()) continue;
            double cum = 0;
            mix_dat << (i + 1) << " 0";
            for (double v : sm.mixture[i]) mix_dat << " " << dat_num(cum += v);
            mix_dat << "\n";
          }
          mix_dat << "\n\n";
        }
        if (has_scores) {
          score_methods.push_back(m.method);
          score_dat << "# " << m.method << ": stage source_avg target_avg\n";
          for (std::size_t i = 0; i < sm.source_avg.size(); ++i)
            score_dat << (i + 1) << " " << dat_num(sm.source_avg[i]) << " " << dat_num(sm.target_avg[i]) << "\n";
          score_dat << "\n\n";
        }
      }
      const std::string title = s.name + ", target weight " + detail::fmt("%g", ws.target_weight);
      if (!mix_methods.empty()) {
        const std::size_t k = mix_methods.size(), cols = std::min<std::size_t>(4, k), rows = (k + cols - 1) / cols;
        std::size_t ndom = domain_names.size();
        if (ndom == 0) {
          const auto sm = detail::stage_means(s, mix_methods[0], ws.target_weight);
          ndom = sm.mixture[0].size();
          for (std::size_t d = 0; d < ndom; ++d) domain_names.push_back("d" + std::to_string(d));
        }
        const std::string stem = sname + "_" + wt + "_mixture";
        std::ostringstream g;
        g << detail::script_head(stem, static_cast<int>(360 * cols), static_cast<int>(280 * rows + 40),
                                 "mixture over stages per method (stacked areas, mean over seeds)")
          << "  domains = \"" << detail::words(domain_names) << "\"\n"
          << "  methods = \"" << detail::words(mix_methods) << "\"\n"
          // gnuplot's default cycle has 8 colours: a K-D space plus the target needs more.
          << "  colors = \"#9400d3 #009e73 #56b4e9 #e69f00 #f0e442 #0072b2 #e51e10 #303030 #a0a0a0 #a0522d "
             "#ff69b4 #228b22 #1e90ff #c8a000 #8b0000 #00ced1 #556b2f #ff8c00 #4b0082 #7fffd4\"\n"
          << "  set multiplot layout " << rows << "," << cols << " title \"mixture over stages: " << title
          << "\" margins 0.05,0.98,0.08,0.86 spacing 0.06,0.12\n"
          << "  set yrange [0:1]\n  set xrange [1:" << std::max<std::size_t>(2, max_stage) << "]\n"
          << "  set xlabel \"stage\"\n  set xtics 1\n  set style fill solid 0.8 noborder\n"
          << "  do for [m=1:" << k << "] {\n"
          << "    set title word(methods, m)\n"
          << "    if (m == 1) { set key at screen 0.5, screen 0.93 center horizontal maxrows 1 } else { unset key }\n"
          << "    plot for [d=1:" << ndom << "] \"" << stem << ".dat\" index (m-1) using 1:(column(d+1)):(column(d+2)) "
          << "with filledcurves lc rgb word(colors, (d - 1) % 20 + 1) title word(domains, d)\n"
          << "  }\n  unset multiplot\n"
          << detail::script_tail();
        emit(stem, mix_dat.str(), g.str());
      }
      if (!score_methods.empty()) {
        const std::string stem = sname + "_" + wt + "_scores";
        std::ostringstream g;
        g << detail::script_head(stem, 1100, 420, "source and target scores over stages per method (mean over seeds)")
          << "  methods = \"" << detail::words(score_methods) << "\"\n"
          << "  set multiplot layout 1,2 title \"scores over stages: " << title << "\"\n"
          << "  set xlabel \"stage\"\n  set xtics 1\n  set key outside right\n"
          << "  do for [c=2:3] {\n"
          << "    set title (c == 2 ? \"source avg\" : \"target avg\")\n"
          << "    if (c == 2) { unset key } else { set key outside right }\n"
          << "    plot for [m=1:" << score_methods.size() << "] \"" << stem
          << ".dat\" index (m-1) using 1:c with linespoints dashtype int(m > 8 ? 2 : 1) title word(methods, m)\n"
          << "  }\n  unset multiplot\n"
          << detail::script_tail();
        emit(stem, score_dat.str(), g.str());
      }
    }

    // Avg +- sd per method, one series per weight (x = method index, shifted a little per weight).
    if (!sums.empty()) {
      std::vector<std::string> methods = ordered_methods(s);
      std::ostringstream dat;
      std::vector<std::string> wlabels;
      for (const auto& ws : sums) {
        wlabels.push_back(detail::fmt("%g", ws.target_weight));
        dat << "# target weight " << wlabels.back() << ": method_index avg_mean avg_sd\n";
        for (std::size_t i = 0; i < methods.size(); ++i)
          if (const MethodStats* m = ws.find(methods[i]))
            dat << i << " " << dat_num(m->avg_mean) << " " << dat_num(std::isfinite(m->avg_sd) ? m->avg_sd : 0.0) << "\n";
        dat << "\n\n";
      }
      const std::string stem = sname + "_avg";
      std::ostringstream g, xt;
      for (std::size_t i = 0; i < methods.size(); ++i) xt << (i ? ", " : "") << "\"" << methods[i] << "\" " << i;
      const std::size_t nw = sums.size();
      g << detail::script_head(stem, static_cast<int>(std::max<std::size_t>(640, 60 * methods.size() + 200)), 480,
                               "Avg over the benchmark suite per method, mean +- sd over seeds, per target weight")
        << "  weights = \"" << detail::words(wlabels) << "\"\n"
        << "  set title \"Avg ± sd over seeds: " << s.name << "\"\n"
        << "  set xtics (" << xt.str() << ") rotate by 45 right\n"
        << "  set xrange [-0.6:" << methods.size() - 0.4 << "]\n  set ylabel \"Avg\"\n  set grid ytics\n"
        << "  set key outside right\n"
        << "  plot for [i=1:" << nw << "] \"" << stem << ".dat\" index (i-1) using ($1 + (i - " << (nw + 1) / 2.0
        << ") * 0.15):2:3 with yerrorbars pointtype 7 title sprintf(\"w=%s\", word(weights, i))\n"
        << detail::script_tail();
      emit(stem, dat.str(), g.str());
    }
  }

  if (!opt.run_gnuplot) {
    out.note = "plots: wrote " + std::to_string(out.scripts.size()) + " gnuplot scripts (not run)";
    return out;
  }
  std::optional<fs::path> gp;
  if (opt.gnuplot.empty()) gp = find_gnuplot();
  else if (fs::exists(opt.gnuplot)) gp = opt.gnuplot;
  if (!gp) {
    out.note = "gnuplot not found: wrote scripts only (" + std::to_string(out.scripts.size()) +
               " .gp files in " + dir.string() + "; install gnuplot-nox and run them there)";
    return out;
  }
  out.gnuplot_found = true;
  const std::string gq = detail::shell_quote(gp->string());
  // Debian's gnuplot-nox has cairo; a build without it still has the libgd `png` terminal.
  out.png_terminal = std::system((gq + " -e 'set terminal pngcairo' >/dev/null 2>&1").c_str()) == 0 ? "pngcairo" : "png";
  for (const auto& stem : stems) {
    const std::string cmd = "cd " + detail::shell_quote(dir.string()) + " && " + gq + " -e \"pngterm='" +
                            out.png_terminal + "'\" " + detail::shell_quote(stem + ".gp") + " > " +
                            detail::shell_quote(stem + ".log") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    const fs::path png = dir / (stem + ".png"), svg = dir / (stem + ".svg");
    if (rc == 0 && fs::exists(png) && fs::exists(svg)) {
      out.images.push_back(png), out.images.push_back(svg);
      fs::remove(dir / (stem + ".log"), ec);
    } else {
      std::string log;
      try {
        log = io::read_file(dir / (stem + ".log"));
      } catch (const Error&) {
      }
      if (log.size() > 400) log = log.substr(log.size() - 400);
      out.failures.push_back(stem + ".gp (exit " + std::to_string(rc) + "): " + log);
    }
  }
  out.note = "plots: " + std::to_string(out.images.size()) + " images from " + std::to_string(out.scripts.size()) +
             " gnuplot scripts (" + out.png_terminal + ", svg)" +
             (out.failures.empty() ? "" : "; " + std::to_string(out.failures.size()) + " scripts failed");
  return out;
}

}  // namespace dma::report
