// dma/core/types.hpp: the vocabulary types that flow between the policies.
// Mixture (a point on the simplex over D domains), DomainInfo/EpisodeSpec (what a mixer is told
// about the domain space and the run), Feedback (what an Environment reports after a stage),
// Step/History (what a Mixer reads), Trajectory (what collection stores and learners read).
// Shape letters: D domains, S stages of a trajectory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace dma {

// A token id. Byte-level tokenization uses 256 bytes + a few specials; uint16 keeps shards small
// and leaves room for a BPE vocabulary of up to 65,536 entries.
using Token = std::uint16_t;

// A domain mixture: weights over D domains, finite, >= 0, summing to 1 (see space/simplex.hpp).
using Mixture = std::vector<double>;

enum class Field : std::uint8_t { Source = 0, Target = 1 };

inline const char* to_string(Field f) noexcept { return f == Field::Source ? "source" : "target"; }

struct DomainInfo {
  std::string name;
  Field field = Field::Source;
};

// What every mixer is told at the start of a run. `target_weight` is the user's objective
// weight of the target field against the source field (0.5 = balanced) [ours].
struct EpisodeSpec {
  std::vector<DomainInfo> domains;
  std::size_t stages = 0;
  double target_weight = 0.5;

  [[nodiscard]] std::size_t num_domains() const noexcept { return domains.size(); }
  [[nodiscard]] std::size_t count(Field f) const noexcept {
    std::size_t n = 0;
    for (const auto& d : domains) n += (d.field == f);
    return n;
  }
};

// What an Environment reports after reset() and after each stage.
// `loss` is per domain (held-out loss, lower is better, length D); `score` is per probe
// (higher is better, e.g. gold-answer log-prob or accuracy) with `score_field` telling which
// field each probe measures. Cost is cumulative since reset().
struct Feedback {
  std::vector<double> loss;
  std::vector<double> score;
  std::vector<Field> score_field;
  std::vector<std::string> score_name;
  double tokens = 0;   // tokens trained since reset
  double flops = 0;    // model FLOPs spent since reset (training + evaluation)
  double seconds = 0;  // wall seconds spent since reset
};

struct Step {
  Mixture mixture;    // the mixture used for this stage
  Feedback feedback;  // evaluation after the stage
  double reward = 0;  // reward of this stage (set by the collector / trainer)
};

// What a Mixer reads: the spec, the feedback of the starting model, and the stages so far.
struct History {
  EpisodeSpec spec;
  Feedback initial;
  std::vector<Step> steps;

  [[nodiscard]] std::size_t t() const noexcept { return steps.size(); }
  [[nodiscard]] const Feedback& last() const noexcept {
    return steps.empty() ? initial : steps.back().feedback;
  }
};

// One collected run. `episode_seed` identifies the environment instance, `generator` the
// schedule generator that produced the mixtures.
struct Trajectory {
  History history;
  std::string generator;
  std::uint64_t episode_seed = 0;
  std::uint64_t id = 0;

  [[nodiscard]] double total_return() const noexcept {
    double r = 0;
    for (const auto& s : history.steps) r += s.reward;
    return r;
  }
};

}  // namespace dma
