#include <catch2/catch.hpp>

#include <dma/agent/agent.hpp>
#include <dma/agent/incremental.hpp>
#include <dma/core/rng.hpp>
#include <dma/serve/line_reader.hpp>
#include <dma/serve/protocol.hpp>
#include <dma/space/simplex.hpp>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_serve_protocol {

namespace {

using dma::Json;

std::shared_ptr<const dma::agent::Agent> small_agent() {
  static const auto a = std::make_shared<const dma::agent::Agent>(dma::agent::AgentConfig{}, 7);
  return a;
}

const std::string kHello =
    R"({"type":"hello","domains":[{"name":"web","field":"source"},{"name":"code","field":"source"},)"
    R"({"name":"math","field":"target"}],"loss":[2.1,1.8,3.0],"target_weight":0.6,"stages":4,)"
    R"("probes":[{"name":"wiki","field":"source"},{"name":"gsm","field":"target"}],"scores":[-1.0,-2.0]})";
const std::string kFeedback = R"({"type":"feedback","loss":[2.2,1.9,2.7],"scores":[-1.1,-1.7]})";

Json reply(dma::serve::Session& s, const std::string& line) {
  const std::string out = s.handle(line);
  const Json j = Json::parse(out);  // every reply is one valid JSON object
  REQUIRE(j.is_object());
  return j;
}

bool valid_mixture(const Json& j, std::size_t D) {
  if (!j.contains("mixture") || !j["mixture"].is_array() || j["mixture"].size() != D) return false;
  double s = 0;
  for (const auto& x : j["mixture"]) {
    if (!(x.get<double>() >= 0)) return false;
    s += x.get<double>();
  }
  return std::abs(s - 1) < 1e-9;
}

long rss_pages() {
  std::ifstream f("/proc/self/statm");
  long size = 0, rss = 0;
  f >> size >> rss;
  return rss;
}

}  // namespace

TEST_CASE("serve protocol: a whole run, hello to done, then reset", "[serve][cpu]") {
  dma::serve::Session s(small_agent());
  Json r = reply(s, kHello);
  CHECK(r["type"] == "mixture");
  CHECK(r["stage"] == 1);
  CHECK(valid_mixture(r, 3));
  // The server's decision is the agent's own act() on the same history.
  dma::History h = s.history();
  CHECK(h.spec.target_weight == 0.6);
  CHECK(h.spec.stages == 4);
  CHECK(h.initial.score_name[1] == "gsm");
  const dma::Mixture want = small_agent()->act(h);
  for (std::size_t i = 0; i < 3; ++i) CHECK(r["mixture"][i].get<double>() == Approx(want[i]).margin(1e-12));
  for (int stage = 2; stage <= 4; ++stage) {
    r = reply(s, kFeedback);
    CHECK(r["type"] == "mixture");
    CHECK(r["stage"] == stage);
    CHECK(valid_mixture(r, 3));
  }
  r = reply(s, kFeedback);
  CHECK(r["type"] == "done");
  CHECK(r["stage"] == 4);
  r = reply(s, kFeedback);
  CHECK(r["type"] == "error");
  CHECK_THAT(r["error"].get<std::string>(), Catch::Contains("complete"));
  r = reply(s, R"({"type":"reset"})");
  CHECK(r["type"] == "ok");
  CHECK_FALSE(s.active());
  r = reply(s, kFeedback);
  CHECK(r["type"] == "error");
  CHECK_THAT(r["error"].get<std::string>(), Catch::Contains("before hello"));
  // "domains" is an alias of "hello"; the mixture the trainer really used may be reported.
  r = reply(s, R"({"type":"domains","domains":[{"name":"a","field":"source"},{"name":"b","field":"target"}],"loss":[1,2]})");
  CHECK(r["type"] == "mixture");
  CHECK(s.history().spec.stages == 10);  // the documented default
  r = reply(s, R"({"type":"feedback","loss":[1.1,1.8],"mixture":[0.25,0.75],"tokens":1000})");
  CHECK(r["stage"] == 2);
  CHECK(s.history().steps[0].mixture == dma::Mixture{0.25, 0.75});
  CHECK(s.history().steps[0].feedback.tokens == 1000);
}

TEST_CASE("serve protocol: malformed and inconsistent requests get an error and change nothing", "[serve][cpu]") {
  dma::serve::Session s(small_agent());
  REQUIRE(reply(s, kHello)["type"] == "mixture");
  const std::size_t t0 = s.history().t();
  const std::vector<std::pair<std::string, std::string>> bad{
      {"{\"type\":\"feedback\",", "malformed JSON"},
      {"NaN", "malformed JSON"},
      {R"({"type":"feedback","loss":[NaN,1,2]})", "malformed JSON"},
      {"[1,2,3]", "JSON object"},
      {R"({"loss":[1,2,3]})", "field 'type'"},
      {R"({"type":7})", "field 'type'"},
      {R"({"type":"launch"})", "unknown request type"},
      {R"({"type":"feedback","loss":[1,2]})", "expected 3 numbers, got 2"},
      {R"({"type":"feedback","loss":[1,2,"x"],"scores":[0,0]})", "loss[2]"},
      {R"({"type":"feedback","loss":[1,2,1e999],"scores":[0,0]})", "malformed JSON"},  // overflow: not a JSON double
      {R"({"type":"feedback","loss":[1,2,3]})", "field 'scores'"},
      {R"({"type":"feedback","loss":[1,2,3],"scores":[0,0],"mixture":[0.5,0.6,0]})", "sum"},
      {R"({"type":"feedback","loss":[1,2,3],"scores":[0,0],"mixture":[1.5,-0.5,0]})", "negative"},
      {R"({"type":"feedback","loss":[1,2,3],"scores":[0,0],"colour":1})", "unknown field 'colour'"},
      {R"({"type":"feedback","loss":[1,2,3],"scores":[0,0],"tokens":-5})", "tokens"},
      {R"({"type":"hello","domains":[],"loss":[]})", "non-empty"},
      {R"({"type":"hello","domains":[{"name":"a","field":"source"},{"name":"a","field":"target"}],"loss":[1,2]})", "duplicate"},
      {R"({"type":"hello","domains":[{"name":"a","field":"both"}],"loss":[1]})", "\"source\" or \"target\""},
      {R"({"type":"hello","domains":[{"name":"a","field":"source"}],"loss":[1],"target_weight":1.5})", "target_weight"},
      {R"({"type":"hello","domains":[{"name":"a","field":"source"}],"loss":[1],"stages":0})", "stages"},
      {R"({"type":"hello","domains":[{"name":"a","field":"source"}],"loss":[1],"scores":[1]})", "without 'probes'"},
      {R"({"type":"hello","domains":[{"name":"a","field":"source"}]})", "field 'loss': missing"},
      {R"({"type":"hello","domains":[{"name":"a","field":"source"}],"loss":[1],"version":2})", "version"},
      {R"({"type":"reset","now":true})", "unknown field"},
  };
  for (const auto& [line, want] : bad) {
    INFO(line);
    const Json r = reply(s, line);
    CHECK(r["type"] == "error");
    CHECK_THAT(r["error"].get<std::string>(), Catch::Contains(want));
    CHECK(s.active());
    CHECK(s.history().t() == t0);
    CHECK(s.history().spec.num_domains() == 3);
  }
  // Oversized lines are refused before parsing.
  dma::serve::Limits lim;
  lim.max_line_bytes = 64;
  dma::serve::Session small(small_agent(), lim);
  const Json r = reply(small, std::string(65, ' '));
  CHECK_THAT(r["error"].get<std::string>(), Catch::Contains("exceeds the limit of 64"));
  // Programmatic NaN (a JSON value built in C++) is rejected too.
  const Json jr = s.handle_json(Json{{"type", "feedback"}, {"loss", {1.0, std::nan(""), 2.0}}, {"scores", {0, 0}}});
  CHECK(jr["type"] == "error");
  // The session still serves.
  CHECK(reply(s, kFeedback)["type"] == "mixture");
  CHECK(s.errors() == bad.size() + 1);
}

TEST_CASE("serve line reader: bounded lines, CRLF, huge lines consumed without being kept", "[serve][cpu]") {
  std::istringstream in("abc\r\n" + std::string(10000, 'x') + "\nlast");
  std::string line;
  std::size_t len = 0;
  CHECK(dma::serve::read_line(in, line, 100, &len) == dma::serve::LineStatus::Ok);
  CHECK(line == "abc");
  CHECK(dma::serve::read_line(in, line, 100, &len) == dma::serve::LineStatus::TooLong);
  CHECK(len == 10000);
  CHECK(line.size() == 100);
  CHECK(dma::serve::read_line(in, line, 100, &len) == dma::serve::LineStatus::Ok);
  CHECK(line == "last");
  CHECK(dma::serve::read_line(in, line, 100, &len) == dma::serve::LineStatus::Eof);
}

TEST_CASE("serve protocol: fuzz of 10^4 random and mutated lines never breaks the session", "[serve][cpu]") {
  dma::serve::Session s(small_agent());
  dma::Rng rng(2026);
  const std::vector<std::string> seeds{kHello, kFeedback, R"({"type":"reset"})",
                                       R"({"type":"feedback","loss":[2.2,1.9,2.7],"scores":[-1.1,-1.7],"mixture":[0.2,0.3,0.5]})"};
  const std::string alphabet = "{}[]\",:0123456789.-+eE truefalsnul\\x";
  std::size_t counts[4] = {0, 0, 0, 0};  // mixture, done, ok, error
  for (int k = 0; k < 10000; ++k) {
    std::string line;
    const auto kind = rng.below(6);
    if (kind == 0) {  // random bytes (including NUL and invalid UTF-8)
      const auto n = rng.below(80);
      for (std::uint32_t i = 0; i < n; ++i) line.push_back(static_cast<char>(rng.below(256)));
    } else if (kind == 1) {  // random JSON-ish characters
      const auto n = rng.below(60);
      for (std::uint32_t i = 0; i < n; ++i) line.push_back(alphabet[rng.below(std::uint32_t(alphabet.size()))]);
    } else if (kind == 2) {  // a valid request, truncated
      line = seeds[rng.below(4)];
      line.resize(rng.below(std::uint32_t(line.size())));
    } else if (kind == 3) {  // a valid request with a few bytes flipped
      line = seeds[rng.below(4)];
      for (int m = 0; m < 3; ++m) line[rng.below(std::uint32_t(line.size()))] = alphabet[rng.below(std::uint32_t(alphabet.size()))];
    } else if (kind == 4) {  // deep nesting
      line = std::string(rng.below(5000), '[');
    } else {  // valid requests keep the session moving
      line = seeds[rng.below(4)];
    }
    const std::string out = s.handle(line);
    const Json r = Json::parse(out, nullptr, false);
    REQUIRE_FALSE(r.is_discarded());
    const std::string type = r.value("type", "");
    const int idx = type == "mixture" ? 0 : type == "done" ? 1 : type == "ok" ? 2 : type == "error" ? 3 : -1;
    REQUIRE(idx >= 0);
    ++counts[idx];
    if (type == "mixture") REQUIRE(valid_mixture(r, s.history().spec.num_domains()));
    if (type == "error") REQUIRE_FALSE(r["error"].get<std::string>().empty());
  }
  INFO("mixture " << counts[0] << ", done " << counts[1] << ", ok " << counts[2] << ", error " << counts[3]);
  CHECK(counts[0] > 500);
  CHECK(counts[3] > 5000);
  CHECK(s.requests() == 10000);
  // Still usable: a fresh run works end to end.
  REQUIRE(reply(s, R"({"type":"reset"})")["type"] == "ok");
  CHECK(reply(s, kHello)["type"] == "mixture");
  CHECK(reply(s, kFeedback)["stage"] == 2);
}

TEST_CASE("serve protocol: memory stays flat over 10^5 requests", "[serve][cpu]") {
  dma::serve::Session s(small_agent());
  const std::vector<std::string> cycle{kHello, kFeedback, "{bad json", kFeedback, R"({"type":"feedback","loss":[1]})",
                                       kFeedback, kFeedback, kFeedback, R"({"type":"reset"})", R"({"type":"nope"})"};
  auto run = [&](int n) {
    for (int k = 0; k < n; ++k) {
      const std::string out = s.handle(cycle[static_cast<std::size_t>(k) % cycle.size()]);
      if (out.empty()) FAIL("empty reply");
    }
  };
  run(10000);  // warm-up: allocator pools, first-use statics
  const long before = rss_pages();
  run(100000);
  const long after = rss_pages();
  const long page_kb = sysconf(_SC_PAGESIZE) / 1024;
  INFO("RSS before " << before * page_kb << " kB, after " << after * page_kb << " kB");
  CHECK((after - before) * page_kb < 1024);  // < 1 MiB growth over 10^5 requests
  CHECK(s.requests() == 110000);
}

// ---- the incremental actor the server decides with (one test program: CI builds fewer) ----
// The incremental, tape-free actor the server uses decides exactly as Agent::act.
namespace {

dma::History random_history(std::size_t D, std::size_t stages, dma::Rng& rng) {
  dma::History h;
  for (std::size_t i = 0; i < D; ++i) {
    dma::DomainInfo d;
    d.name = "d";  // (not "d" + to_string: GCC 12 warns -Wrestrict falsely on that)
    d.name += std::to_string(i);
    d.field = i % 3 == 1 ? dma::Field::Target : dma::Field::Source;
    h.spec.domains.push_back(d);
  }
  h.spec.stages = stages;
  h.spec.target_weight = rng.uniform();
  for (std::size_t i = 0; i < D; ++i) h.initial.loss.push_back(1.5 + rng.uniform());
  h.initial.score = {-1.0, -2.0};
  h.initial.score_field = {dma::Field::Source, dma::Field::Target};
  return h;
}

void add_stage(dma::History& h, const dma::Mixture& m, dma::Rng& rng) {
  dma::Step st;
  st.mixture = m;
  st.feedback = h.last();
  for (double& l : st.feedback.loss) l += 0.1 * (rng.uniform() - 0.5);
  for (double& s : st.feedback.score) s += 0.05 * (rng.uniform() - 0.5);
  h.steps.push_back(st);
}

}  // namespace

TEST_CASE("incremental actor: equals Agent::act along whole runs, across resets and sizes", "[agent][serve][cpu]") {
  // A non-trivial normalisation, as a trained agent has.
  auto agent = std::make_shared<dma::agent::Agent>(dma::agent::AgentConfig{}, 11);
  auto norm = dma::agent::FeatureNorm::identity();
  dma::Rng rng(4);
  for (Eigen::Index c = 0; c < norm.dom_mean.cols(); ++c) norm.dom_mean(0, c) = 0.1 * rng.normal(), norm.dom_sd(0, c) = 0.5 + rng.uniform();
  for (Eigen::Index c = 0; c < norm.glob_mean.cols(); ++c) norm.glob_mean(0, c) = 0.1 * rng.normal(), norm.glob_sd(0, c) = 0.5 + rng.uniform();
  agent->set_feature_norm(norm);
  std::shared_ptr<const dma::agent::Agent> a = agent;
  dma::agent::IncrementalActor inc(a);
  double worst = 0;
  for (std::size_t D : {2u, 3u, 7u, 64u}) {
    dma::History h = random_history(D, 12, rng);
    for (std::size_t t = 0; t <= 12; ++t) {
      const auto want = a->act(h);
      const auto got = inc.act(h);
      REQUIRE(got.size() == D);
      REQUIRE_NOTHROW(dma::space::validate_mixture(got, D));
      for (std::size_t i = 0; i < D; ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
      CHECK(inc.cached_tokens() == t + 1);
      if (t < 12) add_stage(h, dma::space::dirichlet(D, 1.0, rng), rng);
    }
    // A shorter or different history is recomputed from scratch, not read from the cache.
    h.steps.resize(3);
    const auto again = inc.act(h), ref = a->act(h);
    for (std::size_t i = 0; i < D; ++i) worst = std::max(worst, std::abs(again[i] - ref[i]));
    CHECK(inc.cached_tokens() == 4);
    // More stages than the spec announced still works (the caches grow).
    for (int k = 0; k < 12; ++k) add_stage(h, dma::space::dirichlet(D, 1.0, rng), rng);
    const auto longer = inc.act(h), lref = a->act(h);
    for (std::size_t i = 0; i < D; ++i) worst = std::max(worst, std::abs(longer[i] - lref[i]));
  }
  INFO("largest weight difference: " << worst);
  CHECK(worst < 1e-10);
}

}  // namespace dma_test_serve_protocol
