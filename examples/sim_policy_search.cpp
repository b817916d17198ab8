// examples/sim_policy_search.cpp: an ONLINE reference on the simulated family [ours]. How much of
// the uniform-to-oracle gap can a feedback-driven policy close when it is optimised directly on
// the simulator, with millions of episodes, instead of learned offline from a few hundred stored
// trajectories (examples/quickstart_sim)? The oracle knows the instance; this policy, like the
// agent, sees only the history. It is a yardstick for the agent, not a product mixer.
//
// The "share policy": the target field's share of the next stage = sigmoid(MLP(x)), with an even
// split inside each field, where x = the agent's global features of the history at its last token
// (agent/features.hpp, standardised on uniform runs of the training instances) plus log(#source
// domains) and #target domains - 1. The MLP has one tanh hidden layer (--hidden, 0 = linear).
// Its weights are searched by the cross-entropy method (Rubinstein 1999): each iteration draws
// --population weight vectors from a diagonal Gaussian, scores each by its mean return on every
// training instance (one run seed per iteration, shared by the population), and refits the
// Gaussian to the --elite best. Then the mean weights are deployed next to uniform, the oracle
// and the best static mixture in hindsight, on validation instances (--validation_base) and on
// the held-out instances that quickstart_sim reports (--heldout_base), same seeds and table.
// Options: --out DIR, --train_instances N (400), --iterations N (250), --population N (48),
// --elite N (8), --hidden N (6), --init_sd X (0.5), --heldout N (24), --seeds N (2),
// --validation_base N (500000), --heldout_base N (900000), --threads N (2), --seed N, --quiet.
// Writes DIR/results.json (both tables, the learning curve, the weights, timing).
// Tested in tests/integration/sim_policy_search.cpp; results in docs/AGENT.md ("Session 6").
#include <dma/agent/features.hpp>
#include <dma/core/config.hpp>
#include <dma/core/progress.hpp>
#include <dma/core/rng.hpp>
#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/mixers/uniform.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/runtime.hpp>
#include <dma/trainer/sim_suite.hpp>
#include <dma/trainer/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Standardisation of the policy's inputs and the MLP's shape.
struct Inputs {
  Eigen::RowVectorXd mean, sd;  // over the global features
  int hidden = 6;

  // Unstandardised inputs of every token of `h` (row t: the state before stage t + 1).
  [[nodiscard]] static Eigen::MatrixXd raw(const dma::History& h) {
    const dma::agent::Features f = dma::agent::extract_features(h);
    const auto ns = double(std::count_if(h.spec.domains.begin(), h.spec.domains.end(),
                                         [](const auto& d) { return d.field == dma::Field::Source; }));
    const double nt = double(h.spec.num_domains()) - ns;
    const Eigen::Index G = f.global.cols();
    Eigen::MatrixXd x(f.tokens, G + 2);
    x.leftCols(G) = f.global;
    x.col(G).setConstant(std::log(std::max(ns, 1.0)));
    x.col(G + 1).setConstant(nt - 1.0);
    return x;
  }
  [[nodiscard]] std::size_t size() const { return std::size_t(mean.size()); }
  [[nodiscard]] std::size_t num_weights() const {
    const std::size_t P = size();
    return hidden == 0 ? P + 1 : std::size_t(hidden) * (P + 1) + std::size_t(hidden) + 1;
  }
};

// The share policy as a Mixer (concepts.hpp): deterministic, so a copy per episode is cheap.
class SharePolicy {
 public:
  SharePolicy(std::shared_ptr<const Inputs> in, std::shared_ptr<const std::vector<double>> w, std::string name)
      : m_in(std::move(in)), m_w(std::move(w)), m_name(std::move(name)) {}
  void reset(const dma::EpisodeSpec&) {}
  dma::Mixture next(const dma::History& h) const { return dma::mixers::fixed_mixture(h.spec, share(h)); }
  [[nodiscard]] std::string name() const { return m_name; }

  [[nodiscard]] double share(const dma::History& h) const {
    const Eigen::MatrixXd r = Inputs::raw(h);
    const Eigen::RowVectorXd x = ((r.row(r.rows() - 1) - m_in->mean).array() / m_in->sd.array()).matrix();
    const auto& w = *m_w;
    const std::size_t P = m_in->size();
    double z;
    if (m_in->hidden == 0) {
      z = w[P];
      for (std::size_t i = 0; i < P; ++i) z += w[i] * x(Eigen::Index(i));
    } else {
      const std::size_t H = std::size_t(m_in->hidden), out = H * (P + 1);
      z = w[out + H];
      for (std::size_t k = 0; k < H; ++k) {
        double a = w[k * (P + 1) + P];
        for (std::size_t i = 0; i < P; ++i) a += w[k * (P + 1) + i] * x(Eigen::Index(i));
        z += w[out + k] * std::tanh(a);
      }
    }
    return 1.0 / (1.0 + std::exp(-z));
  }

 private:
  std::shared_ptr<const Inputs> m_in;
  std::shared_ptr<const std::vector<double>> m_w;
  std::string m_name;
};
static_assert(dma::Mixer<SharePolicy>);

}  // namespace

int main(int argc, char** argv) try {
  const auto t_start = Clock::now();
  const dma::Config cfg = dma::Config::from_args(argc, argv);
  const std::filesystem::path out = cfg.get<std::string>("out", "out/sim_policy_search");
  const auto n_train = cfg.get<std::size_t>("train_instances", 400);
  const auto iterations = cfg.get<std::size_t>("iterations", 250);
  const auto population = cfg.get<std::size_t>("population", 48);
  const auto elite = cfg.get<std::size_t>("elite", 8);
  const auto n_heldout = cfg.get<std::size_t>("heldout", 24);
  const auto n_seeds = cfg.get<std::size_t>("seeds", 2);
  const auto validation_base = cfg.get<std::uint64_t>("validation_base", 500000);
  const auto heldout_base = cfg.get<std::uint64_t>("heldout_base", 900000);
  const auto threads = std::max<std::size_t>(1, cfg.get<std::size_t>("threads", 2));
  const double init_sd = cfg.get<double>("init_sd", 0.5);
  const bool quiet = cfg.get<bool>("quiet", false);
  auto inputs = std::make_shared<Inputs>();
  inputs->hidden = cfg.get<int>("hidden", 6);
  if (inputs->hidden < 0) dma::fail(cfg.source(), ": field 'hidden': expected >= 0, got ", inputs->hidden);
  if (elite == 0 || elite > population)
    dma::fail(cfg.source(), ": field 'elite': expected 1..population (", population, "), got ", elite);
  if (n_train == 0 || iterations == 0) dma::fail(cfg.source(), ": 'train_instances' and 'iterations' must be > 0");
  std::filesystem::create_directories(out);

  using Env = dma::env::SimEnv;
  using Reward = dma::reward::Balanced;
  dma::trainer::SimSuite suite;  // the instances of quickstart_sim (trainer/sim_suite.hpp)
  dma::Trainer<Env, Reward> trainer([&](std::uint64_t s) { return suite.make(s); },
                                                              Reward{});
  std::vector<Env> train;
  for (auto s : suite.train_seeds(n_train)) train.push_back(suite.make(s));

  // Standardise the inputs on uniform runs of the training instances (every token).
  {
    Eigen::RowVectorXd s, s2;
    double n = 0;
    for (const Env& proto : train) {
      Env e = proto.fork();
      dma::mixers::Uniform u;
      const Eigen::MatrixXd X = Inputs::raw(dma::mixers::run_episode(u, e, trainer.reward(), 1).history);
      if (n == 0) s = Eigen::RowVectorXd::Zero(X.cols()), s2 = s;
      for (Eigen::Index t = 0; t < X.rows(); ++t) s += X.row(t), s2 += X.row(t).array().square().matrix(), n += 1;
    }
    inputs->mean = s / n;
    inputs->sd = (s2 / n - inputs->mean.array().square().matrix()).array().max(0.0).sqrt().max(1e-6).matrix();
  }
  const std::shared_ptr<const Inputs> in = inputs;
  const std::size_t W = in->num_weights();

  // Mean return of weights `w` over `envs` on one run seed.
  auto score = [&](const std::vector<double>& w, const std::vector<Env>& envs, std::uint64_t run_seed) {
    const SharePolicy pol(in, std::make_shared<const std::vector<double>>(w), "share_policy");
    double total = 0;
    for (const Env& proto : envs) {
      Env e = proto.fork();
      SharePolicy p = pol;
      total += dma::mixers::run_episode(p, e, trainer.reward(), run_seed).total_return();
    }
    return total / double(envs.size());
  };

  // ---- cross-entropy method ---------------------------------------------------------------------
  dma::Rng rng = dma::Rng(cfg.get<std::uint64_t>("seed", 5)).split("sim_policy_search.cem");
  std::vector<double> mu(W, 0.0), sd(W, init_sd);
  const std::uint64_t fixed_seed = 1;  // the run seed of the before/after training scores
  const double train_initial = score(mu, train, fixed_seed);
  dma::Json curve = dma::Json::array();
  dma::Progress prog("cem", iterations, 2.0, !quiet);
  const auto t_search = Clock::now();
  for (std::size_t it = 0; it < iterations; ++it) {
    std::vector<std::vector<double>> cand(population, std::vector<double>(W));
    for (auto& c : cand)
      for (std::size_t i = 0; i < W; ++i) c[i] = mu[i] + sd[i] * rng.normal();
    std::vector<double> val(population);
    const std::uint64_t run_seed = 100 + it;
    std::vector<std::thread> pool;
    for (std::size_t k = 0; k < threads; ++k)
      pool.emplace_back([&, k] {
        for (std::size_t j = k; j < population; j += threads) val[j] = score(cand[j], train, run_seed);
      });
    for (auto& th : pool) th.join();
    std::vector<std::size_t> idx(population);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return val[a] > val[b]; });
    double elite_mean = 0;
    for (std::size_t i = 0; i < W; ++i) {
      double m = 0, v = 0;
      for (std::size_t e = 0; e < elite; ++e) m += cand[idx[e]][i];
      m /= double(elite);
      for (std::size_t e = 0; e < elite; ++e) v += (cand[idx[e]][i] - m) * (cand[idx[e]][i] - m);
      mu[i] = m;
      sd[i] = std::sqrt(v / double(elite)) + 0.01;  // a floor keeps the search from collapsing early
    }
    for (std::size_t e = 0; e < elite; ++e) elite_mean += val[idx[e]] / double(elite);
    curve.push_back({{"iteration", it + 1}, {"best", val[idx[0]]}, {"elite_mean", elite_mean}});
    char buf[64];
    std::snprintf(buf, sizeof buf, "elite mean %.4f", elite_mean);
    prog.tick(buf);
  }
  const double t_cem = since(t_search);
  const double train_final = score(mu, train, fixed_seed);
  std::printf("share policy (%zu weights, hidden %d): mean training return on run seed %llu %.4f -> %.4f; "
              "%zu x %zu x %zu episodes in %.1f s\n", W, in->hidden, (unsigned long long)fixed_seed,
              train_initial, train_final, iterations, population, train.size(), t_cem);

  // ---- deploy on validation and held-out instances ----------------------------------------------
  const auto weights = std::make_shared<const std::vector<double>>(mu);
  std::vector<dma::trainer::AnyMixer> methods;
  methods.emplace_back(dma::mixers::Uniform{});
  methods.emplace_back(SharePolicy(in, weights, "share_policy(online CEM)"));
  dma::trainer::OracleColumns oc;  // the oracle and the best static mixture in hindsight
  std::vector<std::uint64_t> run_seeds;
  for (std::size_t s = 0; s < n_seeds; ++s) run_seeds.push_back(11 + s);
  dma::Json results;
  for (const auto& [label, base] : {std::pair<std::string, std::uint64_t>{"validation", validation_base},
                                    {"heldout", heldout_base}}) {
    const auto table = trainer.compare(methods, suite.heldout(n_heldout, base), run_seeds,
                                       oc.columns<decltype(trainer)>(), false);
    std::cout << "\n==== " << label << " instances (base " << base << ") ====";
    table.print(std::cout);
    results[label] = table.to_json();
    results[label]["base"] = base;
  }
  results["train"] = {{"instances", train.size()}, {"return_initial", train_initial},
                      {"return_final", train_final}, {"run_seed", fixed_seed}};
  results["cem"] = {{"iterations", iterations}, {"population", population}, {"elite", elite},
                    {"init_sd", init_sd}, {"curve", curve}};
  results["policy"] = {{"hidden", in->hidden}, {"weights", mu},
                       {"input_mean", std::vector<double>(in->mean.data(), in->mean.data() + in->mean.size())},
                       {"input_sd", std::vector<double>(in->sd.data(), in->sd.data() + in->sd.size())}};
  results["family"] = suite.family.to_json();
  results["reward"] = "balanced(worst_weight=0.5)";
  results["run_seeds"] = run_seeds;
  results["seconds"] = {{"cem", t_cem}, {"total", since(t_start)}};
  dma::save_json(out / "results.json", results);
  std::printf("\nwrote %s; total %.1f s\n", (out / "results.json").c_str(), since(t_start));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "sim_policy_search: %s\n", e.what());
  return 1;
}
