// dma/serve/protocol.hpp: the agent server's JSON-lines protocol as a pure state machine
// (no I/O): Session::handle(line) parses one request line, validates it completely, updates
// the run's History only when the request is valid, and returns one reply line. Requests:
// hello (alias domains), feedback, reset; replies: mixture, done, ok, error. Driven by
// examples/serve_agent.cpp over stdin/stdout; spec in docs/SERVING.md. Tested (unit, fuzz of
// malformed lines, flat memory over 10^5 requests) in tests/unit/serve_protocol.cpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/agent/incremental.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/types.hpp"
#include "dma/space/simplex.hpp"

namespace dma::serve {

inline constexpr int kProtocolVersion = 1;

// Bounds on what one request may ask for: requests beyond them get an error reply.
struct Limits {
  std::size_t max_line_bytes = 1 << 20;  // longer lines are refused unparsed
  std::size_t max_domains = 4096;
  std::size_t max_probes = 4096;
  std::size_t max_stages = 100000;
  std::size_t max_name_bytes = 256;
  std::size_t default_stages = 10;       // when hello gives no "stages"
};

// The decision function: the mixture for stage h.t()+1. Usually a trained agent's act().
using Policy = std::function<Mixture(const History&)>;

class Session {
 public:
  explicit Session(Policy policy, Limits limits = {}) : m_policy(std::move(policy)), m_limits(limits) {
    if (!m_policy) fail("serve session: no policy given");
  }
  explicit Session(std::shared_ptr<const agent::Agent> a, Limits limits = {})
      : Session(agent_policy(std::move(a)), limits) {}

  static Policy agent_policy(std::shared_ptr<const agent::Agent> a) {
    if (!a) fail("serve session: no agent given");
    // Incremental: each feedback encodes one new stage token (agent/incremental.hpp).
    auto actor = std::make_shared<agent::IncrementalActor>(std::move(a));
    return [actor](const History& h) { return actor->act(h); };
  }

  // One request line in, one reply line out (no trailing newline). Never throws for bad input;
  // a failed request leaves the session as it was.
  std::string handle(std::string_view line) {
    ++m_requests;
    if (line.size() > m_limits.max_line_bytes)
      return error("request line of " + std::to_string(line.size()) + " bytes exceeds the limit of " +
                   std::to_string(m_limits.max_line_bytes));
    Json req = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (req.is_discarded()) return error("malformed JSON");
    return handle_json(req).dump();
  }

  Json handle_json(const Json& req) {
    try {
      if (!req.is_object()) fail("a request must be a JSON object");
      const auto it = req.find("type");
      if (it == req.end() || !it->is_string())
        fail("field 'type': missing or not a string (expected hello, domains, feedback or reset)");
      const std::string& type = it->get_ref<const std::string&>();
      if (type == "hello" || type == "domains") return on_hello(req);
      if (type == "feedback") return on_feedback(req);
      if (type == "reset") return on_reset(req);
      fail("field 'type': unknown request type '", clip(type), "' (expected hello, domains, feedback or reset)");
    } catch (const Error& e) {
      return error_json(e.what());
    } catch (const std::exception& e) {  // e.g. a JSON type error we did not anticipate
      return error_json(std::string("bad request: ") + e.what());
    }
  }

  [[nodiscard]] bool active() const noexcept { return m_active; }
  [[nodiscard]] const History& history() const noexcept { return m_history; }
  [[nodiscard]] std::size_t requests() const noexcept { return m_requests; }
  [[nodiscard]] std::size_t errors() const noexcept { return m_errors; }
  [[nodiscard]] const Limits& limits() const noexcept { return m_limits; }

 private:
  // ---- requests ------------------------------------------------------------------------------
  Json on_hello(const Json& req) {
    check_keys(req, {"type", "domains", "loss", "target_weight", "stages", "probes", "scores", "version"});
    if (req.contains("version")) {
      const Json& v = req["version"];
      if (!v.is_number_integer() || v.get<long long>() != kProtocolVersion)
        fail("field 'version': this server speaks protocol version ", kProtocolVersion);
    }
    History h;
    const Json& doms = req.contains("domains") ? req["domains"] : Json();
    if (!doms.is_array() || doms.empty()) fail("field 'domains': expected a non-empty array of {name, field}");
    if (doms.size() > m_limits.max_domains)
      fail("field 'domains': ", doms.size(), " domains exceeds the limit of ", m_limits.max_domains);
    std::set<std::string> names;
    for (std::size_t i = 0; i < doms.size(); ++i) {
      const Json& d = doms[i];
      const std::string where = "field 'domains[" + std::to_string(i) + "]'";
      if (!d.is_object()) fail(where, ": expected an object {name, field}");
      check_keys(d, {"name", "field"}, where);
      DomainInfo info;
      info.name = get_name(d, "name", where);
      info.field = get_field(d, where);
      if (!names.insert(info.name).second) fail(where, ": duplicate domain name '", info.name, "'");
      h.spec.domains.push_back(std::move(info));
    }
    const std::size_t D = h.spec.domains.size();
    h.spec.target_weight = 0.5;
    if (req.contains("target_weight")) {
      h.spec.target_weight = get_number(req["target_weight"], "field 'target_weight'");
      if (h.spec.target_weight < 0 || h.spec.target_weight > 1)
        fail("field 'target_weight': expected a number in [0, 1], got ", h.spec.target_weight);
    }
    h.spec.stages = m_limits.default_stages;
    if (req.contains("stages")) {
      const Json& s = req["stages"];
      if (!s.is_number_integer() || s.get<long long>() < 1 ||
          static_cast<unsigned long long>(s.get<long long>()) > m_limits.max_stages)
        fail("field 'stages': expected an integer in [1, ", m_limits.max_stages, "]");
      h.spec.stages = static_cast<std::size_t>(s.get<long long>());
    }
    if (!req.contains("loss")) fail("field 'loss': missing (the base model's held-out loss per domain)");
    h.initial.loss = get_vector(req["loss"], D, "loss");
    std::vector<Field> probe_field;
    std::vector<std::string> probe_name;
    if (req.contains("probes")) {
      const Json& p = req["probes"];
      if (!p.is_array()) fail("field 'probes': expected an array of {name, field}");
      if (p.size() > m_limits.max_probes)
        fail("field 'probes': ", p.size(), " probes exceeds the limit of ", m_limits.max_probes);
      for (std::size_t k = 0; k < p.size(); ++k) {
        const std::string where = "field 'probes[" + std::to_string(k) + "]'";
        if (!p[k].is_object()) fail(where, ": expected an object {name, field}");
        check_keys(p[k], {"name", "field"}, where);
        probe_name.push_back(get_name(p[k], "name", where));
        probe_field.push_back(get_field(p[k], where));
      }
    }
    h.initial.score_field = probe_field;
    h.initial.score_name = probe_name;
    if (!probe_field.empty()) {
      if (!req.contains("scores")) fail("field 'scores': missing (the base model's score per probe)");
      h.initial.score = get_vector(req["scores"], probe_field.size(), "scores");
    } else if (req.contains("scores")) {
      fail("field 'scores': given without 'probes' (declare the probes' names and fields first)");
    }
    const Mixture m = decide(h);
    m_history = std::move(h);
    m_active = true;
    m_done = false;
    m_last = m;
    return mixture_reply();
  }

  Json on_feedback(const Json& req) {
    check_keys(req, {"type", "loss", "scores", "mixture", "tokens"});
    if (!m_active) fail("feedback before hello: send {\"type\":\"hello\", \"domains\": [...], \"loss\": [...]} first");
    if (m_done)
      fail("the run is complete (", m_history.spec.stages, " stages); send reset or hello to start another");
    const std::size_t D = m_history.spec.num_domains();
    Step st;
    if (!req.contains("loss")) fail("field 'loss': missing (held-out loss per domain after the stage)");
    st.feedback.loss = get_vector(req["loss"], D, "loss");
    st.feedback.score_field = m_history.initial.score_field;
    st.feedback.score_name = m_history.initial.score_name;
    const std::size_t P = m_history.initial.score_field.size();
    if (P > 0) {
      if (!req.contains("scores")) fail("field 'scores': missing (", P, " probe scores declared in hello)");
      st.feedback.score = get_vector(req["scores"], P, "scores");
    } else if (req.contains("scores")) {
      fail("field 'scores': given, but hello declared no probes");
    }
    st.mixture = m_last;
    if (req.contains("mixture")) {
      // The mixture the trainer really used for the stage (if it deviated from ours).
      st.mixture = get_vector(req["mixture"], D, "mixture");
      space::validate_mixture(st.mixture, D, "mixture");
      st.mixture = space::normalize(st.mixture);
    }
    const double prev_tokens = m_history.last().tokens;
    st.feedback.tokens = prev_tokens;
    if (req.contains("tokens")) {
      st.feedback.tokens = get_number(req["tokens"], "field 'tokens'");
      if (st.feedback.tokens < prev_tokens) fail("field 'tokens': cumulative tokens went down");
    }
    // A throwing policy must leave the session unchanged: the step is taken back.
    m_history.steps.push_back(std::move(st));
    if (m_history.t() >= m_history.spec.stages) {
      m_done = true;
      return Json{{"type", "done"}, {"stage", m_history.t()}};
    }
    try {
      m_last = decide(m_history);
    } catch (...) {
      m_history.steps.pop_back();
      throw;
    }
    return mixture_reply();
  }

  Json on_reset(const Json& req) {
    check_keys(req, {"type"});
    m_history = History{};
    m_active = false;
    m_done = false;
    m_last.clear();
    return Json{{"type", "ok"}, {"reset", true}};
  }

  // ---- helpers ---------------------------------------------------------------------------------
  Mixture decide(const History& h) const {
    Mixture m = m_policy(h);
    space::validate_mixture(m, h.spec.num_domains(), "the agent's mixture");
    return m;
  }
  Json mixture_reply() const {
    return Json{{"type", "mixture"}, {"stage", m_history.t() + 1}, {"mixture", m_last}};
  }
  std::string error(const std::string& msg) { return error_json(msg).dump(); }
  Json error_json(const std::string& msg) {
    ++m_errors;
    return Json{{"type", "error"}, {"error", msg}};
  }
  static std::string clip(const std::string& s) { return s.size() > 64 ? s.substr(0, 64) + "..." : s; }
  static void check_keys(const Json& o, std::initializer_list<const char*> known, const std::string& where = "request") {
    for (auto it = o.begin(); it != o.end(); ++it) {
      bool ok = false;
      for (const char* k : known) ok = ok || it.key() == k;
      if (!ok) fail(where, ": unknown field '", clip(it.key()), "'");
    }
  }
  std::string get_name(const Json& o, const char* key, const std::string& where) const {
    if (!o.contains(key) || !o[key].is_string()) fail(where, ": field '", key, "' must be a string");
    const auto& s = o[key].get_ref<const std::string&>();
    if (s.empty() || s.size() > m_limits.max_name_bytes)
      fail(where, ": field '", key, "' must have 1..", m_limits.max_name_bytes, " bytes");
    return s;
  }
  static Field get_field(const Json& o, const std::string& where) {
    if (!o.contains("field") || !o["field"].is_string())
      fail(where, ": field 'field' must be \"source\" or \"target\"");
    const auto& s = o["field"].get_ref<const std::string&>();
    if (s == "source") return Field::Source;
    if (s == "target") return Field::Target;
    fail(where, ": field 'field' must be \"source\" or \"target\", got '", clip(s), "'");
  }
  static double get_number(const Json& v, const std::string& where) {
    if (!v.is_number()) fail(where, ": expected a number, got ", v.type_name());
    const double x = v.get<double>();
    if (!std::isfinite(x)) fail(where, ": expected a finite number");
    return x;
  }
  // `name` is the request field ("loss"); errors name the element ("field 'loss[2]'").
  static std::vector<double> get_vector(const Json& v, std::size_t n, const std::string& name) {
    const std::string where = "field '" + name + "'";
    if (!v.is_array()) fail(where, ": expected an array of ", n, " numbers, got ", v.type_name());
    if (v.size() != n) fail(where, ": expected ", n, " numbers, got ", v.size());
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = get_number(v[i], "field '" + name + "[" + std::to_string(i) + "]'");
    return out;
  }

  Policy m_policy;
  Limits m_limits;
  History m_history;
  Mixture m_last;
  bool m_active = false, m_done = false;
  std::size_t m_requests = 0, m_errors = 0;
};

}  // namespace dma::serve
