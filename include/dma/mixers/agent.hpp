// dma/mixers/agent.hpp: AgentMixer, a trained agent deployed as a Mixer: at every stage it reads
// the history and returns the agent's deterministic mixture (Agent::act). The agent is shared
// and frozen (shared_ptr<const Agent>), so copies of the mixer (one per episode in compare())
// are cheap and never change it. Tested in tests/unit/rl_sft.cpp.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "dma/agent/agent.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"

namespace dma::mixers {

class AgentMixer {
 public:
  AgentMixer(std::shared_ptr<const agent::Agent> agent, std::string name)
      : m_agent(std::move(agent)), m_name(std::move(name)) {
    if (!m_agent) fail("agent mixer '", m_name, "': no agent given");
  }
  void reset(const EpisodeSpec& spec) {
    if (spec.num_domains() == 0) fail("agent mixer '", m_name, "': the episode has no domains");
  }
  Mixture next(const History& h) { return m_agent->act(h); }
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] const agent::Agent& agent() const noexcept { return *m_agent; }

 private:
  std::shared_ptr<const agent::Agent> m_agent;
  std::string m_name;
};

static_assert(Mixer<AgentMixer>);

}  // namespace dma::mixers
