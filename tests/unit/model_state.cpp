// TrainState of the proxy: a checkpoint that is truncated, corrupted or of another version is
// rejected with a clear error; save -> load -> continue gives bit-identical losses to not
// saving; fork() is an independent copy.
#include <catch2/catch.hpp>

#include <dma/core/file_io.hpp>
#include <dma/model/llama.hpp>
#include <dma/model/optim.hpp>
#include <dma/model/state.hpp>

#include <filesystem>
#include <string>
#include <vector>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_model_state {

using namespace dma::model;
namespace fs = std::filesystem;

namespace {

ModelConfig cfg() {
  ModelConfig c;
  c.d_model = 32;
  c.layers = 1;
  c.heads = 2;
  c.context = 16;
  return c;
}

// k training steps on batches drawn from the state's own RNG; returns the losses.
std::vector<float> train(Llama<>& model, TrainState<>& s, int k) {
  std::vector<dma::Token> in(4 * 16), tg(4 * 16);
  std::vector<float> losses;
  const auto sched = LrSchedule::warmup_cosine(3e-3f, 3, 20);
  for (int i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < in.size(); ++j) {
      in[j] = dma::Token(97 + s.rng.below(8));
      tg[j] = dma::Token((in[j] - 97 + 1) % 8 + 97);
    }
    const MicroBatch mb{in.data(), tg.data(), 4, 16};
    losses.push_back(train_step(model, s, sched, AdamWConfig{}, std::span(&mb, 1)).loss);
  }
  return losses;
}

}  // namespace

TEST_CASE("train state: save -> load -> continue is bit-identical to not saving", "[model][cpu]") {
  const fs::path dir = fs::temp_directory_path() / "dma_test_model_state";
  fs::remove_all(dir);
  Llama<> model(cfg(), 4, 1);
  auto a = TrainState<>::create(cfg(), 42);
  train(model, a, 4);
  a.save(dir / "ckpt.bin");
  const auto straight = train(model, a, 5);
  auto b = TrainState<>::load(dir / "ckpt.bin");
  CHECK(b.step == 4);
  const auto resumed = train(model, b, 5);
  CHECK(straight == resumed);
  CHECK(std::equal(a.params.begin(), a.params.end(), b.params.begin()));
  fs::remove_all(dir);
}

TEST_CASE("train state: truncated, corrupted and other-version checkpoints are rejected",
          "[model][cpu]") {
  const auto s = TrainState<>::create(cfg(), 1);
  const std::string bytes = s.serialize();
  CHECK(TrainState<>::deserialize(bytes, "ok.bin").num_params() == s.num_params());
  CHECK_THROWS_WITH(TrainState<>::deserialize(bytes.substr(0, bytes.size() - 100), "cut.bin"),
                    Catch::Contains("cut.bin") && Catch::Contains("truncated"));
  std::string bad = bytes;
  bad[bad.size() / 2] ^= 0x10;
  CHECK_THROWS_WITH(TrainState<>::deserialize(bad, "bad.bin"),
                    Catch::Contains("bad.bin") && Catch::Contains("checksum"));
  std::string other = bytes;
  other[8] = 2;  // the version field follows the 8-byte magic
  CHECK_THROWS_WITH(TrainState<>::deserialize(other, "v2.bin"),
                    Catch::Contains("v2.bin") && Catch::Contains("version 2"));
  CHECK_THROWS_WITH(TrainState<>::deserialize(dma::io::frame("DMAPRXST", 1, "xx"), "tiny.bin"),
                    Catch::Contains("tiny.bin") && Catch::Contains("config"));
  CHECK_THROWS_WITH(TrainState<>::load("/nonexistent/dir/ckpt.bin"), Catch::Contains("ckpt.bin"));
}

TEST_CASE("train state: fork is an independent copy that continues identically", "[model][cpu]") {
  Llama<> model(cfg(), 4, 1);
  auto a = TrainState<>::create(cfg(), 7);
  train(model, a, 2);
  auto b = a.fork();
  const std::vector<float> before(a.params.begin(), a.params.end());
  const auto lb = train(model, b, 3);
  CHECK(std::equal(before.begin(), before.end(), a.params.begin()));  // a untouched
  CHECK(a.step == 2);
  const auto la = train(model, a, 3);
  CHECK(la == lb);
}

}  // namespace dma_test_model_state
