// dma/mixers/agent.hpp: AgentMixer, a trained agent deployed as a Mixer: at every stage it reads
// the history and returns the agent's deterministic mixture (Agent::act), or, with a Guidance of
// candidates > 0, the critic-guided choice among mixtures sampled around it (Agent::act_guided).
// The agent is shared and frozen (shared_ptr<const Agent>), so copies of the mixer (one per
// episode in compare()) are cheap and never change it. Tested in tests/unit/rl_sft.cpp and
// tests/unit/rl_cql.cpp (guided selection).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "dma/agent/agent.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"

namespace dma::mixers {

// Deployment-time action selection with the agent's critic (see Agent::act_guided).
struct Guidance {
  int candidates = 0;      // mixtures sampled around the policy's; 0 = plain Agent::act
  double margin = 0.0;     // Q gain (RMS-return units) a candidate needs over the policy's mixture
  std::uint64_t seed = 0;  // candidate stream (per stage: split by h.t())
  double concentration = 0.0;  // candidates' Dirichlet concentration (0: the agent's own)
};

class AgentMixer {
 public:
  AgentMixer(std::shared_ptr<const agent::Agent> agent, std::string name, Guidance guide = {})
      : m_agent(std::move(agent)), m_name(std::move(name)), m_guide(guide) {
    if (!m_agent) fail("agent mixer '", m_name, "': no agent given");
    if (m_guide.candidates < 0 || !(m_guide.concentration >= 0))
      fail("agent mixer '", m_name, "': guidance candidates and concentration must be >= 0");
  }
  void reset(const EpisodeSpec& spec) {
    if (spec.num_domains() == 0) fail("agent mixer '", m_name, "': the episode has no domains");
  }
  Mixture next(const History& h) {
    return m_guide.candidates > 0 ? m_agent->act_guided(h, m_guide.candidates, m_guide.margin, m_guide.seed,
                                                         m_guide.concentration)
                                  : m_agent->act(h);
  }
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] const agent::Agent& agent() const noexcept { return *m_agent; }
  [[nodiscard]] const Guidance& guidance() const noexcept { return m_guide; }

 private:
  std::shared_ptr<const agent::Agent> m_agent;
  std::string m_name;
  Guidance m_guide;
};

static_assert(Mixer<AgentMixer>);

}  // namespace dma::mixers
