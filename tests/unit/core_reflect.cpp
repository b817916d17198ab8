#include <catch2/catch.hpp>

#include <dma/core/reflect.hpp>
#include <dma/env/cpt_config.hpp>
#include <dma/rl/pipeline.hpp>
#include "main_job/settings.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_core_reflect {

using dma::Json;
using Catch::Contains;

enum class Mode { Fast, Careful };

struct Inner {
  int depth = 2;
  static constexpr auto fields() { return dma::reflect::make_fields(dma::reflect::field("depth", &Inner::depth)); }
  void validate(const std::string& where) const {
    if (depth < 0) dma::fail(where, ": field 'depth': expected >= 0, got ", depth);
  }
};

struct Adam {
  double lr = 1e-3;
};

// A config of every kind of field the readers use.
struct Demo {
  std::size_t count = 3;
  double rate = 0.5;
  bool on = false;
  std::string name = "x";
  std::vector<double> weights{1.0};
  std::map<std::string, std::size_t> pools;
  Mode mode = Mode::Fast;
  Adam adam;
  Inner inner;
  double cap = std::numeric_limits<double>::infinity();
  std::size_t newer = 0;  // a key added later: written only when set

  static constexpr auto fields() {
    using namespace dma::reflect;
    return make_fields(field("count", &Demo::count), field("rate", &Demo::rate), field("on", &Demo::on),
                       field("name", &Demo::name), field("weights", &Demo::weights), field("pools", &Demo::pools),
                       field("mode", &Demo::mode, one_of<Mode>(std::pair{Mode::Fast, "fast"}, std::pair{Mode::Careful, "careful"})),
                       field("lr", [](auto& d) -> auto& { return d.adam.lr; }), field("inner", &Demo::inner),
                       field("cap", &Demo::cap, InfOrNumber{}), field("newer", &Demo::newer).omit_default<Demo>(),
                       field("doubled", &Demo::count).written_as([](const Demo& d) { return 2 * d.count; }).write_only(),
                       ignored("about"));
  }
};

TEST_CASE("reflect: one declaration reads, writes and round-trips every kind of field", "[core][cpu]") {
  const Demo d0;
  const Json j0 = dma::reflect::to_json(d0);
  CHECK(j0 == Json::parse(R"({"count":3,"rate":0.5,"on":false,"name":"x","weights":[1.0],"pools":{},"mode":"fast",
                              "lr":0.001,"inner":{"depth":2},"cap":"inf","doubled":6})"));
  const Json in = Json::parse(R"({"count":7,"rate":0.25,"on":true,"name":"y","weights":[0.2,0.8],"pools":{"math":100},
                                  "mode":"careful","lr":0.01,"inner":{"depth":5},"cap":4.5,"newer":9,"about":"ignored"})");
  const auto d = dma::reflect::from_json<Demo>(in, "d.json");
  CHECK(d.count == 7);
  CHECK(d.rate == 0.25);
  CHECK(d.on);
  CHECK(d.name == "y");
  CHECK(d.weights == std::vector<double>{0.2, 0.8});
  CHECK(d.pools.at("math") == 100);
  CHECK(d.mode == Mode::Careful);
  CHECK(d.adam.lr == 0.01);
  CHECK(d.inner.depth == 5);
  CHECK(d.cap == 4.5);
  CHECK(d.newer == 9);
  Json back = in;
  back.erase("about");
  back["doubled"] = 14;
  CHECK(dma::reflect::to_json(d) == back);
  // Missing keys keep the defaults given.
  Demo defaults;
  defaults.count = 11;
  CHECK(dma::reflect::from_json(Json{{"rate", 1.0}}, "d.json", defaults).count == 11);
  // A command line's 2e3 is an integer.
  CHECK(dma::reflect::from_json<Demo>(Json{{"count", 2e3}}, "cli").count == 2000);
  CHECK(dma::reflect::keys<Demo>().size() == 12);  // "doubled" is not read
}

TEST_CASE("reflect: bad input is refused naming the source, the field's path and what was expected", "[core][cpu]") {
  auto error_of = [](const char* text) {
    try {
      (void)dma::reflect::from_json<Demo>(Json::parse(text), "d.json");
    } catch (const dma::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error_of(R"({"cuont": 1})"), Contains("d.json") && Contains("unknown key 'cuont'") && Contains("count"));
  CHECK_THAT(error_of(R"({"inner": {"dpeth": 1}})"), Contains("d.json: inner") && Contains("unknown key 'dpeth'"));
  CHECK_THAT(error_of(R"({"count": -1})"), Contains("field 'count'") && Contains("non-negative integer"));
  CHECK_THAT(error_of(R"({"count": 2.5})"), Contains("field 'count'") && Contains("an integer"));
  CHECK_THAT(error_of(R"({"count": "3"})"), Contains("field 'count'") && Contains("\"3\""));
  CHECK_THAT(error_of(R"({"on": 1})"), Contains("field 'on'") && Contains("true or false"));
  CHECK_THAT(error_of(R"({"weights": [0.5, "a"]})"), Contains("field 'weights[1]'") && Contains("a number"));
  CHECK_THAT(error_of(R"({"pools": {"math": -4}})"), Contains("field 'pools.math'"));
  CHECK_THAT(error_of(R"({"mode": "quick"})"), Contains("field 'mode'") && Contains("fast or careful"));
  CHECK_THAT(error_of(R"({"cap": "lots"})"), Contains("field 'cap'") && Contains("\"inf\""));
  CHECK_THAT(error_of(R"({"inner": 3})"), Contains("field 'inner'") && Contains("an object"));
  CHECK_THAT(error_of(R"([1, 2])"), Contains("d.json") && Contains("an object"));
  // Nested validation runs on the whole config, with the nested config's path.
  CHECK_THAT(error_of(R"({"inner": {"depth": -3}})"), Contains("d.json:inner") && Contains("'depth'"));
  CHECK(error_of(R"({"doubled": 4})").find("unknown key 'doubled'") != std::string::npos);
}

TEST_CASE("reflect: the library's configs write every field they read", "[core][cpu]") {
  // CqlConfig once dropped clip norms, refit_feature_norm and max_seconds from its JSON.
  dma::rl::PipelineConfig p;
  p.cql.actor_adam.clip_norm = 3.0;
  p.cql.refit_feature_norm = true;
  p.cql.max_seconds = 12;
  p.sft.adam.clip_norm = 0.5;
  const auto back = dma::rl::PipelineConfig::from_json(p.to_json(), "p.json");
  CHECK(back.cql.actor_adam.clip_norm == 3.0);
  CHECK(back.cql.refit_feature_norm);
  CHECK(back.cql.max_seconds == 12);
  CHECK(back.sft.adam.clip_norm == 0.5);
  CHECK(back.to_json() == p.to_json());
  for (const auto& k : dma::reflect::keys<dma::rl::CqlConfig>()) CHECK(p.cql.to_json().contains(k));

  // The CPT config: a round trip is the identity, and the cosine default's fingerprint keys
  // stay as they were (lr_schedule, decay_frac and choice_items absent).
  dma::env::CptConfig c;
  CHECK_FALSE(c.to_json().contains("lr_schedule"));
  CHECK_FALSE(c.to_json()["eval"].contains("choice_items"));
  c.lr_schedule = "wsd";
  c.eval.choice_items = 8;
  c.pool_tokens["math"] = 1000;
  c.base.model.mlp_ratio = 3.0;
  const auto c2 = dma::env::CptConfig::from_json(c.to_json(), "c.json");
  CHECK(c2.to_json() == c.to_json());
  CHECK(c2.base.model.hidden() == c.base.model.hidden());
  CHECK_THROWS_WITH(dma::env::CptConfig::from_json(Json{{"eval", {{"windws", 3}}}}, "c.json"),
                    Contains("c.json: eval") && Contains("unknown key 'windws'"));
  CHECK_THROWS_WITH(dma::env::CptConfig::from_json(Json{{"base", {{"model", {{"heads", 3}}}}}}, "c.json"),
                    Contains("c.json:base:model") && Contains("'heads'"));
  // The preset reader refuses typos at any depth.
  CHECK_THROWS_WITH(dma::main_job::ExperimentConfig::from_json(Json{{"collection", {{"instanses", 4}}}}, "p.json"),
                    Contains("p.json: collection") && Contains("unknown key 'instanses'"));
}

}  // namespace dma_test_core_reflect
