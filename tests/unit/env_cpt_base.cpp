#include <catch2/catch.hpp>

#include "env_cpt_fixture.hpp"

#include <dma/env/base_model.hpp>

#include <filesystem>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_env_cpt_base {

using dma::env::BaseModelConfig;

namespace {
BaseModelConfig tiny() {
  BaseModelConfig b = cpt_test::config().base;
  b.tokens = 4096;  // 32 steps
  b.cache_dir = cpt_test::cache_dir() / "base";
  return b;
}
bool same_params(const dma::model::TrainState<>& a, const dma::model::TrainState<>& b) {
  if (a.params.size() != b.params.size()) return false;
  for (std::size_t i = 0; i < a.params.size(); ++i)
    if (a.params[i] != b.params[i]) return false;
  return true;
}
}  // namespace

TEST_CASE("base model: the second request is a cache hit with identical weights", "[env][cpu]") {
  const auto data = cpt_test::corpus();
  const auto cfg = tiny();
  const auto a = dma::env::load_or_pretrain_base<>(cfg, data, false);
  CHECK_FALSE(a.from_cache);
  CHECK(std::filesystem::exists(a.path));
  CHECK(a.meta["pretrain"]["steps"] == 32);
  CHECK(a.meta["pretrain"]["tokens"] == 32 * 4 * 32);
  CHECK(a.meta["pretrain"]["seconds"].get<double>() > 0);
  // Pre-training learned something: the loss fell from ~ln(259) = 5.56 nats.
  CHECK(a.meta["pretrain"]["final_loss_ema"].get<double>() < a.meta["pretrain"]["first_loss"].get<double>() - 0.5);
  const auto b = dma::env::load_or_pretrain_base<>(cfg, data, false);
  CHECK(b.from_cache);
  CHECK(b.key == a.key);
  CHECK(same_params(a.state, b.state));
}

TEST_CASE("base model: any change of identity or data gives another cache key; threads do not", "[env][cpu]") {
  const auto data = cpt_test::corpus();
  const auto cfg = tiny();
  const std::string k = dma::env::base_model_key(cfg, data);
  auto c = cfg;
  c.seed = 2;
  CHECK(dma::env::base_model_key(c, data) != k);
  c = cfg;
  c.model.d_model = 64;
  CHECK(dma::env::base_model_key(c, data) != k);
  c = cfg;
  c.sources = {"prose"};
  CHECK(dma::env::base_model_key(c, data) != k);
  c = cfg;
  c.sources = {"prose", "records"};
  c.weights = {3, 1};
  CHECK(dma::env::base_model_key(c, data) != k);
  c = cfg;
  c.sources = {"prose", "records"};
  CHECK(dma::env::base_model_key(c, data) == k);  // "all source domains" resolves to the same list
  c = cfg;
  c.threads = 2;
  c.cache_dir = "/elsewhere";
  CHECK(dma::env::base_model_key(c, data) == k);
  // The data: the same names with other text.
  const auto sources_only = data.select({"prose", "records"});
  CHECK(dma::env::base_model_key(cfg, sources_only) == k);  // a target domain is not read...
  auto swapped = dma::env::CptData::from_memory({{"prose", dma::Field::Source}, {"records", dma::Field::Source}},
                                                {std::vector<dma::Token>(data.train[1].begin(), data.train[1].end()),
                                                 std::vector<dma::Token>(data.train[0].begin(), data.train[0].end())},
                                                {data.heldout[1], data.heldout[0]});
  CHECK(dma::env::base_model_key(cfg, swapped) != k);  // ...but the content of a source does
}

TEST_CASE("base model: a target-field domain cannot be a base source", "[env][cpu]") {
  auto cfg = tiny();
  cfg.sources = {"prose", "math"};
  CHECK_THROWS_WITH(dma::env::base_model_key(cfg, cpt_test::corpus()),
                    Catch::Contains("math") && Catch::Contains("source field only"));
  cfg.sources = {"nope"};
  CHECK_THROWS_WITH(dma::env::base_model_key(cfg, cpt_test::corpus()), Catch::Contains("nope"));
}

}  // namespace dma_test_env_cpt_base
