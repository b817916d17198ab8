// dma/reward/compose.hpp: compile-time composition of weighted reward terms (Boost.Hana).
// compose(term(0.7, TargetOnly{}), term(0.3, SourceWorst{})) is a Reward whose value is the
// weighted sum of its terms; the terms are held in a hana::tuple and folded without virtual
// calls. Each term must itself be a dma::Reward (checked with a named static_assert).
// Tested in tests/unit/reward_compose.cpp (hand-computed sums, equality with Balanced).
#pragma once

#include <boost/hana.hpp>

#include <string>

#include "dma/core/concepts.hpp"

namespace dma::reward {

template <class R>
struct Term {
  static_assert(Reward<R>, "reward::Term<R>: R must model dma::Reward (operator()(prev, next, mixture, ctx))");
  double weight;
  R reward;
};

template <class R>
constexpr Term<R> term(double weight, R r) {
  return Term<R>{weight, std::move(r)};
}

template <class... Rs>
class Composite {
 public:
  explicit Composite(Term<Rs>... terms) : m_terms(boost::hana::make_tuple(std::move(terms)...)) {}

  double operator()(const Feedback& prev, const Feedback& next, const Mixture& m,
                    const RewardContext& ctx) const {
    return boost::hana::fold_left(m_terms, 0.0, [&](double acc, const auto& t) {
      return acc + t.weight * double(t.reward(prev, next, m, ctx));
    });
  }
  [[nodiscard]] std::string name() const {
    std::string s;
    boost::hana::for_each(m_terms, [&](const auto& t) {
      if (!s.empty()) s += "+";
      std::string n = "term";
      if constexpr (requires { t.reward.name(); }) n = t.reward.name();
      s += std::to_string(t.weight).substr(0, 4) + "*" + n;
    });
    return s;
  }
  static constexpr std::size_t size() noexcept { return sizeof...(Rs); }

 private:
  boost::hana::tuple<Term<Rs>...> m_terms;
};

template <class... Rs>
Composite<Rs...> compose(Term<Rs>... terms) {
  return Composite<Rs...>(std::move(terms)...);
}

namespace detail {
struct ZeroReward {
  double operator()(const Feedback&, const Feedback&, const Mixture&, const RewardContext&) const { return 0; }
};
}  // namespace detail
static_assert(Reward<Composite<detail::ZeroReward, detail::ZeroReward>>);

}  // namespace dma::reward
