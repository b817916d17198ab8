#include <catch2/catch.hpp>

#include <dma/mixers/probe_commit.hpp>
#include <dma/space/simplex.hpp>

#include <cmath>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_probe_commit {

using dma::Field;
using dma::Mixture;

namespace {
// A history whose mean target loss falls by d1, then d2 (2 stages done).
dma::History two_stages(double d1, double d2) {
  dma::History h;
  h.spec = {{{"s1", Field::Source}, {"s2", Field::Source}, {"t", Field::Target}}, 6, 0.5};
  h.initial.loss = {2.0, 2.0, 3.0};
  for (double tl : {3.0 - d1, 3.0 - d1 - d2}) {
    dma::Step s;
    s.mixture = {0.3, 0.3, 0.4};
    s.feedback.loss = {2.1, 2.5, tl};
    h.steps.push_back(s);
  }
  return h;
}
}  // namespace

TEST_CASE("probe_commit: probes at the start share, commits to gain x (last gain / previous gain)", "[mixers][cpu]") {
  dma::mixers::ProbeCommitOptions o;
  o.start_share = 0.35;
  o.probe_stages = 2;
  o.gain = 0.6;
  o.source_temperature = 0.3;
  dma::mixers::ProbeCommit pc(o);
  auto h = two_stages(0.2, 0.1);
  pc.reset(h.spec);
  dma::History first = h;
  first.steps.resize(1);
  CHECK(dma::space::field_share(pc.next(first), h.spec, Field::Target) == Approx(0.35));
  // Gains 0.2 then 0.1: q = 0.5, committed share 0.6 * 0.5 = 0.3, kept afterwards.
  const Mixture m = pc.next(h);
  CHECK(dma::space::field_share(m, h.spec, Field::Target) == Approx(0.3));
  // The source that forgot more (s2: +0.5 over base, s1: +0.1) gets more, by exp(0.4 / 0.3).
  CHECK(m[1] / m[0] == Approx(std::exp(0.4 / 0.3)));
  // Gains that do not shrink (0.1, then 0.2): the share is clamped at max_share.
  dma::mixers::ProbeCommit up(o);
  up.reset(h.spec);
  CHECK(dma::space::field_share(up.next(two_stages(0.1, 0.2)), h.spec, Field::Target) == Approx(o.max_share));
  o.probe_stages = 1;
  CHECK_THROWS_WITH(dma::mixers::ProbeCommit(o), Catch::Contains("probe_stages"));
}

}  // namespace dma_test_mixers_probe_commit
