#include <catch2/catch.hpp>

#include <dma/collect/collector.hpp>
#include <dma/collect/generators.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/collect/npz.hpp>
#include <dma/collect/store.hpp>
#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/reward/balanced.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_collect_store {

namespace fs = std::filesystem;
using dma::Field;
using dma::Mixture;

namespace {
const dma::EpisodeSpec kSpec{{{"a", Field::Source}, {"m", Field::Target}, {"b", Field::Source}}, 8, 0.5};

fs::path tmp(const std::string& name) {
  const auto p = fs::temp_directory_path() / ("dma_collect_" + std::to_string(::getpid()) + "_" + name);
  fs::remove(p);
  return p;
}
auto make_env = [](std::uint64_t seed) { return dma::env::SimEnv(dma::env::SimFamily{}, seed, 2 + seed % 4); };

std::vector<dma::Trajectory> small_collection(std::size_t per = 3) {
  dma::collect::CollectOptions o;
  o.per_instance = per;
  dma::collect::Collector<dma::env::SimEnv, dma::reward::Balanced> c(make_env, {}, o);
  return c.run(dma::collect::Mixed{}, {10, 11});
}
void check_same(const dma::Trajectory& a, const dma::Trajectory& b) {
  CHECK(a.id == b.id);
  CHECK(a.generator == b.generator);
  CHECK(a.episode_seed == b.episode_seed);
  CHECK(a.history.spec.domains.size() == b.history.spec.domains.size());
  CHECK(a.history.initial.loss == b.history.initial.loss);
  REQUIRE(a.history.steps.size() == b.history.steps.size());
  for (std::size_t t = 0; t < a.history.steps.size(); ++t) {
    CHECK(a.history.steps[t].mixture == b.history.steps[t].mixture);
    CHECK(a.history.steps[t].feedback.score == b.history.steps[t].feedback.score);
    CHECK(a.history.steps[t].feedback.score_name == b.history.steps[t].feedback.score_name);
    CHECK(a.history.steps[t].reward == b.history.steps[t].reward);
  }
}
}  // namespace

TEST_CASE("collect generators: every generator yields valid schedules of the requested length", "[collect][cpu]") {
  using namespace dma::collect;
  dma::Rng rng(3);
  auto check = [&](const auto& g) {
    STATIC_REQUIRE(dma::ScheduleGenerator<std::decay_t<decltype(g)>>);
    for (int k = 0; k < 20; ++k) {
      const auto s = g.sample(kSpec, 8, rng);
      REQUIRE(s.size() == 8);
      for (const auto& m : s) REQUIRE_NOTHROW(dma::space::validate_mixture(m, 3));
    }
  };
  check(DirichletWalk{});
  check(Ramp{});
  check(Ramp{Ramp::Shape::Cosine});
  check(Steps{});
  check(FixedReplay{});
  check(DomainBoost{});
  check(Mixed{});
}

TEST_CASE("collect generators: ramps are monotone in the target share, fixed replay is static", "[collect][cpu]") {
  dma::Rng rng(5);
  for (int k = 0; k < 10; ++k) {
    const auto s = dma::collect::Ramp{}.sample(kSpec, 8, rng);
    const double a = s.front()[1], b = s.back()[1];
    for (std::size_t t = 1; t < s.size(); ++t)
      CHECK((s[t][1] - s[t - 1][1]) * (b - a) >= -1e-12);
    const auto f = dma::collect::FixedReplay{}.sample(kSpec, 8, rng);
    CHECK(f.front() == f.back());
    CHECK(f.front()[0] == Approx(f.front()[2]));
  }
}

TEST_CASE("collect mixed: draws every generator and names it", "[collect][cpu]") {
  dma::Rng rng(8);
  std::set<std::string> names;
  for (int k = 0; k < 200; ++k) names.insert(dma::collect::Mixed{}.sample_named(kSpec, 8, rng).first);
  CHECK(names.size() == 6);
  CHECK_THROWS_WITH(dma::collect::Mixed(std::vector<std::pair<dma::collect::Mixed::Any, double>>{}), Catch::Contains("at least one generator"));
}

TEST_CASE("collect collector: deterministic; prefix sharing equals replaying the whole schedule", "[collect][cpu]") {
  const auto a = small_collection(), b = small_collection();
  REQUIRE(a.size() == 6);
  for (std::size_t i = 0; i < a.size(); ++i) check_same(a[i], b[i]);
  CHECK(a[0].episode_seed == 10);
  CHECK(a[3].episode_seed == 11);

  dma::collect::CollectOptions o;
  o.per_instance = 4;
  o.prefix_stages = 3;
  o.branches = 4;
  dma::collect::Collector<dma::env::SimEnv, dma::reward::Balanced> c(make_env, {}, o);
  const auto br = c.run(dma::collect::Mixed{}, {12});
  REQUIRE(br.size() == 4);
  CHECK(c.stats().stages_saved == 9);
  CHECK(c.stats().env_stages == 4 * make_env(12).spec().stages - 9);
  // Branches share the prefix...
  for (std::size_t t = 0; t < 3; ++t) CHECK(br[1].history.steps[t].feedback.loss == br[0].history.steps[t].feedback.loss);
  // ...and each equals a fresh run of its full schedule with the same run seed.
  for (const auto& tr : br) {
    std::vector<Mixture> sched;
    for (const auto& s : tr.history.steps) sched.push_back(s.mixture);
    dma::mixers::Schedule replay(sched, "replay");
    auto env = make_env(12);
    // The group's run seed is the first draw of the collector's per-instance stream.
    dma::Rng rng = dma::Rng(o.seed).split(std::uint64_t(12)).split("collect.schedules");
    const auto again = dma::mixers::run_episode(replay, env, dma::reward::Balanced{}, rng.next_u64());
    CHECK(again.history.last().loss == tr.history.last().loss);
    CHECK(again.total_return() == Approx(tr.total_return()).margin(1e-12));
  }
}

TEST_CASE("collect store: round trip, append-open, schema", "[collect][cpu]") {
  const auto path = tmp("roundtrip.dmat");
  const auto data = small_collection();
  {
    auto w = dma::collect::StoreWriter::create(path, dma::Json{{"who", "test"}});
    for (std::size_t i = 0; i < 4; ++i) w.append(data[i]);
    CHECK(w.count() == 4);
  }
  CHECK_THROWS_WITH(dma::collect::StoreWriter::create(path), Catch::Contains("exists"));
  {
    auto w = dma::collect::StoreWriter::open(path);
    CHECK(w.count() == 4);
    CHECK(w.dropped_bytes() == 0);
    for (std::size_t i = 4; i < data.size(); ++i) w.append(data[i]);
  }
  const auto back = dma::collect::read_store(path);
  REQUIRE(back.size() == data.size());
  for (std::size_t i = 0; i < data.size(); ++i) check_same(back[i], data[i]);
  CHECK(dma::collect::read_store_schema(path)["metadata"]["who"] == "test");
  fs::remove(path);
}

TEST_CASE("collect store: the reader rejects truncation and bit flips, naming file and record", "[collect][cpu]") {
  const auto path = tmp("damage.dmat");
  const auto data = small_collection();
  {
    auto w = dma::collect::StoreWriter::create(path);
    for (const auto& t : data) w.append(t);
  }
  const std::string good = dma::io::read_file(path);
  auto write = [&](const std::string& s) { std::ofstream(path, std::ios::binary | std::ios::trunc) << s; };

  write(good.substr(0, good.size() - 10));
  CHECK_THROWS_WITH(dma::collect::read_store(path),
                    Catch::Contains(path.string()) && Catch::Contains("record 5") && Catch::Contains("truncated"));
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x04;
  write(flipped);
  CHECK_THROWS_WITH(dma::collect::read_store(path), Catch::Contains("record") &&
                                                        (Catch::Contains("checksum mismatch") || Catch::Contains("marker") || Catch::Contains("truncated")));
  std::string badmagic = good;
  badmagic[0] = 'X';
  write(badmagic);
  CHECK_THROWS_WITH(dma::collect::read_store(path), Catch::Contains("bad magic"));
  write(good.substr(0, 20));
  CHECK_THROWS_WITH(dma::collect::read_store(path), Catch::Contains("truncated"));
  fs::remove(path);
}

TEST_CASE("collect store: append-open recovers a torn tail without losing finished records", "[collect][cpu]") {
  const auto path = tmp("torn.dmat");
  const auto data = small_collection();
  {
    auto w = dma::collect::StoreWriter::create(path);
    for (std::size_t i = 0; i < 5; ++i) w.append(data[i]);
  }
  const std::string good = dma::io::read_file(path);
  // A crash in the middle of appending record 5: only part of it reached the disk.
  const std::string rec = dma::collect::serialize_trajectory(data[5]);
  std::ofstream(path, std::ios::binary | std::ios::app) << std::string("TREC") << std::string(8, '\x7f') << rec.substr(0, 40);
  CHECK_THROWS_WITH(dma::collect::read_store(path), Catch::Contains("record 5"));
  {
    auto w = dma::collect::StoreWriter::open(path);
    CHECK(w.count() == 5);
    CHECK(w.dropped_bytes() == 52);
    CHECK(w.recovered().find("record 5") != std::string::npos);
    w.append(data[5]);
  }
  const auto back = dma::collect::read_store(path);
  REQUIRE(back.size() == 6);
  check_same(back[5], data[5]);
  // Damage before the last record is not a torn tail: append-open refuses it.
  std::string mid = dma::io::read_file(path);
  mid[good.size() / 2] ^= 0x01;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << mid;
  CHECK_THROWS_AS(dma::collect::StoreWriter::open(path), dma::Error);
  fs::remove(path);
}

TEST_CASE("collect npz: a valid ZIP of .npy arrays that numpy loads", "[collect][cpu]") {
  const auto path = tmp("data.npz");
  const auto data = small_collection(2);
  dma::collect::export_npz(data, path);
  const std::string z = dma::io::read_file(path);
  REQUIRE(z.size() > 100);
  CHECK(z.substr(0, 4) == std::string("PK\x03\x04", 4));
  CHECK(z.find("mixture.npy") != std::string::npos);
  CHECK(z.find("\x93NUMPY") != std::string::npos);
  CHECK(z.substr(z.size() - 22, 4) == std::string("PK\x05\x06", 4));
  // numpy round trip when Debian's python3 with numpy is present (not required).
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0) {
    const std::string cmd = "/usr/bin/python3 -c \"import numpy as np; d=np.load('" + path.string() +
                            "'); m=d['mixture']; n=d['num_domains']; import sys; "
                            "sys.exit(0 if m.shape[0]==4 and abs(np.nansum(m[0,0])-1)<1e-9 and int(n[0])==" +
                            std::to_string(data[0].history.spec.num_domains()) + " and d['reward'].shape==(4," +
                            std::to_string(data[0].history.spec.stages) + ") else 3)\"";
    CHECK(std::system(cmd.c_str()) == 0);
  }
  fs::remove(path);
}

}  // namespace dma_test_collect_store
