// dma/report/results.hpp: the in-memory form of results.json (schema "dma.results/1", documented
// field by field in docs/RESULTS_SCHEMA.md) and its loader. The experiment driver writes the file;
// load_results() reads it back, checks every field it uses and throws dma::Error naming the file,
// the field path (settings[1].runs[4].avg) and what was expected. Optional fields may be absent
// (numbers become NaN, lists empty) and unknown methods are kept as they are.
// Last step of the data flow: results.json -> Results -> summary.hpp -> markdown.hpp / plots.hpp.
// Tested in tests/unit/report_results.cpp (hand-made fixtures, bad files).
// About 400 lines: every field the report reads is checked here, with its path in the error.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"

namespace dma::report {

inline constexpr const char* kResultsSchema = "dma.results/1";
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A domain of the mixture space or a benchmark of the suite, with the field it belongs to.
struct NamedField {
  std::string name;
  std::string field;  // "source" or "target" ("" when the file does not say)
};

// One stage of a run, measured after training that stage.
struct StageDetail {
  std::vector<double> mixture;  // one share per domain of the setting, sums to 1
  double source_avg = kNaN, target_avg = kNaN;
};

// One deployment run: a method at one seed and one target weight.
struct Run {
  std::string method;
  std::int64_t seed = 0;
  double target_weight = 0;
  std::map<std::string, double> scores;  // final benchmark scores on the common scale
  double avg = kNaN, var = kNaN;         // field-balanced mean / variance over the suite (required: avg)
  double source_avg = kNaN, source_worst = kNaN, target_avg = kNaN;
  double objective = kNaN;               // the balanced objective at target_weight (required)
  std::map<std::string, double> tokens;  // CPT tokens per field
  double extra_tokens = 0;               // search / proxy cost beyond the run itself
  double wall_seconds = kNaN;
  std::vector<StageDetail> stages;       // "stages_detail"; empty when absent
};

// The driver's own per-method summary (optional; the report recomputes it and compares).
struct SummaryEntry {
  std::string method;
  double target_weight = 0;
  double seeds = kNaN, avg_mean = kNaN, avg_sd = kNaN, var_mean = kNaN;
  double objective_mean = kNaN, objective_sd = kNaN, rank = kNaN, regret = kNaN, extra_tokens = kNaN;
};

// "hindsight_best": the best static mixture found by grid search on the setting itself.
struct HindsightBest {
  double target_weight = 0;
  std::vector<double> mixture;
  double objective = kNaN;
};

struct Setting {
  std::string name, title, target_field, kind;  // kind: optional, see setting_kind() in summary.hpp
  std::vector<NamedField> domains, benchmarks;
  std::int64_t stages = 0;
  std::vector<Run> runs;
  std::vector<SummaryEntry> summary;
  std::vector<HindsightBest> hindsight_best;
};

struct ClaimRecord {
  std::string claim;
  bool held = false;
  std::string detail;
};

struct Results {
  std::string source;  // the file it came from (for messages)
  std::string schema, preset, commit, machine, started_utc, score_scale;
  double wall_seconds = kNaN;
  std::vector<double> target_weights;  // as listed, or (when absent) the weights the runs use
  Json cost = Json::object();          // free-form cost block, printed as it is
  std::vector<Setting> settings;
  std::vector<ClaimRecord> claims;     // the driver's verdicts (the report computes its own)
};

namespace detail {

// A JSON node together with where it is, so that every error names the file and the field.
class At {
 public:
  At(const Json& j, const std::string& file, std::string path)
      : m_j(&j), m_file(&file), m_path(std::move(path)) {}

  [[nodiscard]] const Json& json() const noexcept { return *m_j; }
  [[nodiscard]] const std::string& path() const noexcept { return m_path; }

  [[noreturn]] void bad(const std::string& expected) const {
    fail(*m_file, ": field '", m_path, "': expected ", expected, " (found ",
         m_j->is_null() ? std::string("null") : std::string(m_j->type_name()), ")");
  }
  [[noreturn]] void bad_value(const std::string& what) const {
    fail(*m_file, ": field '", m_path, "': ", what);
  }

  [[nodiscard]] std::optional<At> opt(const char* key) const {
    if (!m_j->is_object()) bad("an object");
    auto it = m_j->find(key);
    if (it == m_j->end() || it->is_null()) return std::nullopt;
    return At(*it, *m_file, join(key));
  }
  [[nodiscard]] At req(const char* key) const {
    if (!m_j->is_object()) bad("an object");
    auto it = m_j->find(key);
    if (it == m_j->end()) fail(*m_file, ": field '", join(key), "' is missing (required)");
    return At(*it, *m_file, join(key));
  }
  [[nodiscard]] At operator[](std::size_t i) const {
    return At((*m_j)[i], *m_file, m_path + "[" + std::to_string(i) + "]");
  }
  [[nodiscard]] At member(const std::string& key) const {
    return At((*m_j)[key], *m_file, m_path + "." + key);
  }

  [[nodiscard]] std::size_t array_size() const {
    if (!m_j->is_array()) bad("an array");
    return m_j->size();
  }
  [[nodiscard]] const Json& object() const {
    if (!m_j->is_object()) bad("an object");
    return *m_j;
  }
  [[nodiscard]] double number() const {
    if (!m_j->is_number()) bad("a number");
    const double v = m_j->get<double>();
    if (!std::isfinite(v)) bad("a finite number");
    return v;
  }
  [[nodiscard]] std::int64_t integer() const {
    if (!m_j->is_number_integer()) bad("an integer");
    return m_j->get<std::int64_t>();
  }
  [[nodiscard]] std::string string() const {
    if (!m_j->is_string()) bad("a string");
    return m_j->get<std::string>();
  }
  [[nodiscard]] bool boolean() const {
    if (!m_j->is_boolean()) bad("true or false");
    return m_j->get<bool>();
  }

  // Optional members: absent or null give the fallback.
  [[nodiscard]] double num_or(const char* key, double fallback) const {
    auto a = opt(key);
    return a ? a->number() : fallback;
  }
  [[nodiscard]] std::string str_or(const char* key, std::string fallback) const {
    auto a = opt(key);
    return a ? a->string() : fallback;
  }

 private:
  [[nodiscard]] std::string join(const char* key) const {
    return m_path.empty() ? std::string(key) : m_path + "." + key;
  }
  const Json* m_j;
  const std::string* m_file;
  std::string m_path;
};

inline std::vector<NamedField> parse_named_fields(const At& a) {
  std::vector<NamedField> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < a.array_size(); ++i) {
    const At e = a[i];
    NamedField f;
    if (e.json().is_string()) {
      f.name = e.string();
    } else {
      f.name = e.req("name").string();
      f.field = e.str_or("field", "");
      if (!f.field.empty() && f.field != "source" && f.field != "target")
        e.req("field").bad_value("expected \"source\" or \"target\", got \"" + f.field + "\"");
    }
    if (f.name.empty()) e.bad_value("expected a non-empty name");
    if (!seen.insert(f.name).second) e.bad_value("duplicate name \"" + f.name + "\"");
    out.push_back(std::move(f));
  }
  return out;
}

// A mixture must have one share per domain, each in [0, 1], summing to 1 (to 1e-3: files
// round their numbers). An empty list means "not recorded" and is kept empty.
inline std::vector<double> parse_mixture(const At& a, std::size_t domains) {
  std::vector<double> m(a.array_size());
  double sum = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    m[i] = a[i].number();
    if (m[i] < -1e-9 || m[i] > 1 + 1e-9) a[i].bad_value("expected a share in [0, 1], got " + std::to_string(m[i]));
    sum += m[i];
  }
  if (m.empty()) return m;  // [] = not recorded
  if (domains > 0 && m.size() != domains)
    a.bad_value("expected " + std::to_string(domains) + " shares (one per domain), got " + std::to_string(m.size()));
  if (!m.empty() && std::abs(sum - 1.0) > 1e-3) a.bad_value("shares sum to " + std::to_string(sum) + ", expected 1");
  return m;
}

inline std::map<std::string, double> parse_number_map(const At& a) {
  std::map<std::string, double> out;
  for (const auto& [k, v] : a.object().items()) {
    if (v.is_null()) continue;  // a score that could not be measured
    out[k] = a.member(k).number();
  }
  return out;
}

inline double check_weight(const At& a) {
  const double w = a.number();
  if (w < 0 || w > 1) a.bad_value("expected a target weight in [0, 1], got " + std::to_string(w));
  return w;
}

inline Run parse_run(const At& a, const Setting& s) {
  Run r;
  r.method = a.req("method").string();
  if (r.method.empty()) a.req("method").bad_value("expected a non-empty method name");
  r.seed = a.req("seed").integer();
  r.target_weight = check_weight(a.req("target_weight"));
  const At scores = a.req("scores");
  r.scores = parse_number_map(scores);
  for (const auto& [name, v] : r.scores) {
    bool known = s.benchmarks.empty();
    for (const auto& b : s.benchmarks) known = known || b.name == name;
    if (!known) scores.member(name).bad_value("benchmark \"" + name + "\" is not in the setting's benchmarks");
  }
  r.avg = a.req("avg").number();
  r.objective = a.req("objective").number();
  r.var = a.num_or("var", kNaN);
  r.source_avg = a.num_or("source_avg", kNaN);
  r.source_worst = a.num_or("source_worst", kNaN);
  r.target_avg = a.num_or("target_avg", kNaN);
  r.extra_tokens = a.num_or("extra_tokens", 0.0);
  if (r.extra_tokens < 0) a.req("extra_tokens").bad_value("expected a count >= 0");
  r.wall_seconds = a.num_or("wall_seconds", kNaN);
  if (auto t = a.opt("tokens")) r.tokens = parse_number_map(*t);
  if (auto sd = a.opt("stages_detail")) {
    for (std::size_t i = 0; i < sd->array_size(); ++i) {
      const At st = (*sd)[i];
      StageDetail d;
      if (auto m = st.opt("mixture")) d.mixture = parse_mixture(*m, s.domains.size());
      d.source_avg = st.num_or("source_avg", kNaN);
      d.target_avg = st.num_or("target_avg", kNaN);
      r.stages.push_back(std::move(d));
    }
  }
  return r;
}

// "target_weight_0.5" -> 0.5
inline double weight_from_key(const At& a, const std::string& key) {
  const std::string prefix = "target_weight_";
  if (key.rfind(prefix, 0) != 0) a.bad_value("key \"" + key + "\": expected \"target_weight_<w>\"");
  try {
    std::size_t pos = 0;
    const std::string rest = key.substr(prefix.size());
    const double w = std::stod(rest, &pos);
    if (pos != rest.size() || w < 0 || w > 1) throw std::invalid_argument(rest);
    return w;
  } catch (const std::exception&) {
    a.bad_value("key \"" + key + "\": expected \"target_weight_<w>\" with w in [0, 1]");
  }
}

inline Setting parse_setting(const At& a) {
  Setting s;
  s.name = a.req("name").string();
  if (s.name.empty()) a.req("name").bad_value("expected a non-empty setting name");
  s.title = a.str_or("title", s.name);
  s.target_field = a.str_or("target_field", "");
  s.kind = a.str_or("kind", "");
  if (auto d = a.opt("domains")) s.domains = parse_named_fields(*d);
  s.benchmarks = parse_named_fields(a.req("benchmarks"));
  if (auto st = a.opt("stages")) {
    s.stages = st->integer();
    if (s.stages < 0) st->bad_value("expected a stage count >= 0");
  }
  const At runs = a.req("runs");
  std::set<std::tuple<std::string, std::int64_t, double>> seen;
  for (std::size_t i = 0; i < runs.array_size(); ++i) {
    Run r = parse_run(runs[i], s);
    if (!seen.emplace(r.method, r.seed, r.target_weight).second)
      runs[i].bad_value("a second run of method \"" + r.method + "\" with seed " + std::to_string(r.seed) +
                        " and target_weight " + std::to_string(r.target_weight));
    s.runs.push_back(std::move(r));
  }
  if (auto sm = a.opt("summary")) {
    for (std::size_t i = 0; i < sm->array_size(); ++i) {
      const At e = (*sm)[i];
      SummaryEntry x;
      x.method = e.req("method").string();
      x.target_weight = check_weight(e.req("target_weight"));
      x.seeds = e.num_or("seeds", kNaN);
      x.avg_mean = e.num_or("avg_mean", kNaN);
      x.avg_sd = e.num_or("avg_sd", kNaN);
      x.var_mean = e.num_or("var_mean", kNaN);
      x.objective_mean = e.num_or("objective_mean", kNaN);
      x.objective_sd = e.num_or("objective_sd", kNaN);
      x.rank = e.num_or("rank", kNaN);
      x.regret = e.num_or("regret", kNaN);
      x.extra_tokens = e.num_or("extra_tokens", kNaN);
      s.summary.push_back(std::move(x));
    }
  }
  if (auto hb = a.opt("hindsight_best")) {
    for (const auto& [key, v] : hb->object().items()) {
      (void)v;
      const At e = hb->member(key);
      HindsightBest h;
      h.target_weight = weight_from_key(e, key);
      if (auto m = e.opt("mixture")) h.mixture = parse_mixture(*m, s.domains.size());
      h.objective = e.req("objective").number();
      s.hindsight_best.push_back(std::move(h));
    }
  }
  return s;
}

}  // namespace detail

// Checks and converts a parsed results.json; `source` names it in error messages.
inline Results parse_results(const Json& j, const std::string& source) {
  Results r;
  r.source = source;
  const detail::At root(j, r.source, "");
  if (!j.is_object()) root.bad("a JSON object at the top level");
  r.schema = root.req("schema").string();
  if (r.schema != kResultsSchema)
    root.req("schema").bad_value("expected \"" + std::string(kResultsSchema) + "\", got \"" + r.schema + "\"");
  r.preset = root.str_or("preset", "");
  r.commit = root.str_or("commit", "");
  r.machine = root.str_or("machine", "");
  r.started_utc = root.str_or("started_utc", "");
  r.score_scale = root.str_or("score_scale", "");
  r.wall_seconds = root.num_or("wall_seconds", kNaN);
  if (auto tw = root.opt("target_weights"))
    for (std::size_t i = 0; i < tw->array_size(); ++i) r.target_weights.push_back(detail::check_weight((*tw)[i]));
  if (auto c = root.opt("cost")) r.cost = c->object();

  const detail::At settings = root.req("settings");
  std::set<std::string> names;
  for (std::size_t i = 0; i < settings.array_size(); ++i) {
    Setting s = detail::parse_setting(settings[i]);
    if (!names.insert(s.name).second) settings[i].bad_value("duplicate setting name \"" + s.name + "\"");
    r.settings.push_back(std::move(s));
  }

  // Every run's weight must be one the file declares (a typo would silently split a table).
  std::set<double> declared(r.target_weights.begin(), r.target_weights.end());
  const bool derive = r.target_weights.empty();
  for (std::size_t i = 0; i < r.settings.size(); ++i)
    for (std::size_t k = 0; k < r.settings[i].runs.size(); ++k) {
      const double w = r.settings[i].runs[k].target_weight;
      if (derive) {
        if (declared.insert(w).second) r.target_weights.push_back(w);
      } else if (!declared.count(w)) {
        settings[i].req("runs")[k].req("target_weight").bad_value(
            "weight " + std::to_string(w) + " is not one of the file's target_weights");
      }
    }

  if (auto cl = root.opt("claims")) {
    for (std::size_t i = 0; i < cl->array_size(); ++i) {
      const detail::At e = (*cl)[i];
      ClaimRecord c;
      c.claim = e.req("claim").string();
      c.held = e.req("held").boolean();
      c.detail = e.str_or("detail", "");
      r.claims.push_back(std::move(c));
    }
  }
  return r;
}

// Reads and checks a results.json file.
inline Results load_results(const std::filesystem::path& path) {
  return parse_results(load_json(path), path.string());
}

}  // namespace dma::report
