// examples/train_proxy.cpp: trains the LLM proxy (byte-level LLaMA-style LM) on a text file and
// samples from it. The last 10% of the file is held out; the held-out loss (nats/byte) is
// evaluated on fixed, non-overlapping windows. The acceptance run of the proxy (4 layers, 4 heads,
// d_model 128, context 64, batch 12, 2000 steps on tinyshakespeare):
//
//   build/model/examples/train_proxy --data /work/shared/data/tinyshakespeare/input.txt \
//       --layers 4 --heads 4 --d-model 128 --ctx 64 --batch 12 --steps 2000 --threads 2
//
// Other flags: --lr 1e-3 --warmup 100 --min-ratio 0.1 --beta2 0.99 --weight-decay 0.1 --clip 1
// --seed 1 --eval-every 250 --eval-windows 256 (0 = all, used for the final number) --sample 400
// --temperature 0.8 --save ckpt.bin --resume ckpt.bin. Prints one JSON object at the end.
#include <dma/core/config.hpp>
#include <dma/core/file_io.hpp>
#include <dma/core/progress.hpp>
#include <dma/data/tokenizer.hpp>
#include <dma/model/llama.hpp>
#include <dma/model/optim.hpp>
#include <dma/model/schedule.hpp>
#include <dma/model/state.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace dma;

namespace {

// Mean loss (nats/byte) over up to max_windows non-overlapping (T+1)-byte windows of `text`.
double heldout_loss(model::Llama<>& m, const float* params, const std::vector<Token>& text,
                    std::size_t T, std::size_t max_windows) {
  const std::size_t B = m.max_batch();
  std::size_t windows = text.size() > T ? (text.size() - 1) / T : 0;
  if (max_windows) windows = std::min(windows, max_windows);
  if (windows == 0) fail("held-out text is shorter than one window of ", T + 1, " bytes");
  std::vector<Token> in(B * T), tg(B * T);
  double sum = 0;
  for (std::size_t w0 = 0; w0 < windows; w0 += B) {
    const std::size_t nb = std::min(B, windows - w0);
    for (std::size_t b = 0; b < nb; ++b)
      for (std::size_t t = 0; t < T; ++t) {
        in[b * T + t] = text[(w0 + b) * T + t];
        tg[b * T + t] = text[(w0 + b) * T + t + 1];
      }
    sum += double(m.forward(params, in.data(), tg.data(), nb, T)) * double(nb);
  }
  return sum / double(windows);
}

// Samples `n` bytes after `prompt` at the given temperature (softmax over byte tokens only).
std::string sample(model::Llama<>& m, const float* params, std::string_view prompt, std::size_t n,
                   double temperature, Rng rng) {
  const std::size_t T = m.config().context, V = m.config().vocab;
  std::vector<Token> s(prompt.begin(), prompt.end());
  std::string out;
  std::vector<double> p(256);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t len = std::min(T, s.size());
    m.forward(params, s.data() + (s.size() - len), nullptr, 1, len);
    const float* row = m.logits() + (len - 1) * V;
    const double mx = *std::max_element(row, row + 256);
    double z = 0;
    for (std::size_t v = 0; v < 256; ++v) z += (p[v] = std::exp((row[v] - mx) / temperature));
    double u = rng.uniform() * z;
    std::size_t pick = 0;
    while (pick < 255 && (u -= p[pick]) > 0) ++pick;
    s.push_back(Token(pick));
    out.push_back(char(pick));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Config cfg = Config::from_args(argc, argv);
    const std::string path = cfg.require<std::string>("data");
    const std::string raw = io::read_file(path);
    const data::ByteTokenizer tok;
    const std::vector<Token> all = tok.encode(raw);
    if (all.size() < 1000) fail(path, ": expected at least 1000 bytes of text, got ", all.size());
    const std::size_t split = all.size() - all.size() / 10;
    const std::vector<Token> train(all.begin(), all.begin() + std::ptrdiff_t(split));
    const std::vector<Token> held(all.begin() + std::ptrdiff_t(split), all.end());

    model::ModelConfig mc;
    mc.vocab = tok.vocab_size();
    mc.layers = cfg.get<std::size_t>("layers", 4);
    mc.heads = cfg.get<std::size_t>("heads", 4);
    mc.d_model = cfg.get<std::size_t>("d-model", 128);
    mc.context = cfg.get<std::size_t>("ctx", 64);
    mc.tied_embeddings = cfg.get<bool>("tied", false);
    mc.validate("command line");
    const auto B = cfg.get<std::size_t>("batch", 12);
    const auto steps = cfg.get<std::size_t>("steps", 2000);
    const auto threads = cfg.get<std::size_t>("threads", 1);
    const auto eval_every = cfg.get<std::size_t>("eval-every", 250);
    const auto eval_windows = cfg.get<std::size_t>("eval-windows", 256);
    const std::size_t T = mc.context;
    const auto sched = model::LrSchedule::warmup_cosine(
        cfg.get<float>("lr", 1e-3f), cfg.get<std::size_t>("warmup", 100), steps,
        cfg.get<float>("min-ratio", 0.1f));
    model::AdamWConfig adam;
    adam.beta2 = cfg.get<float>("beta2", 0.99f);
    adam.weight_decay = cfg.get<float>("weight-decay", 0.1f);
    adam.grad_clip = cfg.get<float>("clip", 1.0f);

    model::Llama<> m(mc, B, threads);
    auto state = cfg.has("resume") ? model::TrainState<>::load(cfg.require<std::string>("resume"))
                                   : model::TrainState<>::create(mc, cfg.get<std::uint64_t>("seed", 1));
    if (!(state.config == mc)) fail("--resume: the checkpoint's model config differs from the flags");
    std::fprintf(stderr, "train_proxy: %zu params, %zu train / %zu held-out bytes\n", m.num_params(),
                 train.size(), held.size());

    std::vector<Token> in(B * T), tg(B * T);
    Progress prog("train", steps);
    const auto t0 = std::chrono::steady_clock::now();
    float loss = 0;
    while (state.step < steps) {
      for (std::size_t b = 0; b < B; ++b) {
        const std::size_t off = state.rng.below(std::uint32_t(train.size() - T - 1));
        std::copy_n(train.begin() + std::ptrdiff_t(off), T, in.begin() + std::ptrdiff_t(b * T));
        std::copy_n(train.begin() + std::ptrdiff_t(off + 1), T, tg.begin() + std::ptrdiff_t(b * T));
      }
      const model::MicroBatch mb{in.data(), tg.data(), B, T};
      const auto st = model::train_step(m, state, sched, adam, std::span(&mb, 1));
      loss = st.loss;
      std::string extra = "loss " + std::to_string(st.loss);
      if (eval_every && state.step % eval_every == 0 && state.step < steps) {
        const double h = heldout_loss(m, state.params.data(), held, T, eval_windows);
        extra += "  held-out " + std::to_string(h);
        std::fprintf(stderr, "step %zu: train %.4f held-out %.4f (%zu windows)\n",
                     std::size_t(state.step), st.loss, h, eval_windows);
      }
      prog.update(state.step, extra);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (cfg.has("save")) state.save(cfg.require<std::string>("save"));
    const double held_all = heldout_loss(m, state.params.data(), held, T, 0);
    const std::string text = sample(m, state.params.data(), "\n", cfg.get<std::size_t>("sample", 400),
                                    cfg.get<double>("temperature", 0.8), state.rng.split("sample"));
    std::fprintf(stderr, "---- sample ----\n%s\n----------------\n", text.c_str());
    const Json out{{"data", path},         {"params", m.num_params()}, {"model", mc.to_json()},
                   {"batch", B},           {"steps", state.step},      {"threads", m.threads()},
                   {"train_loss_last", loss}, {"heldout_loss", held_all},
                   {"heldout_bits_per_byte", held_all / std::log(2.0)},
                   {"seconds", secs},      {"schedule", sched.to_json()}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "train_proxy: %s\n", e.what());
    return 2;
  }
}
