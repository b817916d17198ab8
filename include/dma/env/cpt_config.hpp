// dma/env/cpt_config.hpp: the configuration of the continual pre-training environment
// (env::Cpt, env/cpt.hpp) and of the base models it starts from (env/base_model.hpp): model
// shape, source-only pre-training, CPT stages and LR re-warm, evaluation sizes, and the regimes
// (hidden per-domain pool limits, instance-drawn target pools). JSON in and out; every key has a
// default (docs/ENVIRONMENT.md lists them). Configuration only: no state, no IO besides JSON.
// Tested in tests/unit/env_cpt.cpp (bad keys raise dma::Error naming the key).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/reflect.hpp"
#include "dma/model/config.hpp"
#include "dma/model/optim.hpp"

namespace dma::env {

namespace detail {
// A 64-bit FNV-style hash over raw bytes, 8 bytes a step (fast enough for ~30 MB shards); used
// for cache keys and world fingerprints, not for security.
inline std::uint64_t hash_bytes(const void* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  const auto* b = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}
inline std::uint64_t hash_string(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
  return hash_bytes(s.data(), s.size(), h);
}
inline std::string hex64(std::uint64_t v) {
  static const char* d = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[std::size_t(i)] = d[v & 15];
  return s;
}
}  // namespace detail

// A base model: the proxy pre-trained on a mixture of source domains only. Its identity (what the
// cache key hashes) is everything here except the cache folder and the thread count [ours: a
// cached base is reused whatever the thread count; threads only change float summation order].
struct BaseModelConfig {
  model::ModelConfig model{};          // the pilot's proxy: d_model 128, 4 layers, 4 heads, ctx 128
  std::filesystem::path shards;        // shard folder of the source domains (empty: the CPT's)
  std::vector<std::string> sources;    // source domains to pre-train on (empty: every source domain)
  std::vector<double> weights;         // their mixture (empty: equal)
  std::size_t tokens = 2'500'000;      // pre-training budget (the pilot's 2.5M)
  std::size_t batch = 8;
  float peak_lr = 1e-3f;
  double warmup_frac = 0.02;           // linear warmup over this share of the steps, then cosine
  float min_ratio = 0.1f;
  model::AdamWConfig adamw{};
  std::uint64_t seed = 1;              // init and data order
  std::filesystem::path cache_dir = ".cache/dma-base";
  std::size_t threads = 1;

  [[nodiscard]] std::size_t steps() const noexcept {
    const std::size_t per = batch * model.context;
    return per ? std::max<std::size_t>(1, (tokens + per / 2) / per) : 0;
  }
  // Identity of the base model (the cache key hashes this plus the data's fingerprint).
  [[nodiscard]] Json identity() const {
    Json j = to_json();
    for (const char* k : {"shards", "cache_dir", "threads"}) j.erase(k);
    return j;
  }
  static constexpr auto fields() {
    using namespace reflect;
    using B = BaseModelConfig;
    return make_fields(field("model", &B::model), field("shards", &B::shards), field("sources", &B::sources),
                       field("weights", &B::weights), field("tokens", &B::tokens), field("batch", &B::batch),
                       field("peak_lr", &B::peak_lr), field("warmup_frac", &B::warmup_frac),
                       field("min_ratio", &B::min_ratio), field("adamw", &B::adamw), field("seed", &B::seed),
                       field("cache_dir", &B::cache_dir), field("threads", &B::threads));
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
  static BaseModelConfig from_config(const Config& c) { return reflect::from_json<BaseModelConfig>(c.json(), c.source()); }
  void validate(const std::string& source) const {
    if (batch == 0) fail(source, ": key 'batch': expected >= 1");
    if (tokens < batch * model.context)
      fail(source, ": key 'tokens': expected at least one batch (", batch * model.context, " tokens), got ", tokens);
    if (!weights.empty() && weights.size() != sources.size())
      fail(source, ": key 'weights': ", weights.size(), " weights for ", sources.size(),
           " sources (list the sources when giving weights)");
    for (double w : weights)
      if (!(w >= 0)) fail(source, ": key 'weights': expected non-negative weights, got ", w);
    if (!(peak_lr > 0)) fail(source, ": key 'peak_lr': expected > 0, got ", peak_lr);
    if (!(warmup_frac >= 0 && warmup_frac < 1)) fail(source, ": key 'warmup_frac': expected in [0, 1), got ", warmup_frac);
    if (threads == 0) fail(source, ": key 'threads': expected >= 1");
  }
};

// What is evaluated after every stage (fast) and at the end (final_eval()).
struct CptEvalConfig {
  std::size_t windows = 64;            // fixed held-out windows of context+1 bytes per domain per stage
  std::size_t probe_items = 32;        // gold-answer probe items per probe per stage
  std::size_t probe_context_bytes = 64;// context of a probe item cut from running text
  std::size_t probe_answer_bytes = 64; // gold continuation scored per item
  std::string answer_marker = "\nAnswer:";  // target documents with it give question -> answer probes
  std::size_t batch = 16;              // evaluation batch (forward only)
  std::size_t final_windows = 512;     // final_eval(): windows per domain
  std::size_t final_probe_items = 256; // final_eval(): gold items per probe
  std::size_t final_exact_items = 16;  // final_eval(): greedy exact-match items per target probe
  std::size_t exact_max_bytes = 160;
  // Multiple-choice items per probe (CptEvalSet: the gold continuation among four, accuracy),
  // per stage and in final_eval(); 0 = none, else >= 4.
  std::size_t choice_items = 0, final_choice_items = 0;

  static constexpr auto fields() {
    using namespace reflect;
    using E = CptEvalConfig;
    return make_fields(field("windows", &E::windows), field("probe_items", &E::probe_items),
                       field("probe_context_bytes", &E::probe_context_bytes),
                       field("probe_answer_bytes", &E::probe_answer_bytes), field("answer_marker", &E::answer_marker),
                       field("batch", &E::batch), field("final_windows", &E::final_windows),
                       field("final_probe_items", &E::final_probe_items),
                       field("final_exact_items", &E::final_exact_items), field("exact_max_bytes", &E::exact_max_bytes),
                       // Written only when set, so that the fingerprints of earlier configs hold.
                       field("choice_items", &E::choice_items).omit_default<E>(),
                       field("final_choice_items", &E::final_choice_items).omit_default<E>());
  }
  void validate(const std::string& source) const {
    for (auto [k, v] : {std::pair{"choice_items", choice_items}, std::pair{"final_choice_items", final_choice_items}})
      if (v != 0 && v < 4) fail(source, ": key '", k, "': expected 0 or >= 4 (four choices per item), got ", v);
    if (windows == 0) fail(source, ": key 'windows': expected >= 1");
    if (batch == 0) fail(source, ": key 'batch': expected >= 1");
    if (probe_answer_bytes == 0) fail(source, ": key 'probe_answer_bytes': expected >= 1");
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
  static CptEvalConfig from_config(const Config& c) { return reflect::from_json<CptEvalConfig>(c.json(), c.source()); }
};

// One CPT environment: which domains, which base model, how each stage trains, what is evaluated,
// and the regime (hidden pool limits).
struct CptConfig {
  std::filesystem::path shards;        // folder with space.json (data::ShardSet); empty for in-memory data
  std::vector<std::string> domains;    // the domain space, in order (empty: every domain of the shards)
  BaseModelConfig base{};
  std::size_t stages = 10;
  std::size_t tokens_per_stage = 16384;  // rounded to whole batches of batch x context tokens
  std::size_t batch = 8;
  float peak_lr = 5e-4f;               // re-warmed CPT peak [pilot: 3e-4..5e-4 for this size]
  float start_lr = 0.0f;               // where the re-warm starts
  double warmup_frac = 0.06;           // share of all CPT steps spent re-warming
  float min_ratio = 0.1f;              // cosine (or WSD decay) to this share of the peak at the end of the budget
  // "cosine": re-warm then cosine over the rest [Gupta et al. 2023]; "wsd": re-warm, hold the peak,
  // decay linearly over the last decay_frac of the budget [Hu et al. 2024, MiniCPM; Hägele et al. 2024].
  std::string lr_schedule = "cosine";
  double decay_frac = 0.2;             // "wsd": share of all CPT steps in the decay phase
  model::AdamWConfig adamw{};          // fresh moments at every reset()
  std::size_t threads = 1;             // CPU threads of one environment
  double target_weight = 0.5;          // the user's objective weight, passed to mixers in the spec
  // Hidden pool limits in tokens (= bytes for the byte tokenizer), by domain name; 0 = whole domain.
  std::map<std::string, std::size_t> pool_tokens;
  // When not empty: each instance seed draws one of these as the pool of every target domain
  // (0 = unlimited); overrides pool_tokens for target domains [ours: a hidden, varying pool].
  std::vector<std::size_t> target_pool_choices;
  double max_epochs = std::numeric_limits<double>::infinity();  // sampler repetition cap (Error)
  double memory_budget_mb = 0;         // > 0: refuse a world whose estimated memory exceeds it (model/guard.hpp)
  CptEvalConfig eval{};

  [[nodiscard]] std::size_t steps_per_stage() const noexcept {
    const std::size_t per = batch * base.model.context;
    return per ? std::max<std::size_t>(1, (tokens_per_stage + per / 2) / per) : 0;
  }
  [[nodiscard]] std::size_t total_steps() const noexcept { return stages * steps_per_stage(); }
  [[nodiscard]] std::size_t warmup_steps() const noexcept {
    return std::max<std::size_t>(1, std::size_t(warmup_frac * double(total_steps()) + 0.5));
  }
  // "wsd": steps of the decay phase (at least one, never into the warmup).
  [[nodiscard]] std::size_t decay_steps() const noexcept {
    const std::size_t room = total_steps() > warmup_steps() ? total_steps() - warmup_steps() : 1;
    return std::clamp<std::size_t>(std::size_t(decay_frac * double(total_steps()) + 0.5), 1, room);
  }
  // The first stage (0-based) with a step in the decay phase ("wsd"; stages for "cosine").
  [[nodiscard]] std::size_t decay_start_stage() const noexcept {
    if (lr_schedule != "wsd") return stages;
    const std::size_t per = std::max<std::size_t>(1, steps_per_stage());
    return (total_steps() - decay_steps()) / per;
  }

  static constexpr auto fields() {
    using namespace reflect;
    using K = CptConfig;
    // lr_schedule and decay_frac are written only for a schedule other than cosine, so that the
    // fingerprints of cosine worlds stay as they were.
    auto not_cosine = [](const K& k) { return k.lr_schedule != "cosine"; };
    return make_fields(field("shards", &K::shards), field("domains", &K::domains), field("base", &K::base),
                       field("stages", &K::stages), field("tokens_per_stage", &K::tokens_per_stage),
                       field("batch", &K::batch), field("peak_lr", &K::peak_lr), field("start_lr", &K::start_lr),
                       field("warmup_frac", &K::warmup_frac), field("min_ratio", &K::min_ratio),
                       field("lr_schedule", &K::lr_schedule).written_if(not_cosine),
                       field("decay_frac", &K::decay_frac).written_if(not_cosine), field("adamw", &K::adamw),
                       field("threads", &K::threads), field("target_weight", &K::target_weight),
                       field("pool_tokens", &K::pool_tokens), field("target_pool_choices", &K::target_pool_choices),
                       field("max_epochs", &K::max_epochs, InfOrNumber{}), field("eval", &K::eval),
                       field("memory_budget_mb", &K::memory_budget_mb));
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
  // What changes the trajectories (the world fingerprint hashes this): everything but threads and
  // paths (the data enters through its own fingerprint).
  [[nodiscard]] Json identity() const {
    Json j = to_json();
    j.erase("threads");
    j.erase("shards");
    j.erase("memory_budget_mb");
    j["base"] = base.identity();
    return j;
  }

  static CptConfig from_config(const Config& c) { return reflect::from_json<CptConfig>(c.json(), c.source()); }
  static CptConfig from_json(const Json& j, const std::string& source) { return reflect::from_json<CptConfig>(j, source); }

  void validate(const std::string& source) const {
    if (stages == 0) fail(source, ": key 'stages': expected >= 1");
    if (batch == 0) fail(source, ": key 'batch': expected >= 1");
    if (tokens_per_stage < batch * base.model.context)
      fail(source, ": key 'tokens_per_stage': expected at least one batch (", batch * base.model.context,
           " tokens), got ", tokens_per_stage);
    if (!(peak_lr > 0)) fail(source, ": key 'peak_lr': expected > 0, got ", peak_lr);
    if (!(start_lr >= 0)) fail(source, ": key 'start_lr': expected >= 0, got ", start_lr);
    if (!(memory_budget_mb >= 0)) fail(source, ": key 'memory_budget_mb': expected >= 0 (0 = no check), got ", memory_budget_mb);
    if (!(warmup_frac >= 0 && warmup_frac < 1)) fail(source, ": key 'warmup_frac': expected in [0, 1), got ", warmup_frac);
    if (!(min_ratio >= 0 && min_ratio <= 1)) fail(source, ": key 'min_ratio': expected in [0, 1], got ", min_ratio);
    if (lr_schedule != "cosine" && lr_schedule != "wsd")
      fail(source, ": key 'lr_schedule': expected \"cosine\" or \"wsd\", got \"", lr_schedule, "\"");
    if (!(decay_frac > 0 && decay_frac <= 1)) fail(source, ": key 'decay_frac': expected in (0, 1], got ", decay_frac);
    if (threads == 0) fail(source, ": key 'threads': expected >= 1");
    if (!(target_weight >= 0 && target_weight <= 1))
      fail(source, ": key 'target_weight': expected in [0, 1], got ", target_weight);
    if (!(max_epochs > 0)) fail(source, ": key 'max_epochs': expected > 0, got ", max_epochs);
  }
};

}  // namespace dma::env
