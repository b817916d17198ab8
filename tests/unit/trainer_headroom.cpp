#include <catch2/catch.hpp>

#include <dma/core/rng.hpp>
#include <dma/trainer/headroom.hpp>

#include <cmath>
#include <filesystem>
#include <numeric>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_trainer_headroom {

using dma::trainer::HeadroomCandidate;
using dma::trainer::HeadroomConfig;
using dma::trainer::measure_headroom;

namespace {

// Noise of one run: a part shared by every candidate on the seed (the pairing removes it) and a
// part of its own (what the paired standard error measures).
double noise(const HeadroomCandidate& c, std::uint64_t seed) {
  dma::Rng shared = dma::Rng(seed).split("shared");
  dma::Rng own = dma::Rng(seed).split(c.key());
  return 0.02 * shared.normal() + 0.002 * own.normal();
}
double mean_of(const std::vector<double>& v, std::size_t from, std::size_t to) {
  return std::accumulate(v.begin() + std::ptrdiff_t(from), v.begin() + std::ptrdiff_t(to), 0.0) / double(to - from);
}

HeadroomConfig small_config() {
  HeadroomConfig h;
  h.workers = 2;
  h.fresh_seeds = 8;
  return h;
}

}  // namespace

TEST_CASE("headroom: where only the mean share matters, the diagnostic reports no dynamic gain", "[trainer][headroom]") {
  // The objective of a run depends on the schedule only through its mean target share: no
  // schedule can beat the best static share except by the grid's resolution.
  auto eval = [](const HeadroomCandidate& c, std::uint64_t seed, std::size_t) {
    const double m = mean_of(c.shares, 0, c.shares.size());
    return -(m - 0.55) * (m - 0.55) + noise(c, seed);
  };
  const auto r = measure_headroom(small_config(), 12, 9, eval, {}, false);
  const auto& h = r.at("headroom");
  INFO(r.dump(1));
  CHECK(std::abs(h.at("paired_se_units").get<double>()) < 3.0);
  CHECK(h.at("share_of_span").get<double>() < 0.1);
  CHECK(r.at("verdict").get<std::string>().find("dynamic beats static") == std::string::npos);
  // The refined static share (halfway between grid points) is found: 0.5625 is 0.0125 from 0.55.
  CHECK(std::abs(r.at("best_static").at("shares")[0].get<double>() - 0.55) <= 0.0625 + 1e-12);
  // Target-only is one end of the span: 0.45^2 - 0.0125^2 below the best static share, up to noise.
  CHECK(h.at("span_target_only_to_best_static").get<double>() == Approx(0.2025).margin(0.01));
  // Pulses at stages 1, 7, 9 (the last before the decay at 9, 0-based) and 12, each to 0 and to 1:
  // only the mean share matters, so a pulse's effect does not depend on its stage.
  const auto& pulses = r.at("sensitivity").at("pulses");
  REQUIRE(pulses.size() == 8);
  CHECK(pulses[0].at("stage").get<std::size_t>() == 1);
  CHECK(pulses[4].at("stage").get<std::size_t>() == 9);
  const double p = r.at("best_static").at("shares")[0].get<double>();
  for (const auto& x : pulses) {
    const double m = p + (x.at("share").get<double>() - p) / 12;
    const double expect = -(m - 0.55) * (m - 0.55) + (p - 0.55) * (p - 0.55);
    CHECK(x.at("effect").at("mean").get<double>() == Approx(expect).margin(0.006));
  }
}

TEST_CASE("headroom: a planted gain of late target data is found on fresh seeds", "[trainer][headroom]") {
  // Early stages want little target, late stages much: the best static share is a compromise.
  auto eval = [](const HeadroomCandidate& c, std::uint64_t seed, std::size_t) {
    const std::size_t S = c.shares.size(), h = S / 2;
    const double early = mean_of(c.shares, 0, h), late = mean_of(c.shares, h, S);
    return -(early - 0.2) * (early - 0.2) - (late - 0.8) * (late - 0.8) + noise(c, seed);
  };
  const auto r = measure_headroom(small_config(), 12, 9, eval, {}, false);
  INFO(r.dump(1));
  const auto& h = r.at("headroom");
  CHECK(h.at("paired_se_units").get<double>() >= 3.0);
  CHECK(h.at("share_of_span").get<double>() >= 0.1);
  CHECK(r.at("verdict").get<std::string>().find("dynamic beats static") != std::string::npos);
  // The selected schedule puts more target late than early, and beats the static share with its own mean.
  const auto s = r.at("best_dynamic").at("shares").get<std::vector<double>>();
  CHECK(mean_of(s, 6, 12) > mean_of(s, 0, 6) + 0.2);
  CHECK(r.at("fresh").at("dynamic_minus_matched_mean").at("mean").get<double>() > 0.02);
  // One late stage of target helps, one early stage of it hurts, each by many paired se.
  double late_up = 0, early_up = 0;
  for (const auto& x : r.at("sensitivity").at("pulses")) {
    if (x.at("share").get<double>() != 1.0) continue;
    if (x.at("stage").get<std::size_t>() == 12) late_up = x.at("paired_se_units").get<double>();
    if (x.at("stage").get<std::size_t>() == 1) early_up = x.at("paired_se_units").get<double>();
  }
  CHECK(late_up > 5);
  CHECK(early_up < -5);
  // Fresh seeds never overlap the search seeds.
  for (const auto& seed : r.at("fresh").at("seeds")) CHECK(seed.get<std::uint64_t>() >= 5);
}

TEST_CASE("headroom: one stage has no dynamic schedule; the ledger resumes; bad keys are named", "[trainer][headroom]") {
  std::size_t calls = 0;
  auto eval = [&](const HeadroomCandidate& c, std::uint64_t seed, std::size_t) {
    ++calls;
    return -std::abs(c.shares[0] - 0.3) + noise(c, seed);
  };
  HeadroomConfig one = small_config();
  one.workers = 1;
  const auto r1 = measure_headroom(one, 1, 1, eval, {}, false);
  CHECK(r1.at("best_dynamic").is_null());
  CHECK(r1.at("verdict").get<std::string>().find("one stage") != std::string::npos);
  CHECK(dma::trainer::headroom_pulses(0.3, 1, 1, "uniform").empty());
  CHECK(dma::trainer::headroom_pulses(0.0, 4, 4, "uniform").size() == 3);  // stages 1, 3, 4 to 1 only

  const auto dir = std::filesystem::temp_directory_path() / "dma_headroom_test";
  std::filesystem::remove_all(dir);
  calls = 0;
  const auto a = measure_headroom(one, 6, 6, eval, dir / "ledger.jsonl", false);
  const std::size_t first = calls;
  CHECK(first == a.at("runs").at("new").get<std::size_t>());
  CHECK(first > 50);
  calls = 0;
  const auto b = measure_headroom(one, 6, 6, eval, dir / "ledger.jsonl", false);
  CHECK(calls == 0);  // every run comes from the ledger
  CHECK(b.at("runs").at("new").get<std::size_t>() == 0);
  CHECK(b.at("headroom") == a.at("headroom"));
  std::filesystem::remove_all(dir);

  // The knots interpolate linearly and are clamped.
  const auto k = dma::trainer::knot_shares({0.0, 1.0}, 3);
  CHECK(k == std::vector<double>{0.0, 0.5, 1.0});
  CHECK(dma::trainer::knot_shares({-0.5, 1.5, 0.2}, 3) == std::vector<double>{0.0, 1.0, 0.2});

  auto bad = [](const char* text) {
    return HeadroomConfig::from_config(dma::Config(dma::Json::parse(text), "h.json"));
  };
  CHECK_THROWS_WITH(bad(R"({"grid": [0, 0.5]})"), Catch::Contains("h.json") && Catch::Contains("'grid'"));
  CHECK_THROWS_WITH(bad(R"({"fresh_seeds": 1})"), Catch::Contains("fresh_seeds"));
  CHECK_THROWS_WITH(bad(R"({"fresh_base": 2})"), Catch::Contains("fresh_base"));
  CHECK_THROWS_WITH(bad(R"({"cem_elite": 8})"), Catch::Contains("cem_elite"));
}

}  // namespace dma_test_trainer_headroom
