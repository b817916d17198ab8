// gen_math: writes N generated grade-school math problems per split as JSONL, in GSM8K's
// fields ({"question", "answer"}) plus "family", "steps" and "index". The data-preparation
// step uses it to build the `math` target domain (train split) and its held-out sets.
//
//   gen_math --out DIR [--n 1000] [--n_train N] [--n_test N] [--n_test_ood N] [--seed 0]
//            [--min_steps 1] [--max_steps 8]
// writes DIR/train.jsonl, DIR/test.jsonl, DIR/test_ood.jsonl (atomically).
#include <dma/core/config.hpp>
#include <dma/core/error.hpp>
#include <dma/core/file_io.hpp>
#include <dma/core/progress.hpp>
#include <dma/data/mathgen.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  try {
    const auto cfg = dma::Config::from_args(argc, argv);
    const std::filesystem::path out = cfg.require<std::string>("out");
    auto get_int = [&](const std::string& key, long long dflt) { return cfg.get<long long>(key, dflt); };
    dma::data::MathGenConfig mc;
    mc.seed = static_cast<std::uint64_t>(get_int("seed", 0));
    mc.min_steps = static_cast<int>(get_int("min_steps", mc.min_steps));
    mc.max_steps = static_cast<int>(get_int("max_steps", mc.max_steps));
    const dma::data::MathGenerator gen(mc);
    const long long n = get_int("n", 1000);
    for (auto split : {dma::data::MathSplit::Train, dma::data::MathSplit::Test, dma::data::MathSplit::TestOod}) {
      const std::string name = dma::data::to_string(split);
      const long long count = get_int("n_" + name, n);
      if (count < 0) dma::fail("gen_math: --n_", name, " must be >= 0");
      std::string body;
      dma::Progress prog("gen_math " + name, static_cast<std::size_t>(count));
      for (long long i = 0; i < count; ++i) {
        const auto p = gen.problem(split, static_cast<std::uint64_t>(i));
        dma::Json row = {{"question", p.question}, {"answer", p.answer}, {"family", p.family},
                         {"steps", p.steps},       {"index", i}};
        body += row.dump() + "\n";
        prog.update(static_cast<std::size_t>(i + 1));
      }
      dma::io::atomic_write(out / (name + ".jsonl"), body);
      std::printf("%s: %lld problems -> %s\n", name.c_str(), count, (out / (name + ".jsonl")).c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gen_math: %s\n", e.what());
    return 1;
  }
}
