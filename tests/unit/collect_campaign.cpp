#include <catch2/catch.hpp>

#include <dma/collect/campaign.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/env/sim.hpp>
#include <dma/reward/balanced.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_collect_campaign {

namespace fs = std::filesystem;
using namespace dma::collect;
using Camp = Campaign<dma::env::SimEnv, dma::reward::Balanced, Mixed>;

namespace {
fs::path tmpdir(const std::string& name) {
  const auto p = fs::temp_directory_path() / ("dma_campaign_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}
std::string bytes_of(const fs::path& p) { return dma::io::read_file(p); }

// 3 instances x 3 groups x 4 branches, 3 shared stages of 8.
CampaignPlan small_plan(std::uint64_t seed = 5) {
  return CampaignPlan::from_json(dma::Json{{"seed", seed}, {"instances", 3}, {"instance_base", 40},
                                           {"groups_per_instance", 3}, {"branches", 4}, {"prefix_stages", 3}});
}
dma::env::SimFamily family() {
  dma::env::SimFamily f;
  f.stages = 8;
  return f;
}
Camp make_campaign(const CampaignPlan& plan) {
  const auto fam = family();
  return Camp(plan, [fam](std::uint64_t s) { return dma::env::SimEnv(fam, s); }, {}, {}, dma::Json{{"test", 1}});
}
// A reference store: one worker, uninterrupted.
const std::string& reference_bytes() {
  static const std::string ref = [] {
    const auto d = tmpdir("reference");
    auto c = make_campaign(small_plan());
    c.run(d / "ref.dmat");
    return bytes_of(d / "ref.dmat");
  }();
  return ref;
}
}  // namespace

TEST_CASE("campaign plan: items, trajectory ids and seeds are a pure function of the plan", "[collect][cpu]") {
  const auto p = small_plan();
  REQUIRE(p.items() == 9);
  REQUIRE(p.trajectories() == 36);
  std::set<std::uint64_t> seeds;
  for (std::uint64_t i = 0; i < p.items(); ++i) {
    const auto w = p.item(i);
    CHECK(w.id == i);
    CHECK(w.first_id == 4 * i);
    CHECK(w.instance_seed == 40 + i / 3);
    CHECK(p.item_of(w.first_id + 3) == i);
    seeds.insert(w.seed);
    CHECK(small_plan().item(i).seed == w.seed);
  }
  CHECK(seeds.size() == 9);
  CHECK(small_plan(6).item(0).seed != p.item(0).seed);
  const auto back = CampaignPlan::from_json(p.to_json());
  CHECK(back.to_json() == p.to_json());
}

TEST_CASE("campaign plan: bad plans are rejected with the key named", "[collect][cpu]") {
  CHECK_THROWS_WITH(CampaignPlan::from_json(dma::Json{{"instances", 2}, {"brnches", 4}}, "p.json"),
                    Catch::Contains("p.json") && Catch::Contains("unknown key 'brnches'"));
  CHECK_THROWS_WITH(CampaignPlan::from_json(dma::Json{{"instance_seeds", {3, 4, 3}}}),
                    Catch::Contains("listed twice"));
  CHECK_THROWS_WITH(CampaignPlan::from_json(dma::Json{{"instances", 2}, {"instance_seeds", {1}}}),
                    Catch::Contains("not both"));
  CHECK_THROWS_WITH(CampaignPlan::from_json(dma::Json{{"instances", 2}, {"branches", 0}}),
                    Catch::Contains("'branches'"));
  CHECK_THROWS_WITH(CampaignPlan::from_json(dma::Json{{"instances", -2}}), Catch::Contains("non-negative"));
  CHECK_THROWS_WITH(CampaignPlan::from_json(dma::Json::object()), Catch::Contains("no instances"));
}

TEST_CASE("campaign: store bytes do not depend on worker count or worker kind", "[collect][cpu]") {
  const auto d = tmpdir("workers");
  const std::string& ref = reference_bytes();
  const auto recs = read_store(d.parent_path() / ("dma_campaign_" + std::to_string(::getpid()) + "_reference") / "ref.dmat");
  REQUIRE(recs.size() == 36);
  for (std::size_t i = 0; i < recs.size(); ++i) CHECK(recs[i].id == i);  // canonical order
  for (const auto mode : {WorkerMode::Threads, WorkerMode::Processes}) {
    for (std::size_t w : {1, 2, 3}) {
      CampaignOptions o;
      o.workers = w;
      o.mode = mode;
      auto c = make_campaign(small_plan());
      const fs::path p = d / (std::string(to_string(mode)) + std::to_string(w) + ".dmat");
      const auto rep = c.run(p, o);
      CHECK(rep.complete);
      CHECK(rep.written == 36);
      // Prefix sharing: 9 groups x (3 + 4 x 5) stages trained instead of 36 x 8.
      CHECK(rep.stats.env_stages == 9 * (3 + 4 * 5));
      CHECK(rep.stats.stages_saved == 9 * 3 * 3);
      INFO(to_string(mode) << " x" << w);
      CHECK(bytes_of(p) == ref);
    }
  }
}

TEST_CASE("campaign: branches of one item share the prefix and match the Collector's group", "[collect][cpu]") {
  const auto plan = small_plan();
  auto c = make_campaign(plan);
  const auto w = plan.item(4);
  const auto r = c.run_item(w, c.cached_maker());
  REQUIRE(r.trajectories.size() == 4);
  for (std::size_t b = 0; b < 4; ++b) {
    CHECK(r.trajectories[b].id == w.first_id + b);
    CHECK(r.trajectories[b].episode_seed == w.instance_seed);
    for (std::size_t t = 0; t < 3; ++t)
      CHECK(r.trajectories[b].history.steps[t].feedback.loss == r.trajectories[0].history.steps[t].feedback.loss);
  }
  CHECK(r.trajectories[1].history.steps[3].mixture != r.trajectories[0].history.steps[3].mixture);
  // The same group run directly by the Collector (one implementation of prefix sharing).
  CollectOptions o;
  o.per_instance = o.branches = 4;
  o.prefix_stages = 3;
  o.seed = w.seed;
  const auto fam = family();
  Collector<dma::env::SimEnv, dma::reward::Balanced> col([fam](std::uint64_t s) { return dma::env::SimEnv(fam, s); }, {}, o);
  col.set_next_id(w.first_id);
  const auto direct = col.run(Mixed{}, {w.instance_seed});
  for (std::size_t b = 0; b < 4; ++b) CHECK(serialize_trajectory(direct[b]) == serialize_trajectory(r.trajectories[b]));
}

TEST_CASE("campaign: a stopped run resumes without duplicates to the uninterrupted bytes", "[collect][cpu]") {
  const auto d = tmpdir("resume");
  const fs::path p = d / "s.dmat";
  CampaignOptions o;
  o.max_items = 4;
  auto c = make_campaign(small_plan());
  auto rep = c.run(p, o);
  CHECK_FALSE(rep.complete);
  CHECK(rep.written == 16);
  CHECK(read_store(p).size() == 16);
  // A second stop, then the rest with two workers.
  rep = c.run(p, o);
  CHECK(rep.already_done == 16);
  CHECK(rep.written == 16);
  o.max_items = 0;
  o.workers = 2;
  std::vector<std::uint64_t> reported;
  o.on_durable = [&](std::uint64_t id) { reported.push_back(id); };
  rep = c.run(p, o);
  CHECK(rep.complete);
  CHECK(rep.written == 4);
  CHECK(reported.size() == 4);
  CHECK(bytes_of(p) == reference_bytes());
  // A finished store is left alone.
  rep = c.run(p, o);
  CHECK(rep.items_run == 0);
  CHECK_FALSE(rep.rewritten);
  CHECK(bytes_of(p) == reference_bytes());
}

TEST_CASE("campaign: a partly written item is redone and only its missing trajectories appended", "[collect][cpu]") {
  const auto d = tmpdir("partial");
  const fs::path ref_path = d / "ref.dmat";
  {
    std::ofstream(ref_path, std::ios::binary) << reference_bytes();
  }
  const auto all = read_store(ref_path);
  auto c = make_campaign(small_plan());
  const fs::path p = d / "s.dmat";
  {
    auto w = StoreWriter::create(p, c.metadata());
    // Items 0 and 2 complete, one of item 1's four, in an arbitrary order.
    for (std::uint64_t id : {9u, 1u, 0u, 8u, 3u, 4u, 2u, 10u, 11u}) w.append(all[id]);
  }
  const auto rep = c.run(p);
  CHECK(rep.already_done == 9);
  CHECK(rep.items_run == 9 - 2);
  CHECK(rep.recomputed == 1);   // id 4 was computed again and not appended
  CHECK(rep.written == 36 - 9);
  CHECK(rep.rewritten);
  CHECK(bytes_of(p) == reference_bytes());
}

TEST_CASE("campaign: a torn last record is dropped and redone; a bad record is an error", "[collect][cpu]") {
  const auto d = tmpdir("torn");
  const fs::path p = d / "s.dmat";
  CampaignOptions o;
  o.max_items = 2;
  auto c = make_campaign(small_plan());
  c.run(p, o);
  const auto size8 = fs::file_size(p);
  {
    // The first 500 bytes of the next record, as a kill -9 mid-append leaves them.
    const fs::path ref_path = d / "ref.dmat";
    std::ofstream(ref_path, std::ios::binary) << reference_bytes();
    const std::string payload = serialize_trajectory(read_store(ref_path).at(8));
    dma::io::Writer w;
    w.bytes() += "TREC";
    w.put<std::uint64_t>(payload.size());
    w.bytes() += payload;
    REQUIRE(w.bytes().size() > 500);
    std::ofstream(p, std::ios::binary | std::ios::app) << w.bytes().substr(0, 500);
  }
  // A leftover of an interrupted atomic write is removed.
  std::ofstream(d / "s.dmat.tmp.12345") << "junk";
  auto rep = c.run(p);
  CHECK(rep.dropped_bytes == 500);
  CHECK(rep.complete);
  CHECK_FALSE(fs::exists(d / "s.dmat.tmp.12345"));
  CHECK(bytes_of(p) == reference_bytes());
  // Damage before the last record is not "repaired".
  std::string b = bytes_of(p);
  b[size8 / 2] ^= 0x40;
  std::ofstream(p, std::ios::binary | std::ios::trunc) << b;
  CHECK_THROWS_AS(c.run(p), dma::Error);
}

TEST_CASE("campaign: a store of another plan or environment is refused", "[collect][cpu]") {
  const auto d = tmpdir("other");
  const fs::path p = d / "s.dmat";
  CampaignOptions o;
  o.max_items = 1;
  make_campaign(small_plan(5)).run(p, o);
  CHECK_THROWS_WITH(make_campaign(small_plan(6)).run(p, o),
                    Catch::Contains("s.dmat") && Catch::Contains("'metadata'") && Catch::Contains("another campaign"));
  const auto fam = family();
  Camp other(small_plan(5), [fam](std::uint64_t s) { return dma::env::SimEnv(fam, s); }, {}, {}, dma::Json{{"test", 2}});
  CHECK_THROWS_WITH(other.run(p, o), Catch::Contains("another campaign"));
  // A record whose id this plan cannot have produced.
  const fs::path q = d / "q.dmat";
  auto c = make_campaign(small_plan(5));
  {
    auto w = StoreWriter::create(q, c.metadata());
    dma::Trajectory tr = read_store(p).at(0);
    tr.id = 36;
    w.append(tr);
  }
  CHECK_THROWS_WITH(c.run(q, o), Catch::Contains("q.dmat") && Catch::Contains("id 36") && Catch::Contains("outside"));
}

TEST_CASE("campaign ledger: journals merge into canonical order; conflicting duplicates are an error", "[collect][cpu]") {
  const auto d = tmpdir("journals");
  const fs::path ref_path = d / "ref.dmat";
  {
    std::ofstream(ref_path, std::ios::binary) << reference_bytes();
  }
  const auto all = read_store(ref_path);
  auto c = make_campaign(small_plan());
  const fs::path p = d / "s.dmat";
  auto split = [&](bool conflict) {
    fs::remove(p);
    StoreWriter::create(p, c.metadata());
    auto j0 = StoreWriter::create(journal_path(p, 0), c.metadata());
    auto j1 = StoreWriter::create(journal_path(p, 1), c.metadata());
    for (std::size_t i = all.size(); i-- > 0;) (i % 2 ? j1 : j0).append(all[i]);
    dma::Trajectory dup = all[7];
    if (conflict) dup.history.steps[2].reward += 1e-9;
    j0.append(dup);  // 7 is in journal 1 too
  };
  split(false);
  const auto L = recover_ledger(p, c.metadata(), 36);
  CHECK(L.done_count == 36);
  CHECK(finalize_store(p, c.metadata(), 36));
  CHECK(journal_paths(p).empty());
  CHECK(bytes_of(p) == reference_bytes());
  split(true);
  CHECK_THROWS_WITH(finalize_store(p, c.metadata(), 36), Catch::Contains("id 7") && Catch::Contains("twice"));
  fs::remove(journal_path(p, 0));
  fs::remove(journal_path(p, 1));
  fs::remove(p);
  StoreWriter::create(p, c.metadata()).append(all[0]);
  CHECK_THROWS_WITH(finalize_store(p, c.metadata(), 36), Catch::Contains("35 of 36") && Catch::Contains("missing"));
}

TEST_CASE("campaign: an environment error in a worker thread or process stops the run and names the cause", "[collect][cpu]") {
  const auto d = tmpdir("errors");
  const auto fam = family();
  for (const auto mode : {WorkerMode::Threads, WorkerMode::Processes}) {
    Camp c(small_plan(), [fam](std::uint64_t s) {
             if (s == 41) dma::fail("instance 41: base model missing");
             return dma::env::SimEnv(fam, s);
           }, {}, {}, dma::Json{{"test", 1}});
    CampaignOptions o;
    o.workers = 2;
    o.mode = mode;
    const fs::path p = d / (std::string(to_string(mode)) + ".dmat");
    CHECK_THROWS_WITH(c.run(p, o), Catch::Contains("base model missing"));
    // What finished before the error is durable and valid.
    const auto recs = read_store(p);
    for (const auto& tr : recs) CHECK(tr.episode_seed != 41);
  }
}

TEST_CASE("campaign: a second collector on the same store is refused while the first holds it", "[collect][cpu]") {
  const auto d = tmpdir("lock");
  const fs::path p = d / "s.dmat";
  {
    const StoreLock first(p);
    CHECK_THROWS_WITH(make_campaign(small_plan()).run(p), Catch::Contains("another collector"));
  }
  CampaignOptions o;
  o.max_items = 1;
  CHECK(make_campaign(small_plan()).run(p, o).written == 4);  // released with its holder
}

}  // namespace dma_test_collect_campaign
