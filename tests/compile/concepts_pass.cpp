// Positive concept checks: minimal models of every policy satisfy their concept.
#include <catch2/catch.hpp>

#include <dma/backend/tags.hpp>
#include <dma/core/concepts.hpp>

namespace {
struct Space {
  std::size_t size() const { return 2; }
  std::string name(std::size_t i) const { return i ? "t" : "s"; }
  dma::Field field(std::size_t i) const { return i ? dma::Field::Target : dma::Field::Source; }
};
struct Env {
  dma::EpisodeSpec spec() const { return {}; }
  dma::Feedback reset(std::uint64_t) { return {}; }
  dma::Feedback step(const dma::Mixture&) { return {}; }
  Env fork() const { return *this; }
  void save(const std::filesystem::path&) const {}
  void load(const std::filesystem::path&) {}
  double tokens_seen() const { return 0; }
};
struct Rew {
  double operator()(const dma::Feedback&, const dma::Feedback&, const dma::Mixture&,
                    const dma::RewardContext&) const { return 0; }
};
struct Mix {
  void reset(const dma::EpisodeSpec&) {}
  dma::Mixture next(const dma::History&) { return {1.0}; }
  std::string name() const { return "m"; }
};
struct Gen {
  std::vector<dma::Mixture> sample(const dma::EpisodeSpec&, std::size_t, dma::Rng&) const { return {}; }
  std::string name() const { return "g"; }
};
struct Agent {};
struct Learn {
  void fit(const std::vector<dma::Trajectory>&, Agent&) {}
  std::string name() const { return "l"; }
};
}  // namespace

TEST_CASE("concepts: minimal models satisfy every policy concept", "[compile]") {
  STATIC_REQUIRE(dma::Backend<dma::backend::Cpu>);
  STATIC_REQUIRE(dma::Backend<dma::backend::Cuda>);
  STATIC_REQUIRE(dma::DomainSpace<Space>);
  STATIC_REQUIRE(dma::Environment<Env>);
  STATIC_REQUIRE(dma::Reward<Rew>);
  STATIC_REQUIRE(dma::Mixer<Mix>);
  STATIC_REQUIRE(dma::ScheduleGenerator<Gen>);
  STATIC_REQUIRE(dma::Learner<Learn, Agent>);
  STATIC_REQUIRE_FALSE(dma::Backend<int>);
  STATIC_REQUIRE_FALSE(dma::Mixer<Space>);
}
