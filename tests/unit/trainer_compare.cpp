#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/env/sim_oracle.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/mixers/target_only.hpp>
#include <dma/mixers/uniform.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/runtime.hpp>
#include <dma/trainer/sim_suite.hpp>
#include <dma/trainer/trainer.hpp>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_trainer_compare {

using dma::trainer::ResultRow;
using dma::trainer::ResultsTable;

namespace {
ResultRow row(const std::string& m, const std::string& g, std::uint64_t inst, double ret) {
  ResultRow r;
  r.method = m;
  r.group = g;
  r.instance = inst;
  r.ret = ret;
  return r;
}
using Env = dma::env::SimEnv;
using Tr = dma::Trainer<Env, dma::reward::Balanced>;
Tr make_trainer() {
  return Tr([](std::uint64_t s) { return Env(dma::env::SimFamily{}, s, 2 + s % 3); });
}

// A stateful mixer: counts its calls, must start at 0 every episode.
struct Counting {
  int calls = 0;
  void reset(const dma::EpisodeSpec&) {}
  dma::Mixture next(const dma::History& h) {
    REQUIRE(calls == int(h.t()));
    ++calls;
    return dma::space::uniform(h.spec.num_domains());
  }
  std::string name() const { return "counting"; }
};
}  // namespace

TEST_CASE("trainer results: mean, sd over instances and gap closed, hand-computed", "[trainer][cpu]") {
  ResultsTable t;
  // Two run seeds of instance 1 are averaged before the spread over instances.
  t.rows = {row("uniform", "g", 1, 0.1), row("uniform", "g", 1, 0.3), row("uniform", "g", 2, 0.4),
            row("oracle", "g", 1, 0.6), row("oracle", "g", 2, 0.8),
            row("m", "g", 1, 0.4), row("m", "g", 2, 0.5), row("m", "h", 3, 9.0)};
  const auto s = t.summarize("g");
  REQUIRE(s.size() == 3);
  CHECK(s[0].method == "uniform");
  CHECK(s[0].mean == Approx(0.3));  // (0.2 + 0.4) / 2
  CHECK(s[0].sd == Approx(std::sqrt(0.02)));
  CHECK(s[1].mean == Approx(0.7));
  CHECK(s[2].mean == Approx(0.45));
  CHECK(s[2].gap_closed == Approx((0.45 - 0.3) / (0.7 - 0.3)));
  CHECK(s[1].gap_closed == Approx(1.0));
  CHECK(s[0].gap_closed == Approx(0.0));
  // Paired per instance: m - uniform = (0.2, 0.1): mean 0.15, se = sd / sqrt(2) = 0.05.
  CHECK(s[2].diff_ref == Approx(0.15));
  CHECK(s[2].diff_ref_se == Approx(0.05));
  const auto j = t.to_json();
  CHECK(j["summary"]["g"][2]["gap_closed"].get<double>() == Approx(0.375));
  CHECK(j["rows"].size() == 8);
  CHECK(t.groups() == std::vector<std::string>{"g", "h"});
}

TEST_CASE("trainer compare: the oracle is at least every baseline on every instance and seed", "[trainer][cpu]") {
  auto tr = make_trainer();
  std::vector<dma::trainer::AnyMixer> methods;
  methods.emplace_back(dma::mixers::Uniform{});
  methods.emplace_back(dma::mixers::TargetOnly{});
  methods.emplace_back(dma::mixers::FixedRatio(0.5));
  methods.emplace_back(Counting{});
  dma::env::OracleOptions o;
  o.extra_shares = {0.5};
  const auto table = tr.compare(methods, {{3, "a"}, {4, "a"}, {5, "b"}}, {1, 2},
                                [&](const Env& e, const dma::reward::Balanced& r) { return dma::env::sim_oracle(e, r, o).schedule; });
  REQUIRE(table.rows.size() == 3 * 5 * 2);
  // Noise is additive and does not depend on the actions, so the comparison is paired.
  for (const auto& r : table.rows) {
    if (r.method == "oracle") continue;
    for (const auto& q : table.rows)
      if (q.method == "oracle" && q.instance == r.instance && q.run_seed == r.run_seed)
        CHECK(q.ret >= r.ret - 1e-9);
  }
  const auto s = table.summarize();
  CHECK(s.back().method == "oracle");
  CHECK(s.back().gap_closed == Approx(1.0));
}

TEST_CASE("trainer collect: trajectories land in the store with increasing ids", "[trainer][cpu]") {
  auto tr = make_trainer();
  const auto path = std::filesystem::temp_directory_path() / ("dma_trainer_" + std::to_string(::getpid()) + ".dmat");
  auto store = dma::collect::StoreWriter::create(path, dma::Json::object(), true);
  dma::collect::CollectOptions o;
  o.per_instance = 2;
  const auto data = tr.collect(dma::collect::Mixed{}, {7, 8}, o, &store);
  REQUIRE(data.size() == 4);
  CHECK(data[3].id == 3);
  CHECK(dma::collect::read_store(path).size() == 4);
  CHECK(tr.collect_stats().trajectories == 4);
  std::filesystem::remove(path);
}

TEST_CASE("sim suite: seeds encode D, held-out groups name unseen D, the tuned share is the grid's best", "[trainer]") {
  const dma::trainer::SimSuite suite;
  const auto train = suite.train_seeds(5);
  REQUIRE(train == std::vector<std::uint64_t>{1002, 2003, 3004, 4006, 5002});
  for (auto s : train) CHECK(suite.make(s).spec().num_domains() == dma::trainer::SimSuite::domains_of(s));
  const auto held = suite.heldout(7, 500000);
  REQUIRE(held.size() == 7);
  CHECK(held[0].seed == 500002);
  CHECK(held[0].group == "D=2");
  CHECK(held[3].group == "D=5 (unseen D)");
  CHECK(held[5].group == "D=8 (unseen D)");
  CHECK(held[6].seed == 506002);
  CHECK(suite.make(held[5].seed).spec().num_domains() == 8);
  // Brute force over the same grid: the tuned share has the highest summed noise-free return.
  const dma::reward::Balanced r;
  const std::vector<double> grid{0.1, 0.3, 0.5, 0.7, 0.9};
  const std::vector<std::uint64_t> few{train[0], train[1]};
  double best = -1e300, best_share = -1;
  for (double sh : grid) {
    double v = 0;
    for (auto s : few) {
      const auto e = suite.make(s);
      v += dma::env::noise_free_return(e, r, {dma::mixers::fixed_mixture(e.spec(), sh)});
    }
    if (v > best) best = v, best_share = sh;
  }
  CHECK(suite.tuned_static_share(r, few, grid) == best_share);
}

TEST_CASE("sim suite: oracle columns search once per instance and replay its best static mixture", "[trainer][cpu]") {
  auto tr = make_trainer();
  dma::trainer::OracleColumns oc;
  oc.options.extra_shares = {0.5};
  std::vector<dma::trainer::AnyMixer> methods;
  methods.emplace_back(dma::mixers::Uniform{});
  const auto table = tr.compare(methods, {{3, "a"}, {4, "a"}}, {1, 2}, oc.columns<Tr>());
  REQUIRE(table.rows.size() == 2 * 3 * 2);
  REQUIRE(oc.results.size() == 2);
  for (const auto& row : table.rows) {
    const auto& res = oc.results.at(row.instance);
    CHECK(res.value >= res.best_static_value - 1e-12);  // the search starts from the best static mixture
    if (row.method == "best_static(hindsight)") {
      // Replayed on a noisy run: every stage uses the searched static mixture.
      dma::env::SimEnv e = tr.make_env(row.instance);
      dma::mixers::Schedule s({res.best_static}, "x");
      CHECK(row.ret == Approx(dma::mixers::run_episode(s, e, tr.reward(), row.run_seed).total_return()).margin(1e-12));
    }
  }
  // Held-out instances of another call refill the same map.
  (void)tr.compare(methods, {{5, "b"}}, {1}, oc.columns<Tr>());
  CHECK(oc.results.size() == 3);
}

}  // namespace dma_test_trainer_compare
