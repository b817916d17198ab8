#include <catch2/catch.hpp>

#include <dma/space/runtime.hpp>
#include <dma/space/static.hpp>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_space_runtime {

using dma::Field;
namespace sp = dma::space;

TEST_CASE("runtime space: JSON round trip keeps names and fields", "[space][cpu]") {
  const auto j = dma::parse_json(
      R"({"domains":[{"name":"fiction","field":"source"},{"name":"math","field":"target"},{"name":"legal"}]})", "t");
  const auto s = sp::RuntimeSpace::from_json(j);
  STATIC_REQUIRE(dma::DomainSpace<sp::RuntimeSpace>);
  REQUIRE(s.size() == 3);
  CHECK(s.name(1) == "math");
  CHECK(s.field(1) == Field::Target);
  CHECK(s.field(2) == Field::Source);  // field defaults to source
  const auto back = sp::RuntimeSpace::from_json(s.to_json());
  CHECK(back.name(2) == "legal");
  const auto spec = s.spec(10, 0.3);
  CHECK(spec.count(Field::Target) == 1);
  CHECK(spec.stages == 10);
  CHECK(spec.target_weight == 0.3);
}

TEST_CASE("runtime space: bad input raises an error naming the problem", "[space][cpu]") {
  CHECK_THROWS_WITH(sp::RuntimeSpace({}, "m.json"), Catch::Contains("m.json") && Catch::Contains("at least one"));
  CHECK_THROWS_WITH(sp::RuntimeSpace({{"a", Field::Source}, {"a", Field::Target}}), Catch::Contains("'a' appears twice"));
  CHECK_THROWS_WITH(sp::RuntimeSpace::from_json(dma::parse_json(R"({"domains":[{"name":"x","field":"tgt"}]})", "t"), "m.json"),
                    Catch::Contains("domains[0].field"));
  CHECK_THROWS_WITH(sp::RuntimeSpace::from_json(dma::parse_json(R"({"d":[]})", "t"), "m.json"),
                    Catch::Contains("array 'domains'"));
}

TEST_CASE("static space: counts are compile-time constants and agree with the runtime space", "[space][cpu]") {
  using S = sp::StaticSpace<sp::Domain<"fiction">, sp::Domain<"math", Field::Target>, sp::Domain<"legal">>;
  STATIC_REQUIRE(dma::DomainSpace<S>);
  STATIC_REQUIRE(S::kSize == 3);
  STATIC_REQUIRE(S::kTargets == 1);
  STATIC_REQUIRE(S::kSources == 2);
  const S s;
  CHECK(s.name(0) == "fiction");
  CHECK(s.field(1) == Field::Target);
  const auto r = s.to_runtime();
  for (std::size_t i = 0; i < S::size(); ++i) {
    CHECK(r.name(i) == s.name(i));
    CHECK(r.field(i) == s.field(i));
  }
}

}  // namespace dma_test_space_runtime
