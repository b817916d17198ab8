// dma/rl/then.hpp: Then<First, Second>, two learners composed as one type: First fits the agent,
// then Second starts from First's result on the same data. The paper's pipeline is
// Then<Sft, Cql> (CQL warm-started by the SFT agent [paper]); Then<Bc, Cql> is its ablation, and
// Then nests (Then<Then<A, B>, C>). fit() returns every step's LearnReport in order; an optional
// callback sees the agent between the steps (to keep the warm-start agent as a method of its own).
// Used by rl/pipeline.hpp and trainer::Trainer; tested in tests/unit/trainer_compose.cpp.
#pragma once

#include <concepts>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/rl/report.hpp"

namespace dma::rl {

namespace detail {
struct NoCallback {
  template <class A>
  void operator()(const A&) const {}
};
template <class T>
concept Reports = std::same_as<T, LearnReport> || std::same_as<T, std::vector<LearnReport>>;
inline void append_reports(std::vector<LearnReport>& out, LearnReport r) { out.push_back(std::move(r)); }
inline void append_reports(std::vector<LearnReport>& out, std::vector<LearnReport> r) {
  for (auto& x : r) out.push_back(std::move(x));
}
}  // namespace detail

template <class First, class Second>
class Then {
 public:
  Then() = default;
  Then(First first, Second second) : m_first(std::move(first)), m_second(std::move(second)) {}

  // Fits First, calls after_first(agent), then fits Second from there. Returns the reports in
  // order (a std::vector<LearnReport> when both steps report LearnReports, as dma::rl's learners
  // do; otherwise the pair of the two results).
  template <class Agent, class AfterFirst = detail::NoCallback>
  auto fit(const std::vector<Trajectory>& data, Agent& agent, AfterFirst&& after_first = {}) {
    static_assert(Learner<First, Agent>, "dma::rl::Then: First must model dma::Learner for this agent");
    static_assert(Learner<Second, Agent>, "dma::rl::Then: Second must model dma::Learner for this agent");
    auto r1 = m_first.fit(data, agent);
    after_first(static_cast<const Agent&>(agent));
    auto r2 = m_second.fit(data, agent);
    if constexpr (detail::Reports<decltype(r1)> && detail::Reports<decltype(r2)>) {
      std::vector<LearnReport> out;
      detail::append_reports(out, std::move(r1));
      detail::append_reports(out, std::move(r2));
      return out;
    } else {
      return std::pair{std::move(r1), std::move(r2)};
    }
  }
  [[nodiscard]] std::string name() const { return std::string(m_first.name()) + "+" + std::string(m_second.name()); }
  [[nodiscard]] First& first() noexcept { return m_first; }
  [[nodiscard]] Second& second() noexcept { return m_second; }

 private:
  First m_first;
  Second m_second;
};

}  // namespace dma::rl
