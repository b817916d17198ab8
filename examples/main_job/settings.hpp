// main_job/settings.hpp: the main job's seven settings (SettingDef, the paper's
// in-distribution and transfer settings in our terms), and ExperimentConfig, everything it (main_job/
// experiment.hpp, examples/experiment.cpp) reads from a preset (examples/presets/experiment-*.json):
// where the data is, the proxy and the larger unseen model, base pre-training budgets, the CPT run
// shape (an env::CptConfig fragment), the collection plan, agent training, the baselines' budgets,
// the benchmark sizes, seeds and target weights. Unknown keys, at any depth, are an error naming
// the key (core/reflect.hpp).
// Tested in tests/unit/trainer_experiment.cpp.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/reflect.hpp"

namespace dma::main_job {

// One setting of the main job: which space, which base model, which target, hidden pools or not.
struct SettingDef {
  std::string name, title, kind, target;
  std::string space;  // "2d", "kd", "kd_unseen", "sources"
  std::string base;   // "main", "large", "alt"
  bool scarce = false;
};

inline std::vector<SettingDef> experiment_settings() {
  return {
      {"in_dist_2d", "In-distribution, 2-D space (merged sources | math)", "in_distribution", "math", "2d", "main", false},
      {"in_dist_kd", "In-distribution, K-D space (source clusters + math)", "in_distribution", "math", "kd", "main", false},
      {"scarcity", "Hidden target scarcity (pool drawn per run, not told)", "scarcity", "math", "kd", "main", true},
      {"unseen_model", "Unseen target model (larger, other depth and width)", "unseen_model", "math", "kd", "large", false},
      {"unseen_source", "Unseen source field (base pre-trained on other sources)", "source_field", "math", "sources", "alt", false},
      {"unseen_space", "Unseen domain space (K'-D clusters)", "domain_space", "math", "kd_unseen", "main", false},
      {"code_target", "New target field: code (math-trained agent)", "new_target", "code", "kd", "main", false},
  };
}

// The settings' names, in report order.
inline const std::vector<std::string>& experiment_setting_names() {
  static const std::vector<std::string> n = [] {
    std::vector<std::string> v;
    for (const auto& s : experiment_settings()) v.push_back(s.name);
    return v;
  }();
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

// The K-D domain spaces (space/classifier.hpp): cluster counts of the seen and unseen space.
struct KdConfig {
  std::size_t k = 8, k_unseen = 4, restarts = 1;
  std::uint64_t seed = 1;
  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("k", &KdConfig::k), field("k_unseen", &KdConfig::k_unseen),
                       field("restarts", &KdConfig::restarts), field("seed", &KdConfig::seed));
  }
};

// Trajectory collection: instances alternate between the 2-D and the K-D space.
struct CollectionConfig {
  std::vector<std::size_t> pools{0, 8000, 16000};  // hidden target pools (tokens; 0 = all)
  std::vector<std::size_t> scarcity_pools{3000, 6000, 12000, 0};
  std::size_t instances = 8, groups = 2, branches = 4, prefix_stages = 2;
  std::uint64_t seed = 1;
  static constexpr auto fields() {
    using namespace reflect;
    using C = CollectionConfig;
    return make_fields(field("pools", &C::pools), field("scarcity_pools", &C::scarcity_pools),
                       field("instances", &C::instances), field("groups", &C::groups), field("branches", &C::branches),
                       field("prefix_stages", &C::prefix_stages), field("seed", &C::seed));
  }
};

struct AgentsConfig {
  int sft_epochs = 60, cql_epochs = 10;
  double holdout_fraction = 0.0;  // share of collection instances held out of agent training (Q sanity)
  std::string learner = "rl::train_agents";  // the training pipeline, recorded in the fingerprint
  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("sft_epochs", &AgentsConfig::sft_epochs), field("cql_epochs", &AgentsConfig::cql_epochs),
                       field("holdout_fraction", &AgentsConfig::holdout_fraction),
                       field("learner", &AgentsConfig::learner).write_only());
  }
};

// The benchmark suite's sizes, and which kinds of score make it up ("bpb", "gold", "choice";
// BenchmarkSuite). Defaults: no multiple-choice items, bpb + gold.
struct BenchmarkConfig {
  std::size_t windows = 32, probe_items = 16;
  std::size_t choice_items = 0;  // multiple-choice items per probe
  std::vector<std::string> kinds{"bpb", "gold"};
  static constexpr auto fields() {
    using namespace reflect;
    using C = BenchmarkConfig;
    // The default suite's keys only, so that earlier fingerprints hold.
    auto not_default = [](const C& c) { return c.choice_items != 0 || c.kinds != C{}.kinds; };
    return make_fields(field("windows", &C::windows), field("probe_items", &C::probe_items),
                       field("choice_items", &C::choice_items).written_if(not_default),
                       field("kinds", &C::kinds).written_if(not_default));
  }
};

// The baselines' budgets.
struct BaselinesConfig {
  std::size_t grid = 5;            // static shares 0, 1/grid, ..., 1 (tuning and hindsight)
  std::size_t tune_instances = 2;  // collection instances the static share is tuned on
  std::size_t regmix_runs = 8, regmix_transfer_runs = 12;
  static constexpr auto fields() {
    using namespace reflect;
    using C = BaselinesConfig;
    return make_fields(field("grid", &C::grid), field("tune_instances", &C::tune_instances),
                       field("regmix_runs", &C::regmix_runs), field("regmix_transfer_runs", &C::regmix_transfer_runs));
  }
};

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
  // The hidden target pool (tokens) of every deployment setting that draws none (all but
  // scarcity); 0 = the whole target domain [ours: CPT on a small target field repeats it].
  std::size_t target_pool = 0;
  KdConfig kd;
  CollectionConfig collection;
  AgentsConfig agents;
  BenchmarkConfig benchmark;
  BaselinesConfig baselines;

  // The keys of a preset; to_json() is what changes the results (the fingerprint a finished stage
  // is checked against): not the paths of the base cache, nor threads and parallelism.
  static constexpr auto fields() {
    using namespace reflect;
    using E = ExperimentConfig;
    return make_fields(
        ignored("about"), ignored("out"), ignored("config"), ignored("args"),
        field("name", &E::preset).read_only(),  // an older spelling of preset (preset wins)
        field("preset", &E::preset), field("data", &E::data), field("shards", &E::shards),
        field("manifest", &E::manifest), field("cache_dir", &E::cache_dir).read_only(),
        field("threads", &E::threads).read_only(), field("parallel", &E::parallel).read_only(),
        field("seeds", &E::seeds), field("target_weights", &E::target_weights), field("settings", &E::settings),
        field("proxy", &E::proxy), field("large", &E::large), field("base", &E::base),
        field("large_base", &E::large_base), field("alt_sources", &E::alt_sources), field("cpt", &E::cpt),
        field("two_d_tokens_per_source", &E::two_d_tokens_per_source),
        field("target_pool", &E::target_pool).omit_default<E>(),  // absent by default: earlier fingerprints hold
        field("kd", &E::kd), field("collection", &E::collection), field("agents", &E::agents),
        field("benchmark", &E::benchmark), field("baselines", &E::baselines));
  }
  static ExperimentConfig from_json(const Json& j, const std::string& source) {
    return reflect::from_json<ExperimentConfig>(j, source);
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }

  void validate(const std::string& source) const {
    if (data != "shards" && data != "synthetic")
      fail(source, ": key 'data': expected \"shards\" or \"synthetic\", got \"", data, "\"");
    if (seeds == 0) fail(source, ": key 'seeds': expected >= 1");
    if (threads == 0 || parallel == 0) fail(source, ": keys 'threads' and 'parallel': expected >= 1");
    if (target_weights.empty()) fail(source, ": key 'target_weights': expected at least one weight");
    for (double w : target_weights)
      if (!(w >= 0 && w <= 1)) fail(source, ": key 'target_weights': expected weights in [0, 1], got ", w);
    for (const auto& s : settings) {
      const auto& n = experiment_setting_names();
      if (std::find(n.begin(), n.end(), s) == n.end()) fail(source, ": key 'settings': unknown setting '", s, "'");
    }
    if (collection.instances < 2) fail(source, ": key 'collection.instances': expected >= 2 (2-D and K-D instances)");
    if (baselines.grid == 0) fail(source, ": key 'baselines.grid': expected >= 1");
    if (baselines.regmix_runs < 3 || baselines.regmix_transfer_runs < 3) fail(source, ": RegMix needs >= 3 proxy runs");
    check_benchmark_kinds(benchmark.kinds, benchmark.choice_items, source + ": key 'benchmark.kinds'");
    if (benchmark.choice_items > 0 && benchmark.choice_items < 4)
      fail(source, ": key 'benchmark.choice_items': expected 0 or >= 4 (four choices per item)");
    if (kd.k < 2 || kd.k_unseen < 2 || kd.k == kd.k_unseen)
      fail(source, ": keys 'kd.k', 'kd.k_unseen': expected two different sizes >= 2");
  }
};

}  // namespace dma::main_job
