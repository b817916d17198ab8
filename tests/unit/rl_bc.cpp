#include <catch2/catch.hpp>

#include <dma/agent/agent.hpp>
#include <dma/rl/bc.hpp>
#include <dma/rl/sft.hpp>

// A one-stage, two-domain toy: good trajectories put 0.7 on the target, bad ones 0.2, in equal
// numbers. SFT (top half by return) imitates the good ones; plain BC imitates the average.
namespace {

std::vector<dma::Trajectory> good_and_bad() {
  std::vector<dma::Trajectory> data;
  for (std::uint64_t k = 0; k < 32; ++k) {
    const bool good = k % 2 == 0;
    dma::Trajectory tr;
    tr.history.spec.domains = {{"src", dma::Field::Source}, {"tgt", dma::Field::Target}};
    tr.history.spec.stages = 1;
    tr.history.initial.loss = {2.0, 3.0};
    const double x = good ? 0.7 : 0.2;
    dma::Step st;
    st.mixture = {1 - x, x};
    st.feedback.loss = {2.0 + 0.1 * x, 3.0 - 0.5 * x};
    st.reward = good ? 1.0 : 0.0;
    tr.history.steps.push_back(st);
    tr.id = k;
    tr.episode_seed = 1;
    data.push_back(tr);
  }
  return data;
}

double target_share(const dma::agent::Agent& a) {
  dma::History h;
  h.spec.domains = {{"src", dma::Field::Source}, {"tgt", dma::Field::Target}};
  h.spec.stages = 1;
  h.initial.loss = {2.0, 3.0};
  return a.act(h)[1];
}

}  // namespace

TEST_CASE("bc: clones all trajectories (the average), SFT only the best", "[rl][cpu]") {
  const auto data = good_and_bad();
  dma::agent::Agent bc_agent({}, 3), sft_agent({}, 3);
  const auto rb = dma::rl::Bc({.epochs = 60}).fit(data, bc_agent);
  dma::rl::SftConfig sc;
  sc.top_fraction = 0.5;
  sc.epochs = 60;
  const auto rs = dma::rl::Sft(sc).fit(data, sft_agent);
  CHECK(rb.learner == "bc");
  CHECK(rb.trajectories == 32);
  CHECK(rs.trajectories == 16);
  // Cross-entropy to a 50/50 mixture of 0.2 and 0.7 is minimised at their mean, 0.45.
  CHECK(target_share(bc_agent) == Approx(0.45).margin(0.04));
  CHECK(target_share(sft_agent) == Approx(0.7).margin(0.04));
  CHECK_THROWS_AS(dma::rl::Bc({.batch = 0}), dma::Error);
}
