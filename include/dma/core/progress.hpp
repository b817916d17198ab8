// dma/core/progress.hpp: a progress line for long loops (done/total, rate, ETA) on stderr.
// Redraws at most every `interval` seconds; prints plain lines when stderr is not a terminal
// so that logs of long collection runs stay readable.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace dma {

class Progress {
 public:
  Progress(std::string label, std::size_t total, double interval_s = 1.0, bool enabled = true)
      : m_label(std::move(label)), m_total(total), m_interval(interval_s), m_enabled(enabled),
        m_tty(::isatty(2) != 0), m_start(clock::now()), m_last(m_start) {}

  void update(std::size_t done, const std::string& extra = {}) {
    m_done = done;
    const auto now = clock::now();
    if (!m_enabled) return;
    if (done < m_total && seconds(now - m_last) < m_interval) return;
    m_last = now;
    const double el = seconds(now - m_start);
    const double rate = el > 0 ? double(done) / el : 0.0;
    const double eta = rate > 0 ? double(m_total - std::min(done, m_total)) / rate : 0.0;
    std::fprintf(stderr, "%s%s %zu/%zu  %.2f/s  elapsed %s  ETA %s%s%s", m_tty ? "\r\033[K" : "",
                 m_label.c_str(), done, m_total, rate, format(el).c_str(), format(eta).c_str(),
                 extra.empty() ? "" : "  ", extra.c_str());
    if (!m_tty || done >= m_total) std::fputc('\n', stderr);
    std::fflush(stderr);
  }
  void tick(const std::string& extra = {}) { update(m_done + 1, extra); }
  [[nodiscard]] double elapsed() const { return seconds(clock::now() - m_start); }

  static std::string format(double s) {
    char buf[32];
    const long t = static_cast<long>(s + 0.5);
    if (t >= 3600)
      std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
      std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
    return buf;
  }

 private:
  using clock = std::chrono::steady_clock;
  static double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }
  std::string m_label;
  std::size_t m_total, m_done = 0;
  double m_interval;
  bool m_enabled, m_tty;
  clock::time_point m_start, m_last;
};

}  // namespace dma
