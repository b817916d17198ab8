// dma/mixers/episode.hpp: run_episode(mixer, env, reward, run_seed) -> Trajectory: one deployment
// of any Mixer on any Environment, with rewards, validating every mixture the mixer returns (the
// error names the mixer and the stage). Also Schedule, a Mixer that replays an open-loop list of
// mixtures (generators' schedules, the oracle's). Tested in tests/unit/mixers_episode.cpp.
#pragma once

#include <string>
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
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] const std::vector<Mixture>& schedule() const noexcept { return m_schedule; }

 private:
  std::vector<Mixture> m_schedule;
  std::string m_name;
};

static_assert(Mixer<Schedule>);

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
  const EpisodeSpec& spec = tr.history.spec;
  mixer.reset(spec);
  const std::string who = "mixture from mixer '" + std::string(mixer.name()) + "'";
  tr.generator = mixer.name();
  for (std::size_t t = 0; t < spec.stages; ++t) {
    Mixture m = mixer.next(tr.history);
    space::validate_mixture(m, spec.num_domains(), who + " at stage " + std::to_string(t + 1));
    Step s;
    s.feedback = env.step(m);
    const Feedback& prev = tr.history.last();
    s.reward = double(reward(prev, s.feedback, m, RewardContext{tr.history.initial, spec, t + 1}));
    s.mixture = std::move(m);
    tr.history.steps.push_back(std::move(s));
  }
  return tr;
}

}  // namespace dma::mixers
