// dma/core/concepts.hpp: the compile-time policies of dma (see docs/ARCHITECTURE.md).
// Backend, DomainSpace, Environment, Reward, Mixer, Learner, ScheduleGenerator. Every model of
// a concept is followed by static_assert(dma::Concept<Model>); tests/compile/ holds negative
// checks. Vocabulary types come from core/types.hpp.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"

namespace dma {

// Where tensors live and how ops run: a tag type with a name and a device flag.
template <class B>
concept Backend = requires {
  { B::name } -> std::convertible_to<const char*>;
  { B::is_device } -> std::convertible_to<bool>;
};

// The list of domains: each with a name and a field (source or target).
template <class S>
concept DomainSpace = requires(const S s, std::size_t i) {
  { s.size() } -> std::convertible_to<std::size_t>;
  { s.name(i) } -> std::convertible_to<std::string>;
  { s.field(i) } -> std::same_as<Field>;
};

// One continual pre-training run that can be stepped, evaluated, forked and saved.
// reset(seed) starts a fresh run from the base model and returns its evaluation;
// step(mixture) trains one stage on data drawn by `mixture`, then evaluates.
template <class E>
concept Environment =
    std::movable<E> && requires(E e, const E ce, const Mixture& m, std::uint64_t seed,
                                const std::filesystem::path& path) {
      { ce.spec() } -> std::convertible_to<EpisodeSpec>;
      { e.reset(seed) } -> std::same_as<Feedback>;
      { e.step(m) } -> std::same_as<Feedback>;
      { ce.fork() } -> std::same_as<E>;
      { ce.save(path) };
      { e.load(path) };
      { ce.tokens_seen() } -> std::convertible_to<double>;
    };

// What a reward sees besides the two feedbacks: the base model's feedback, the stage index
// (1-based: the stage that produced `next`), the run's spec.
struct RewardContext {
  const Feedback& base;
  const EpisodeSpec& spec;
  std::size_t t;
};

// A scalar from two consecutive feedbacks.
template <class R>
concept Reward = requires(const R r, const Feedback& prev, const Feedback& next, const Mixture& m,
                          const RewardContext& ctx) {
  { r(prev, next, m, ctx) } -> std::convertible_to<double>;
};

// A policy that proposes the next mixture from the history. The agent and every baseline are
// Mixers. reset() is called once per run, before the first next().
template <class M>
concept Mixer = requires(M m, const EpisodeSpec& spec, const History& h) {
  { m.reset(spec) };
  { m.next(h) } -> std::convertible_to<Mixture>;
  { m.name() } -> std::convertible_to<std::string>;
};

// A Mixer may declare `bool open_loop() const` (true: its mixtures never read the feedback, only
// the stage index), which lets a runner skip the per-stage evaluation (mixers::run_open_loop).
template <class M>
[[nodiscard]] bool is_open_loop(const M& m) {
  if constexpr (requires { { m.open_loop() } -> std::convertible_to<bool>; })
    return m.open_loop();
  else
    return false;
}

// Produces exploratory open-loop schedules for collection.
template <class G>
concept ScheduleGenerator = requires(const G g, const EpisodeSpec& spec, std::size_t steps,
                                     Rng& rng) {
  { g.sample(spec, steps, rng) } -> std::same_as<std::vector<Mixture>>;
  { g.name() } -> std::convertible_to<std::string>;
};

// An RL algorithm (SFT, CQL, ...) that fits an agent from a dataset of trajectories.
template <class L, class Agent>
concept Learner = requires(L l, const std::vector<Trajectory>& data, Agent& agent) {
  { l.fit(data, agent) };
  { l.name() } -> std::convertible_to<std::string>;
};

// One scoring request: the log-probability of `continuation` given `context`, on raw bytes.
struct ScoreRequest {
  std::string_view context;
  std::string_view continuation;
};

// A language model the evaluator can score with (eval/ works with any of these): score()
// returns, per request, the summed natural-log probability of the continuation's bytes given
// the context; generate_greedy() decodes up to max_bytes bytes after the prompt.
template <class M>
concept ScoringModel = requires(M& m, std::span<const ScoreRequest> reqs, std::string_view prompt,
                                std::size_t max_bytes) {
  { m.score(reqs) } -> std::same_as<std::vector<double>>;
  { m.generate_greedy(prompt, max_bytes) } -> std::convertible_to<std::string>;
};

}  // namespace dma
