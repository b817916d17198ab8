// dma/space/static.hpp: a DomainSpace fixed at compile time with Boost.Hana.
// StaticSpace<Domain<"fiction">, Domain<"math", Field::Target>> knows its size and its field
// counts as constants (static_assert on them), and models dma::DomainSpace like RuntimeSpace.
// Tested in tests/unit/space_static.cpp (STATIC_REQUIRE on counts, agreement with RuntimeSpace).
#pragma once

#include <boost/hana.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "dma/core/concepts.hpp"
#include "dma/core/types.hpp"
#include "dma/space/runtime.hpp"

namespace dma::space {

// A string usable as a template argument: Domain<"math">.
template <std::size_t N>
struct FixedName {
  char chars[N]{};
  constexpr FixedName(const char (&s)[N]) { std::copy_n(s, N, chars); }
  [[nodiscard]] constexpr std::string_view view() const { return {chars, N - 1}; }
};

template <FixedName Name, Field F = Field::Source>
struct Domain {
  static constexpr std::string_view name = Name.view();
  static constexpr Field field = F;
};

template <class... Ds>
class StaticSpace {
  static constexpr auto kTypes = boost::hana::tuple_t<Ds...>;
  static_assert(sizeof...(Ds) > 0, "a StaticSpace needs at least one Domain<...>");

 public:
  static constexpr std::size_t kSize = boost::hana::value(boost::hana::length(kTypes));
  static constexpr std::size_t kTargets = boost::hana::value(boost::hana::count_if(
      kTypes, [](auto t) { return boost::hana::bool_c<decltype(t)::type::field == Field::Target>; }));
  static constexpr std::size_t kSources = kSize - kTargets;

  [[nodiscard]] static constexpr std::size_t size() noexcept { return kSize; }
  [[nodiscard]] std::string name(std::size_t i) const { return std::string(kNames.at(i)); }
  [[nodiscard]] Field field(std::size_t i) const { return kFields.at(i); }

  [[nodiscard]] RuntimeSpace to_runtime() const {
    std::vector<DomainInfo> ds;
    for (std::size_t i = 0; i < kSize; ++i) ds.push_back({name(i), field(i)});
    return RuntimeSpace(std::move(ds), "static domain space");
  }
  [[nodiscard]] EpisodeSpec spec(std::size_t stages, double target_weight = 0.5) const {
    return to_runtime().spec(stages, target_weight);
  }

 private:
  static constexpr std::array<std::string_view, kSize> kNames{Ds::name...};
  static constexpr std::array<Field, kSize> kFields{Ds::field...};
};

static_assert(DomainSpace<StaticSpace<Domain<"a">, Domain<"b", Field::Target>>>);

}  // namespace dma::space
