// dma/trainer/experiment_config.hpp: ExperimentConfig, everything the main job (trainer/
// experiment.hpp, examples/experiment.cpp) reads from a preset (examples/presets/experiment-*.json):
// where the data is, the proxy and the 4x larger proxy, base pre-training budgets, the CPT run
// shape (an env::CptConfig fragment), the collection plan, agent training, the baselines' budgets,
// the benchmark sizes, seeds and target weights. Unknown keys are an error naming the key.
// Tested in tests/unit/trainer_experiment.cpp.
#pragma once

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"

namespace dma::trainer {

// The settings of the main job, in report order.
inline const std::vector<std::string>& experiment_setting_names() {
  static const std::vector<std::string> n{"in_dist_2d", "in_dist_kd", "scarcity", "unseen_model",
                                          "unseen_source", "unseen_space", "code_target"};
  return n;
}

// The kinds of score a benchmark suite can hold (trainer::BenchmarkSuite); `where` names the key.
inline void check_benchmark_kinds(const std::vector<std::string>& kinds, std::size_t choice_items, const std::string& where) {
  if (kinds.empty()) fail(where, ": expected at least one benchmark kind of \"bpb\", \"gold\", \"choice\"");
  for (const auto& k : kinds)
    if (k != "bpb" && k != "gold" && k != "choice")
      fail(where, ": benchmark kind '", k, "': expected \"bpb\", \"gold\" or \"choice\"");
  if (std::find(kinds.begin(), kinds.end(), "choice") != kinds.end() && choice_items == 0)
    fail(where, ": benchmark kind 'choice' needs benchmark.choice_items >= 4");
}

struct ExperimentConfig {
  std::string preset = "custom";
  // Data: "shards" (per-source shards + the prepared corpus's manifest for the K-D spaces) or
  // "synthetic" (a small generated corpus in memory: tests and dry runs, never results).
  std::string data = "shards";
  std::filesystem::path shards = ".cache/dma-data/shards";
  std::filesystem::path manifest = ".cache/dma-data/manifest.json";
  std::filesystem::path cache_dir = ".cache/dma-base";  // base models (env/base_model.hpp)
  std::size_t threads = 1;          // CPU threads per CPT run
  std::size_t parallel = 2;         // settings deployed at once (and collection workers)
  std::size_t seeds = 1;            // deployment seeds per setting
  std::vector<double> target_weights{0.5, 0.7};
  std::vector<std::string> settings = experiment_setting_names();

  Json proxy = Json::object();      // model::ModelConfig of the collection / deployment proxy
  Json large = Json::object();      // the unseen target model (larger, other depth and width)
  Json base = Json::object();       // base pre-training keys (tokens, batch, peak_lr, ...)
  Json large_base = Json::object(); // overrides for the large model's base
  std::vector<std::string> alt_sources;  // the unseen source field's base sources
  Json cpt = Json::object();        // env::CptConfig keys: stages, tokens_per_stage, batch, peak_lr, eval
  std::size_t two_d_tokens_per_source = 1'000'000;  // the merged "source" domain of the 2-D space
  std::size_t kd_k = 8, kd_k_unseen = 4, kd_restarts = 1;
  std::uint64_t kd_seed = 1;
  std::vector<std::size_t> collection_pools{0, 8000, 16000};  // hidden target pools (tokens; 0 = all)
  std::vector<std::size_t> scarcity_pools{3000, 6000, 12000, 0};
  // The hidden target pool (tokens) of every deployment setting that draws none (all but
  // scarcity); 0 = the whole target domain [ours: CPT on a small target field repeats it].
  std::size_t target_pool = 0;
  // Collection: instances alternate between the 2-D and the K-D space.
  std::size_t instances = 8, groups = 2, branches = 4, prefix_stages = 2;
  std::uint64_t collection_seed = 1;
  int sft_epochs = 60, cql_epochs = 10;
  double agent_holdout = 0.0;       // share of collection instances held out of agent training (Q sanity)
  std::size_t bench_windows = 32, bench_probe_items = 16;
  // Multiple-choice items per probe of the benchmark suite, and which kinds of score make it up
  // ("bpb", "gold", "choice"; BenchmarkSuite). Defaults: no choice items, bpb + gold.
  std::size_t bench_choice_items = 0;
  std::vector<std::string> bench_kinds{"bpb", "gold"};
  std::size_t grid = 5;             // static shares 0, 1/grid, ..., 1 (tuning and hindsight)
  std::size_t tune_instances = 2;   // collection instances the static share is tuned on
  std::size_t regmix_runs = 8, regmix_transfer_runs = 12;

  static ExperimentConfig from_json(const Json& j, const std::string& source) {
    static const std::set<std::string> known{
        "name", "about", "preset", "data", "shards", "manifest", "cache_dir", "threads", "parallel", "seeds",
        "target_weights", "settings", "proxy", "large", "base", "large_base", "alt_sources", "cpt",
        "two_d_tokens_per_source", "target_pool", "kd", "collection", "agents", "benchmark", "baselines", "out", "config", "args"};
    if (!j.is_object()) fail(source, ": expected a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!known.count(it.key())) fail(source, ": unknown key '", it.key(), "'");
    const Config c(j, source);
    ExperimentConfig e;
    e.preset = c.get<std::string>("preset", c.get<std::string>("name", e.preset));
    e.data = c.get<std::string>("data", e.data);
    if (e.data != "shards" && e.data != "synthetic")
      fail(source, ": key 'data': expected \"shards\" or \"synthetic\", got \"", e.data, "\"");
    e.shards = c.get<std::string>("shards", e.shards.string());
    e.manifest = c.get<std::string>("manifest", e.manifest.string());
    e.cache_dir = c.get<std::string>("cache_dir", e.cache_dir.string());
    e.threads = c.get<std::size_t>("threads", e.threads);
    e.parallel = c.get<std::size_t>("parallel", e.parallel);
    e.seeds = c.get<std::size_t>("seeds", e.seeds);
    e.target_weights = c.get<std::vector<double>>("target_weights", e.target_weights);
    e.settings = c.get<std::vector<std::string>>("settings", e.settings);
    for (const char* k : {"proxy", "large", "base", "large_base", "cpt"})
      if (j.contains(k) && !j[k].is_object()) fail(source, ": key '", k, "': expected an object");
    if (j.contains("proxy")) e.proxy = j["proxy"];
    if (j.contains("large")) e.large = j["large"];
    if (j.contains("base")) e.base = j["base"];
    if (j.contains("large_base")) e.large_base = j["large_base"];
    if (j.contains("cpt")) e.cpt = j["cpt"];
    e.alt_sources = c.get<std::vector<std::string>>("alt_sources", e.alt_sources);
    e.two_d_tokens_per_source = c.get<std::size_t>("two_d_tokens_per_source", e.two_d_tokens_per_source);
    e.kd_k = c.get<std::size_t>("kd.k", e.kd_k);
    e.kd_k_unseen = c.get<std::size_t>("kd.k_unseen", e.kd_k_unseen);
    e.kd_restarts = c.get<std::size_t>("kd.restarts", e.kd_restarts);
    e.kd_seed = c.get<std::uint64_t>("kd.seed", e.kd_seed);
    e.collection_pools = c.get<std::vector<std::size_t>>("collection.pools", e.collection_pools);
    e.scarcity_pools = c.get<std::vector<std::size_t>>("collection.scarcity_pools", e.scarcity_pools);
    e.target_pool = c.get<std::size_t>("target_pool", e.target_pool);
    e.instances = c.get<std::size_t>("collection.instances", e.instances);
    e.groups = c.get<std::size_t>("collection.groups", e.groups);
    e.branches = c.get<std::size_t>("collection.branches", e.branches);
    e.prefix_stages = c.get<std::size_t>("collection.prefix_stages", e.prefix_stages);
    e.collection_seed = c.get<std::uint64_t>("collection.seed", e.collection_seed);
    e.sft_epochs = c.get<int>("agents.sft_epochs", e.sft_epochs);
    e.cql_epochs = c.get<int>("agents.cql_epochs", e.cql_epochs);
    e.agent_holdout = c.get<double>("agents.holdout_fraction", e.agent_holdout);
    e.bench_windows = c.get<std::size_t>("benchmark.windows", e.bench_windows);
    e.bench_probe_items = c.get<std::size_t>("benchmark.probe_items", e.bench_probe_items);
    e.bench_choice_items = c.get<std::size_t>("benchmark.choice_items", e.bench_choice_items);
    e.bench_kinds = c.get<std::vector<std::string>>("benchmark.kinds", e.bench_kinds);
    e.grid = c.get<std::size_t>("baselines.grid", e.grid);
    e.tune_instances = c.get<std::size_t>("baselines.tune_instances", e.tune_instances);
    e.regmix_runs = c.get<std::size_t>("baselines.regmix_runs", e.regmix_runs);
    e.regmix_transfer_runs = c.get<std::size_t>("baselines.regmix_transfer_runs", e.regmix_transfer_runs);
    e.validate(source);
    return e;
  }

  void validate(const std::string& source) const {
    if (seeds == 0) fail(source, ": key 'seeds': expected >= 1");
    if (threads == 0 || parallel == 0) fail(source, ": keys 'threads' and 'parallel': expected >= 1");
    if (target_weights.empty()) fail(source, ": key 'target_weights': expected at least one weight");
    for (double w : target_weights)
      if (!(w >= 0 && w <= 1)) fail(source, ": key 'target_weights': expected weights in [0, 1], got ", w);
    for (const auto& s : settings) {
      const auto& n = experiment_setting_names();
      if (std::find(n.begin(), n.end(), s) == n.end()) fail(source, ": key 'settings': unknown setting '", s, "'");
    }
    if (instances < 2) fail(source, ": key 'collection.instances': expected >= 2 (2-D and K-D instances)");
    if (grid == 0) fail(source, ": key 'baselines.grid': expected >= 1");
    if (regmix_runs < 3 || regmix_transfer_runs < 3) fail(source, ": RegMix needs >= 3 proxy runs");
    check_benchmark_kinds(bench_kinds, bench_choice_items, source + ": key 'benchmark.kinds'");
    if (bench_choice_items > 0 && bench_choice_items < 4)
      fail(source, ": key 'benchmark.choice_items': expected 0 or >= 4 (four choices per item)");
    if (kd_k < 2 || kd_k_unseen < 2 || kd_k == kd_k_unseen)
      fail(source, ": keys 'kd.k', 'kd.k_unseen': expected two different sizes >= 2");
  }

  // What changes the results (the fingerprint a finished stage is checked against).
  [[nodiscard]] Json to_json() const {
    Json j{{"preset", preset}, {"data", data}, {"shards", shards.string()}, {"manifest", manifest.string()},
                {"seeds", seeds}, {"target_weights", target_weights}, {"settings", settings}, {"proxy", proxy},
                {"large", large}, {"base", base}, {"large_base", large_base}, {"alt_sources", alt_sources},
                {"cpt", cpt}, {"two_d_tokens_per_source", two_d_tokens_per_source},
                {"kd", {{"k", kd_k}, {"k_unseen", kd_k_unseen}, {"restarts", kd_restarts}, {"seed", kd_seed}}},
                {"collection", {{"pools", collection_pools}, {"scarcity_pools", scarcity_pools},
                                {"instances", instances}, {"groups", groups}, {"branches", branches},
                                {"prefix_stages", prefix_stages}, {"seed", collection_seed}}},
                {"agents", {{"sft_epochs", sft_epochs}, {"cql_epochs", cql_epochs}, {"holdout_fraction", agent_holdout},
                        {"learner", "rl::train_agents"}}},
                {"benchmark", {{"windows", bench_windows}, {"probe_items", bench_probe_items}}},
                {"baselines", {{"grid", grid}, {"tune_instances", tune_instances}, {"regmix_runs", regmix_runs},
                               {"regmix_transfer_runs", regmix_transfer_runs}}}};
    if (target_pool != 0) j["target_pool"] = target_pool;  // absent by default: earlier fingerprints hold
    if (bench_choice_items != 0 || bench_kinds != std::vector<std::string>{"bpb", "gold"}) {  // likewise
      j["benchmark"]["choice_items"] = bench_choice_items;
      j["benchmark"]["kinds"] = bench_kinds;
    }
    return j;
  }
};

}  // namespace dma::trainer
