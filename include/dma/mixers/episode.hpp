// dma/mixers/episode.hpp: step_stage(), the one stage step of every loop over an environment, and
// run_episode(mixer, env, reward, run_seed) -> Trajectory: one deployment of any Mixer on any
// Environment, with rewards, validating every mixture the mixer returns (the error names the
// mixer and the stage). Also Schedule, a Mixer that replays an open-loop list of
// mixtures (generators' schedules, the oracle's), and run_open_loop(): a run of an open-loop mixer
// evaluated only after its last stage. Tested in tests/unit/mixers_baselines.cpp.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

// Replays a fixed schedule; stage t uses schedule[min(t, size - 1)].
class Schedule {
 public:
  Schedule(std::vector<Mixture> schedule, std::string name)
      : m_schedule(std::move(schedule)), m_name(std::move(name)) {}
  void reset(const EpisodeSpec& spec) {
    if (m_schedule.empty()) fail("mixer '", m_name, "': empty schedule");
    for (std::size_t t = 0; t < m_schedule.size(); ++t)
      space::validate_mixture(m_schedule[t], spec.num_domains(),
                              "mixer '" + m_name + "' schedule stage " + std::to_string(t + 1));
  }
  Mixture next(const History& h) { return m_schedule[std::min(h.t(), m_schedule.size() - 1)]; }
  [[nodiscard]] bool open_loop() const noexcept { return true; }  // never reads the feedback
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] const std::vector<Mixture>& schedule() const noexcept { return m_schedule; }

 private:
  std::vector<Mixture> m_schedule;
  std::string m_name;
};

static_assert(Mixer<Schedule>);

// A reward of 0 for every stage (proxy runs and open-loop runs are scored by their last feedback).
struct NoReward {};

// An environment that can train a stage without the per-stage evaluation (env::Cpt::train).
template <class E>
concept TrainsWithoutFeedback = requires(E& e, const Mixture& m) { e.train(m); };

// One stage, the step of every loop that drives an environment (run_episode, run_open_loop,
// proxy_run, collect::Collector): validates m (the error names `who` and the stage), steps the
// environment, rewards the step (unless NoReward) and appends it to h. With evaluate = false, an
// environment that TrainsWithoutFeedback only trains (the Step holds the mixture and an empty
// Feedback); any other is stepped as usual.
template <Environment E, class R = NoReward>
void step_stage(E& env, History& h, Mixture m, const std::string& who, const R& reward = {}, bool evaluate = true) {
  const std::size_t t = h.t();
  space::validate_mixture(m, h.spec.num_domains(), who + " at stage " + std::to_string(t + 1));
  Step s;
  if constexpr (TrainsWithoutFeedback<E>) {
    if (evaluate)
      s.feedback = env.step(m);
    else
      env.train(m);
  } else {
    s.feedback = env.step(m);
  }
  if constexpr (!std::is_same_v<R, NoReward>)
    s.reward = double(reward(h.last(), s.feedback, m, RewardContext{h.initial, h.spec, t + 1}));
  s.mixture = std::move(m);
  h.steps.push_back(std::move(s));
}

// One run: env.reset(run_seed), mixer.reset(spec), then spec.stages stages.
template <Mixer M, Environment E, Reward R>
Trajectory run_episode(M& mixer, E& env, const R& reward, std::uint64_t run_seed) {
  Trajectory tr;
  tr.history.initial = env.reset(run_seed);
  tr.history.spec = env.spec();
  // The instance when the environment has one (a family of instances), else the run seed.
  if constexpr (requires { env.instance_seed(); })
    tr.episode_seed = env.instance_seed();
  else
    tr.episode_seed = run_seed;
  mixer.reset(tr.history.spec);
  const std::string who = "mixture from mixer '" + std::string(mixer.name()) + "'";
  tr.generator = mixer.name();
  for (std::size_t t = 0; t < tr.history.spec.stages; ++t) step_stage(env, tr.history, mixer.next(tr.history), who, reward);
  return tr;
}

// One run of an open-loop mixer (is_open_loop) that is scored only at the end: on an environment
// that TrainsWithoutFeedback every stage but the last skips the evaluation; the last stage is a
// full env.step. Rewards are left at 0. The trained model is the one run_episode would train.
template <Mixer M, Environment E>
History run_open_loop(M& mixer, E& env, std::uint64_t run_seed) {
  if (!is_open_loop(mixer)) fail("run_open_loop: mixer '", std::string(mixer.name()), "' reads the feedback");
  History h;
  h.initial = env.reset(run_seed);
  h.spec = env.spec();
  mixer.reset(h.spec);
  const std::string who = "mixture from mixer '" + std::string(mixer.name()) + "'";
  for (std::size_t t = 0; t < h.spec.stages; ++t)
    step_stage(env, h, mixer.next(h), who, NoReward{}, t + 1 == h.spec.stages);
  return h;
}

}  // namespace dma::mixers
