#include <catch2/catch.hpp>

#include <dma/data/sampler.hpp>

#include <cmath>
#include <numeric>
#include <set>
#include <vector>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_data_sampler {

using dma::Token;
using dma::data::CapPolicy;
using dma::data::MixtureSampler;
using dma::data::SamplerConfig;

namespace {
SamplerConfig small_config() {
  SamplerConfig c;
  c.batch = 2;
  c.context = 3;
  return c;
}
// Domain d holds tokens d*1000 + (position mod 1000): the value tells domain and position.
std::vector<std::vector<Token>> make_domains(const std::vector<std::size_t>& sizes) {
  std::vector<std::vector<Token>> out;
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    std::vector<Token> v(sizes[d]);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<Token>(d * 1000 + i % 1000);
    out.push_back(std::move(v));
  }
  return out;
}
std::vector<std::span<const Token>> spans(const std::vector<std::vector<Token>>& v) {
  std::vector<std::span<const Token>> s;
  for (const auto& x : v) s.emplace_back(x);
  return s;
}
}  // namespace

TEST_CASE("sampler: realised token shares match the weights within 1% over 1e5 draws", "[data][cpu]") {
  const auto data = make_domains({5000, 7000, 3000, 20000});
  SamplerConfig cfg;
  cfg.batch = 4;
  cfg.context = 15;
  MixtureSampler s(spans(data), cfg, 7);
  const dma::Mixture w{0.1, 0.35, 0.05, 0.5};
  s.set_weights(w);
  std::vector<Token> buf(s.batch_tokens());
  const std::size_t rows = 100000;
  for (std::size_t b = 0; b < rows / cfg.batch; ++b) {
    s.next_batch(buf);
    // every row's tokens come from the domain it is attributed to
    for (std::size_t r = 0; r < cfg.batch; ++r)
      REQUIRE(buf[r * 16] / 1000 == s.row_domains()[r]);
  }
  double max_err = 0;
  for (std::size_t d = 0; d < 4; ++d) {
    const double share = double(s.tokens(d)) / double(s.total_tokens());
    max_err = std::max(max_err, std::abs(share - w[d]));
    CHECK(share == Approx(w[d]).margin(0.01));
    // smooth weighted round robin: within D rows of the exact count at all times
    CHECK(std::abs(double(s.rows(d)) - w[d] * rows) < 4.0);
  }
  CHECK(s.total_tokens() == rows * 16);
  CHECK(max_err < 0.01);
}

TEST_CASE("sampler: shares stay exact when the weights change between stages", "[data][cpu]") {
  const auto data = make_domains({4000, 4000, 4000});
  SamplerConfig cfg;
  cfg.batch = 8;
  cfg.context = 7;
  MixtureSampler s(spans(data), cfg, 1);
  std::vector<Token> buf(s.batch_tokens());
  std::vector<std::uint64_t> before(3, 0);
  const std::vector<dma::Mixture> stages{{1.0, 0.0, 0.0}, {0.2, 0.3, 0.5}, {0.0, 0.0, 1.0}};
  for (const auto& w : stages) {
    s.set_weights(w);
    for (int b = 0; b < 125; ++b) s.next_batch(buf);  // 1000 rows per stage
    for (std::size_t d = 0; d < 3; ++d) {
      const double got = double(s.rows(d) - before[d]);
      CHECK(std::abs(got - w[d] * 1000) < 3.0);
      if (w[d] == 0) CHECK(got == 0);  // a zero-weight domain never gets a row
      before[d] = s.rows(d);
    }
  }
}

TEST_CASE("sampler: resuming from a saved state reproduces the identical stream", "[data][cpu]") {
  const auto data = make_domains({3001, 977, 12345});
  SamplerConfig cfg;
  cfg.batch = 5;
  cfg.context = 31;
  cfg.pool_limit = {0, 500, 0};
  MixtureSampler a(spans(data), cfg, 99);
  a.set_weights({0.3, 0.3, 0.4});
  std::vector<Token> buf(a.batch_tokens()), buf2(a.batch_tokens());
  for (int i = 0; i < 37; ++i) a.next_batch(buf);
  const std::string state = a.state_bytes();

  std::vector<Token> expect;
  for (int i = 0; i < 50; ++i) {
    a.next_batch(buf);
    expect.insert(expect.end(), buf.begin(), buf.end());
  }
  MixtureSampler b(spans(data), cfg, 99);
  b.restore(state);
  std::vector<Token> got;
  for (int i = 0; i < 50; ++i) {
    b.next_batch(buf2);
    got.insert(got.end(), buf2.begin(), buf2.end());
  }
  CHECK(got == expect);
  for (std::size_t d = 0; d < 3; ++d) CHECK(a.tokens(d) == b.tokens(d));

  // the same seed gives the same stream, another seed another one
  MixtureSampler c(spans(data), cfg, 99), e(spans(data), cfg, 100);
  c.set_weights({0.3, 0.3, 0.4});
  e.set_weights({0.3, 0.3, 0.4});
  c.next_batch(buf);
  e.next_batch(buf2);
  CHECK(buf != buf2);

  // a corrupted or mismatched state is rejected with a clear error
  std::string bad = state;
  bad[30] ^= 1;
  CHECK_THROWS_WITH(b.restore(bad, "s.bin"), Catch::Contains("s.bin") && Catch::Contains("checksum"));
  SamplerConfig other = cfg;
  other.context = 15;
  MixtureSampler f(spans(data), other, 99);
  CHECK_THROWS_WITH(f.restore(state, "s.bin"), Catch::Contains("context"));
}

TEST_CASE("sampler: invalid weights raise a clear error", "[data][cpu]") {
  const auto data = make_domains({100, 100});
  MixtureSampler s(spans(data), small_config(), 0);
  CHECK_THROWS_WITH(s.set_weights({0.5, 0.25}), Catch::Contains("sum to 0.75"));
  CHECK_THROWS_WITH(s.set_weights({1.0}), Catch::Contains("expected 2 weights"));
  CHECK_THROWS_WITH(s.set_weights({1.5, -0.5}), Catch::Contains("negative"));
  CHECK_THROWS_WITH(s.set_weights({NAN, 1.0}), Catch::Contains("not finite"));
  std::vector<Token> buf(s.batch_tokens());
  CHECK_THROWS_WITH(s.next_batch(buf), Catch::Contains("set_weights"));
  std::vector<Token> small(3);
  s.set_weights({0.5, 0.5});
  CHECK_THROWS_WITH(s.next_batch(small), Catch::Contains("expected B*(T+1)"));
  std::vector<Token> empty;
  MixtureSampler z({std::span<const Token>(data[0]), std::span<const Token>(empty)}, small_config(), 0);
  CHECK_THROWS_WITH(z.set_weights({0.5, 0.5}), Catch::Contains("no tokens"));
}

TEST_CASE("sampler: pool limit and epoch counting are exact, each epoch covers the pool once",
          "[data][cpu]") {
  const auto data = make_domains({1000, 5000});
  SamplerConfig cfg;
  cfg.batch = 1;
  cfg.context = 9;               // rows of 10 tokens
  cfg.pool_limit = {0, 200};     // domain 1: first 200 tokens only, 20 windows per epoch
  MixtureSampler s(spans(data), cfg, 3);
  s.set_weights({0.0, 1.0});
  CHECK(s.pool_tokens(1) == 200);
  std::vector<Token> row(10);
  std::multiset<Token> seen;
  for (int i = 0; i < 20; ++i) {
    s.next_batch(row);
    for (Token t : row) {
      REQUIRE(t >= 1000);
      REQUIRE(t < 1200);  // never beyond the pool limit
      seen.insert(t);
    }
  }
  CHECK(s.epochs(1) == 1.0);
  // one epoch = every pool token exactly once (windows tile the cyclic pool)
  CHECK(seen.size() == 200);
  CHECK(std::set<Token>(seen.begin(), seen.end()).size() == 200);
  for (int i = 0; i < 7; ++i) s.next_batch(row);
  CHECK(s.epochs(1) == Approx(270.0 / 200.0));
  CHECK(s.tokens(1) == 270);
  CHECK(s.epochs(0) == 0.0);
}

TEST_CASE("sampler: the repetition cap raises an error or clamps, as configured", "[data][cpu]") {
  const auto data = make_domains({1000, 100});
  SamplerConfig cfg;
  cfg.batch = 2;
  cfg.context = 9;
  cfg.max_epochs = 2.0;  // domain 1: 200 tokens = 20 rows allowed
  {
    MixtureSampler s(spans(data), cfg, 5, {"web", "math"});
    s.set_weights({0.5, 0.5});
    std::vector<Token> buf(s.batch_tokens());
    for (int i = 0; i < 20; ++i) s.next_batch(buf);  // 20 math rows = exactly 2 epochs
    CHECK(s.epochs(1) == 2.0);
    CHECK_THROWS_WITH(s.next_batch(buf), Catch::Contains("'math'") && Catch::Contains("repetition cap"));
  }
  {
    cfg.on_cap = CapPolicy::Clamp;
    MixtureSampler s(spans(data), cfg, 5, {"web", "math"});
    s.set_weights({0.5, 0.5});
    std::vector<Token> buf(s.batch_tokens());
    for (int i = 0; i < 40; ++i) s.next_batch(buf);
    CHECK(s.epochs(1) == 2.0);
    CHECK(s.exhausted(1));
    CHECK(s.rows(0) == 60);  // the remaining rows went to the other domain
    CHECK(s.effective_weights()[0] == 1.0);
    CHECK_THROWS_WITH(s.set_weights({0.0, 1.0}), Catch::Contains("exhausted"));
  }
}

}  // namespace dma_test_data_sampler
