// examples/quickstart_sim.cpp: the whole loop on the simulated environment, in seconds.
// collect trajectories on simulated instances of several domain counts -> train the agent (SFT,
// then CQL from the SFT agent) -> deploy both agents, the baselines, a closed-loop rule and the
// oracle on held-out instances (new seeds, including domain counts never seen in training) ->
// print the results table and write results.json, the trajectory store and its .npz under --out.
// Options: --out DIR, --train_instances N, --per_instance N, --heldout N, --seeds N, --quiet, --rule_share X,
// --sft_epochs N, --cql_epochs N (small values make the integration test fast), --branches N,
// --heldout_base N (900000: the reported held-out seeds; tune on another base, e.g. 500000),
// --q_heads N, --cql_actor td3bc|awr, --awr_beta X, --awr_max_weight X, --bc_weight X,
// --q_weight X, --alpha X, --mc_mix X, --sft_top X.
#include <dma/agent/agent.hpp>
#include <dma/collect/collector.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/collect/npz.hpp>
#include <dma/collect/rules.hpp>
#include <dma/collect/store.hpp>
#include <dma/core/config.hpp>
#include <dma/env/sim.hpp>
#include <dma/env/sim_oracle.hpp>
#include <dma/mixers/agent.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/mixers/probe_commit.hpp>
#include <dma/mixers/registry.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/rl/cql.hpp>
#include <dma/rl/sft.hpp>
#include <dma/rl/then.hpp>
#include <dma/trainer/sim_suite.hpp>
#include <dma/trainer/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string pool_bucket(double frac) {
  if (std::isinf(frac)) return "pool unlimited";
  if (frac < 0.06) return "pool <0.06";
  if (frac < 0.12) return "pool 0.06-0.12";
  return "pool >=0.12";
}

}  // namespace

int main(int argc, char** argv) try {
  const auto t_start = Clock::now();
  const dma::Config cfg = dma::Config::from_args(argc, argv);
  const std::filesystem::path out = cfg.get<std::string>("out", "out/quickstart_sim");
  const auto n_train = cfg.get<std::size_t>("train_instances", 24);
  // 16 trajectories per instance from prefixes with 8 branches (384 in all): the critic needs more
  // than 192 (docs/AGENT.md); collection stays ~2 s.
  const auto per_instance = cfg.get<std::size_t>("per_instance", 16);
  const auto n_heldout = cfg.get<std::size_t>("heldout", 24);
  const auto n_seeds = cfg.get<std::size_t>("seeds", 2);
  const auto heldout_base = cfg.get<std::uint64_t>("heldout_base", 900000);
  const bool quiet = cfg.get<bool>("quiet", false);
  std::filesystem::create_directories(out);

  using Env = dma::env::SimEnv;
  using Reward = dma::reward::Balanced;
  using Learner = dma::rl::Then<dma::rl::Sft, dma::rl::Cql>;  // CQL warm-started by SFT [paper]
  // The instance suite shared with examples/baselines_sim.cpp (trainer/sim_suite.hpp).
  dma::trainer::SimSuite suite;
  if (cfg.has("family")) suite.family = dma::env::SimFamily::from_json(cfg.json()["family"], cfg.source() + ":family");
  const dma::env::SimFamily& family = suite.family;
  auto make_env = [&](std::uint64_t seed) { return suite.make(seed); };
  dma::Trainer<Env, Reward, Learner> trainer(make_env, Reward{});

  // ---- collect -------------------------------------------------------------------------------
  auto t0 = Clock::now();
  const std::vector<std::uint64_t> train = suite.train_seeds(n_train);
  dma::collect::CollectOptions copt;
  copt.per_instance = per_instance;
  copt.prefix_stages = 3;
  copt.branches = cfg.get<std::size_t>("branches", 8);
  copt.seed = 7;
  auto store = dma::collect::StoreWriter::create(out / "trajectories.dmat",
                                                 dma::Json{{"family", family.to_json()}, {"example", "quickstart_sim"}},
                                                 /*overwrite=*/true);
  // Open-loop schedules (Mixed), and closed-loop "probe, then commit" rules with drawn options
  // for a share `rule_share` of the trajectories (collect/rules.hpp).
  const double rule_share = cfg.get<double>("rule_share", 0.0);
  const auto data = trainer.collect(dma::collect::WithRules(dma::collect::Mixed{}, rule_share), train, copt, &store);
  dma::collect::export_npz(data, out / "trajectories.npz");
  const auto& cs = trainer.collect_stats();
  const double t_collect = since(t0);
  std::printf("collected %zu trajectories on %zu instances (D in {2,3,4,6}); %zu stages simulated, %zu saved by "
              "prefix sharing; %.2f s\n", data.size(), train.size(), cs.env_stages, cs.stages_saved, t_collect);

  // ---- a static share tuned once on the training instances, carried to every setting ----------
  t0 = Clock::now();
  const double best_share = suite.tuned_static_share(trainer.reward(), train, dma::mixers::share_grid(20));
  std::printf("carried static share (tuned on the training instances): %.2f; %.2f s\n", best_share, since(t0));

  // ---- AGENTS: SFT on the best trajectories, then CQL starting from the SFT agent ----------
  dma::rl::SftConfig sft_cfg;
  sft_cfg.epochs = cfg.get<int>("sft_epochs", sft_cfg.epochs);
  sft_cfg.top_fraction = cfg.get<double>("sft_top", sft_cfg.top_fraction);
  dma::rl::CqlConfig cql_cfg;
  // 10 epochs over 384 trajectories: the same number of updates as CqlConfig's 20 over 192.
  cql_cfg.epochs = cfg.get<int>("cql_epochs", 10);
  cql_cfg.warmup_epochs = cfg.get<int>("cql_warmup", std::min(cql_cfg.warmup_epochs, cql_cfg.epochs / 2));
  const std::string actor_mode = cfg.get<std::string>("cql_actor", "td3bc");
  if (actor_mode != "td3bc" && actor_mode != "awr")
    dma::fail(cfg.source(), ": field 'cql_actor': expected 'td3bc' or 'awr', got '", actor_mode, "'");
  cql_cfg.actor = actor_mode == "awr" ? dma::rl::ActorMode::Awr : dma::rl::ActorMode::Td3Bc;
  cql_cfg.awr_beta = cfg.get<double>("awr_beta", cql_cfg.awr_beta);
  cql_cfg.awr_max_weight = cfg.get<double>("awr_max_weight", cql_cfg.awr_max_weight);
  cql_cfg.awr_weight = cfg.get<double>("awr_weight", cql_cfg.awr_weight);
  cql_cfg.bc_weight = cfg.get<double>("bc_weight", cql_cfg.bc_weight);
  cql_cfg.q_weight = cfg.get<double>("q_weight", cql_cfg.q_weight);
  cql_cfg.alpha = cfg.get<double>("alpha", cql_cfg.alpha);
  cql_cfg.mc_mix = cfg.get<double>("mc_mix", cql_cfg.mc_mix);
  dma::agent::AgentConfig agent_cfg;
  agent_cfg.q_heads = cfg.get<int>("q_heads", agent_cfg.q_heads);
  dma::agent::Agent agent(agent_cfg, 1);
  trainer.learner() = Learner(dma::rl::Sft(sft_cfg), dma::rl::Cql(cql_cfg));
  std::shared_ptr<const dma::agent::Agent> sft_agent;
  const auto reports = trainer.learn(data, agent, [&](const dma::agent::Agent& a) {
    sft_agent = std::make_shared<const dma::agent::Agent>(a);  // the warm start, compared on its own
  });
  const dma::rl::LearnReport &sft_report = reports[0], &cql_report = reports[1];
  const auto cql_agent = std::make_shared<const dma::agent::Agent>(agent);
  std::printf("agent (%zu parameters): sft %.2f s (%zu updates), cql %.2f s (%zu updates)\n",
              agent.num_parameters(), sft_report.seconds, sft_report.updates, cql_report.seconds,
              cql_report.updates);

  // ---- compare on held-out instances ------------------------------------------------------------
  t0 = Clock::now();
  // The baselines that need no proxy runs, from the one registry (mixers/registry.hpp; the
  // proxy-run ones are in examples/baselines_sim.cpp), then a user's rule and the two agents.
  std::vector<dma::trainer::AnyMixer> methods;
  dma::mixers::BaselineInputs<Env> bin;
  bin.static_share = best_share;
  for (auto& b : dma::mixers::all_baselines(bin)) methods.push_back(std::move(b.mixer));
  // "Probe, then commit" (mixers/probe_commit.hpp) from the carried share; its gain 0.6 was picked
  // by a small grid on family instances disjoint from the held-out seeds.
  dma::mixers::ProbeCommitOptions pc;
  pc.start_share = best_share;
  methods.emplace_back(dma::mixers::ProbeCommit(pc, "probe_commit(rule)"));
  methods.emplace_back(dma::mixers::AgentMixer(sft_agent, "agent-sft"));
  methods.emplace_back(dma::mixers::AgentMixer(cql_agent, "agent-cql"));

  const std::vector<dma::trainer::Instance> heldout = suite.heldout(n_heldout, heldout_base);
  std::vector<std::uint64_t> run_seeds;
  for (std::size_t s = 0; s < n_seeds; ++s) run_seeds.push_back(11 + s);

  // The oracle and the best static mixture of each instance in hindsight (found by the oracle's search).
  dma::trainer::OracleColumns oc;
  oc.options.extra_shares = {0.5, best_share};
  const auto table = trainer.compare(methods, heldout, run_seeds, oc.columns<decltype(trainer)>(), !quiet);
  const double t_compare = since(t0);
  table.print(std::cout);

  // The same rows grouped by the hidden pool size (what makes the best static share move).
  dma::trainer::ResultsTable by_pool = table;
  std::map<std::uint64_t, double> pool_of;
  for (const auto& inst : heldout) pool_of[inst.seed] = make_env(inst.seed).instance().pool_fraction();
  for (auto& r : by_pool.rows) r.group = pool_bucket(pool_of[r.instance]);
  std::cout << "\n---- by hidden target pool (fraction of the run's tokens) ----";
  by_pool.print(std::cout);

  std::cout << "\nbest static target share (oracle grid, in hindsight) by pool:\n";
  std::map<std::string, std::pair<double, int>> share_by_pool;
  dma::Json inst_json = dma::Json::array();
  for (const auto& inst : heldout) {
    const auto& o = oc.results.at(inst.seed);
    auto& p = share_by_pool[pool_bucket(pool_of[inst.seed])];
    p.first += o.best_static_share;
    p.second += 1;
    inst_json.push_back({{"seed", inst.seed}, {"group", inst.group},
                         {"pool_fraction", std::isinf(pool_of[inst.seed]) ? dma::Json("inf") : dma::Json(pool_of[inst.seed])},
                         {"oracle_value_noise_free", o.value}, {"best_static_value_noise_free", o.best_static_value},
                         {"best_static_share", o.best_static_share}, {"oracle_search_stages", o.rollouts}});
  }
  dma::Json share_json;
  for (const auto& [k, p] : share_by_pool) {
    std::printf("  %-16s %.3f (%d instances)\n", k.c_str(), p.first / p.second, p.second);
    share_json[k] = p.first / p.second;
  }

  dma::Json results = table.to_json();
  results["by_pool"] = by_pool.to_json()["summary"];
  results["best_static_share_by_pool"] = share_json;
  results["instances"] = inst_json;
  results["carried_static_share"] = best_share;
  results["family"] = family.to_json();
  results["reward"] = "balanced(worst_weight=0.5)";
  results["collection"] = {{"trajectories", data.size()}, {"instances", train.size()},
                           {"stages_simulated", cs.env_stages}, {"stages_saved_by_prefix_sharing", cs.stages_saved},
                           {"seconds", t_collect}};
  results["learners"] = {{"sft", sft_report.to_json()}, {"cql", cql_report.to_json()}};
  results["agent"] = {{"config", agent.config().to_json()}, {"parameters", agent.num_parameters()}};
  results["run_seeds"] = run_seeds;
  results["seconds"] = {{"collect", t_collect}, {"sft", sft_report.seconds}, {"cql", cql_report.seconds},
                        {"compare", t_compare}, {"total", since(t_start)}};
  dma::save_json(out / "results.json", results);
  std::printf("\nwrote %s, trajectories.dmat, trajectories.npz; total %.2f s\n", (out / "results.json").c_str(),
              since(t_start));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "quickstart_sim: %s\n", e.what());
  return 1;
}
