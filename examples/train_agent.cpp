// examples/train_agent.cpp: train the Data Mixing Agent on a trajectory store (any environment:
// sim or env::Cpt) with rl::train_agents (rl/pipeline.hpp): SFT on the best trajectories, then
// CQL on all (or an ablation: learner cql | sft | bc | bc+cql, reward variants).
//
//   train_agent --store runs/x/trajectories.dmat --out runs/x/agent [--config agent.json]
//               [--learner sft+cql] [--cql.q_weight 0.1] [--reward.kind worst_domain] ...
//               [--eval_sim N] [--eval_base 900000] [--eval_seeds 2] [--eval_candidates 16 --eval_margin 0
//               --eval_concentration 0]
//
// Every key of the pipeline config (docs/AGENT.md "Training pipeline") can be given in the JSON
// file or on the command line (dotted keys override the file). Writes DIR/agent_sft.dmaa (or
// agent_bc.dmaa), DIR/agent_cql.dmaa, DIR/agent.dmaa (the final one) and DIR/train_report.json.
// With --eval_sim N and a store collected on the simulator, the trained agents (and uniform)
// are deployed on N new simulated instances and their realised returns go into the report;
// --eval_candidates K adds the CQL agent with critic-guided selection among K sampled mixtures.
#include <dma/collect/store.hpp>
#include <dma/core/config.hpp>
#include <dma/env/sim.hpp>
#include <dma/mixers/agent.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/uniform.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/reward/target_only.hpp>
#include <dma/rl/pipeline.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace {

// Realised return of a mixer on a sim instance, under the reward the agent was trained for.
template <class M>
double sim_return(M mixer, const dma::env::SimEnv& proto, const dma::rl::RewardRelabel& rr, std::uint64_t run_seed) {
  dma::env::SimEnv env = proto.fork();
  auto run = [&](const auto& reward) { return dma::mixers::run_episode(mixer, env, reward, run_seed).total_return(); };
  if (rr.kind == "target_only") return run(dma::reward::TargetOnly{});
  const double ww = rr.kind == "worst_domain" ? 1.0 : rr.kind == "source_mean" ? 0.0
                  : rr.kind == "balanced" ? rr.worst_weight : 0.5;
  return run(dma::reward::Balanced{ww});
}

dma::Json eval_on_sim(const dma::Json& store_meta, const dma::rl::TrainedAgents& res, const dma::rl::PipelineConfig& pc,
                      std::size_t n, std::uint64_t base, std::size_t seeds, const dma::mixers::Guidance& guide) {
  const dma::Json ctx = store_meta.value("context", dma::Json::object());
  if (ctx.value("env", std::string()) != "sim")
    dma::fail("train_agent: --eval_sim needs a store collected on the simulator (metadata context.env = \"sim\")");
  const dma::Json sim = ctx.value("env_config", dma::Json::object());
  const dma::env::SimFamily family = sim.contains("family")
      ? dma::env::SimFamily::from_json(sim["family"], "store metadata: env_config.family") : dma::env::SimFamily{};
  const std::size_t domains = sim.value("domains", std::size_t(0));
  std::vector<dma::mixers::AgentMixer> agents;
  if (res.warm) agents.emplace_back(std::make_shared<const dma::agent::Agent>(*res.warm),
                                    dma::rl::to_string(pc.learner) == std::string("bc") ||
                                            pc.learner == dma::rl::PipelineLearner::BcCql ? "bc" : "sft");
  if (res.cql) agents.emplace_back(std::make_shared<const dma::agent::Agent>(*res.cql), "cql");
  // The CQL agent with critic-guided action selection (Agent::act_guided).
  if (res.cql && guide.candidates > 0)
    agents.emplace_back(std::make_shared<const dma::agent::Agent>(*res.cql), "cql_guided", guide);
  std::vector<std::vector<double>> ret(agents.size() + 1);
  for (std::size_t i = 0; i < n; ++i) {
    const dma::env::SimEnv env(family, base + i, domains);
    for (std::size_t s = 0; s < seeds; ++s) {
      const std::uint64_t rs = 11 + s;
      ret[0].push_back(sim_return(dma::mixers::Uniform{}, env, pc.reward, rs));
      for (std::size_t k = 0; k < agents.size(); ++k)
        ret[k + 1].push_back(sim_return(agents[k], env, pc.reward, rs));
    }
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
  };
  auto paired = [&](const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> d(a.size());
    for (std::size_t k = 0; k < a.size(); ++k) d[k] = a[k] - b[k];
    const double m = mean(d);
    double ss = 0;
    for (double x : d) ss += (x - m) * (x - m);
    const double se = d.size() > 1 ? std::sqrt(ss / double(d.size() - 1) / double(d.size())) : 0.0;
    return dma::Json{{"mean", m}, {"se", se}};
  };
  dma::Json j{{"instances", n}, {"instance_base", base}, {"run_seeds", seeds}, {"mean_return", {{"uniform", mean(ret[0])}}}};
  for (std::size_t k = 0; k < agents.size(); ++k) {
    j["mean_return"][agents[k].name()] = mean(ret[k + 1]);
    j["vs_uniform"][agents[k].name()] = paired(ret[k + 1], ret[0]);
  }
  if (res.warm && res.cql) j["cql_minus_warm"] = paired(ret[2], ret[1]);
  if (res.warm && res.cql && guide.candidates > 0) {
    j["cql_guided_minus_warm"] = paired(ret[3], ret[1]);
    j["guidance"] = {{"candidates", guide.candidates}, {"margin", guide.margin}, {"seed", guide.seed},
                      {"concentration", guide.concentration}};
  }
  return j;
}

}  // namespace

int main(int argc, char** argv) try {
  const dma::Config cli = dma::Config::from_args(argc, argv);
  const std::filesystem::path store = cli.require<std::string>("store");
  const std::filesystem::path out = cli.require<std::string>("out");
  const auto eval_n = cli.get<std::size_t>("eval_sim", 0);
  const auto eval_base = cli.get<std::uint64_t>("eval_base", 900000);
  const auto eval_seeds = cli.get<std::size_t>("eval_seeds", 2);
  dma::mixers::Guidance guide;
  guide.candidates = cli.get<int>("eval_candidates", 0);
  guide.margin = cli.get<double>("eval_margin", 0.0);
  guide.concentration = cli.get<double>("eval_concentration", 0.0);
  if (guide.candidates < 0) dma::fail(cli.source(), ": field 'eval_candidates' must be >= 0");
  // Everything else is the pipeline config.
  dma::Json pj = cli.json();
  for (const char* k : {"store", "out", "eval_sim", "eval_base", "eval_seeds", "eval_candidates", "eval_margin",
                        "eval_concentration", "args"})
    pj.erase(k);
  const dma::rl::PipelineConfig pc = dma::rl::PipelineConfig::from_json(pj, cli.source());

  const auto data = dma::collect::read_store(store);
  std::printf("train_agent: %zu trajectories from %s; learner %s\n", data.size(), store.c_str(),
              dma::rl::to_string(pc.learner));
  const dma::rl::TrainedAgents res = dma::rl::train_agents(data, pc);
  std::filesystem::create_directories(out);
  dma::Json rep = res.report;
  rep["store"] = store.string();
  if (res.warm) res.warm->save(out / (pc.learner == dma::rl::PipelineLearner::Bc ||
                                              pc.learner == dma::rl::PipelineLearner::BcCql ? "agent_bc.dmaa" : "agent_sft.dmaa"));
  if (res.cql) res.cql->save(out / "agent_cql.dmaa");
  res.final_agent().save(out / "agent.dmaa");
  for (const auto& [name, lr] : rep["learners"].items())
    std::printf("  %-4s %3zu epochs, %6.2f s, loss %.4f -> %.4f\n", name.c_str(), lr["curve"].size(),
                lr["seconds"].get<double>(), lr["curve"].empty() ? 0.0 : lr["curve"].front().get<double>(),
                lr["curve"].empty() ? 0.0 : lr["curve"].back().get<double>());
  if (rep.contains("q_sanity"))
    for (const char* part : {"held_out", "train"}) {
      const auto& q = rep["q_sanity"][part];
      if (q["n"].get<std::size_t>() == 0) continue;
      std::printf("  Q sanity (%s, %zu states): pearson %.3f (within stage %.3f), mean error %+.4f, mean |error| %.4f "
                  "(sd of G %.4f)\n",
                  part, q["n"].get<std::size_t>(), q["pearson"].get<double>(), q["pearson_within_stage"].get<double>(),
                  q["mean_error"].get<double>(),
                  q["mean_abs_error"].get<double>(), q["sd_return_to_go"].get<double>());
    }
  if (eval_n > 0) {
    const dma::Json meta = dma::collect::read_store_schema(store);
    rep["eval_sim"] = eval_on_sim(meta.value("metadata", dma::Json::object()), res, pc, eval_n, eval_base, eval_seeds, guide);
    std::printf("  deployed on %zu new sim instances x %zu seeds: %s\n", eval_n, eval_seeds,
                rep["eval_sim"]["mean_return"].dump().c_str());
    if (rep["eval_sim"].contains("cql_minus_warm"))
      std::printf("  cql - warm: %s\n", rep["eval_sim"]["cql_minus_warm"].dump().c_str());
    if (rep["eval_sim"].contains("cql_guided_minus_warm"))
      std::printf("  cql_guided - warm: %s\n", rep["eval_sim"]["cql_guided_minus_warm"].dump().c_str());
  }
  dma::save_json(out / "train_report.json", rep);
  std::printf("  total %.2f s; wrote %s\n", rep["seconds"]["total"].get<double>(), (out / "train_report.json").c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "train_agent: %s\n", e.what());
  return 1;
}
