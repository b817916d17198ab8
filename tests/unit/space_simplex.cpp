#include <catch2/catch.hpp>

#include <dma/space/simplex.hpp>

#include <cmath>
#include <limits>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_space_simplex {

using dma::Mixture;
namespace sp = dma::space;

TEST_CASE("simplex: invalid mixtures raise a clear dma::Error", "[space][cpu]") {
  CHECK_NOTHROW(sp::validate_mixture({0.25, 0.75}, 2));
  CHECK_THROWS_WITH(sp::validate_mixture({0.5, std::nan("")}, 2),
                    Catch::Contains("weight 1 is not finite"));
  CHECK_THROWS_WITH(sp::validate_mixture({1.5, -0.5}, 2), Catch::Contains("weight 1 is negative"));
  CHECK_THROWS_WITH(sp::validate_mixture({0.5, 0.5}, 3), Catch::Contains("expected 3 weights"));
  CHECK_THROWS_WITH(sp::validate_mixture({0.5, 0.6}, 2), Catch::Contains("sum to 1.1"));
  CHECK_THROWS_AS(sp::validate_mixture({std::numeric_limits<double>::infinity(), 0}, 2), dma::Error);
}

TEST_CASE("simplex: projection lands on the simplex and is the nearest point", "[space][cpu]") {
  const Mixture p = sp::project({0.9, 0.8, -0.3});
  CHECK_NOTHROW(sp::validate_mixture(p, 3));
  CHECK(p[0] == Approx(0.55));
  CHECK(p[1] == Approx(0.45));
  CHECK(p[2] == Approx(0.0));
  const Mixture q = sp::project({0.2, 0.3, 0.5});
  CHECK(q[2] == Approx(0.5));
}

TEST_CASE("simplex: Dirichlet draws have the right mean", "[space][cpu]") {
  dma::Rng r(5);
  std::vector<double> alpha{1.0, 2.0, 5.0};
  std::vector<double> mean(3, 0.0);
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    auto x = sp::dirichlet(alpha, r);
    REQUIRE_NOTHROW(sp::validate_mixture(x, 3));
    for (int k = 0; k < 3; ++k) mean[k] += x[k] / n;
  }
  CHECK(mean[0] == Approx(1.0 / 8).margin(0.005));
  CHECK(mean[1] == Approx(2.0 / 8).margin(0.005));
  CHECK(mean[2] == Approx(5.0 / 8).margin(0.005));
}

TEST_CASE("simplex: entropy and KL match hand-computed values", "[space][cpu]") {
  CHECK(sp::entropy({0.5, 0.5}) == Approx(std::log(2.0)));
  CHECK(sp::entropy({1.0, 0.0}) == Approx(0.0));
  CHECK(sp::kl({0.5, 0.5}, {0.25, 0.75}) ==
        Approx(0.5 * std::log(2.0) + 0.5 * std::log(0.5 / 0.75)));
  CHECK(std::isinf(sp::kl({0.5, 0.5}, {1.0, 0.0})));
}

}  // namespace dma_test_space_simplex
