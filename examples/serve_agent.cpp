// examples/serve_agent.cpp: serve a trained agent over JSON lines on stdin/stdout, so that any
// trainer (PyTorch, Megatron, a shell script) can ask it for the next mixture.
//
//   serve_agent --agent runs/x/agent/agent.dmaa [--max_line_bytes 1048576] [--quiet]
//
// One request per line in, one reply per line out (protocol: docs/SERVING.md,
// include/dma/serve/protocol.hpp). Bad requests get {"type":"error",...} and the server keeps
// serving; it exits at end of input. A startup line and a final count go to stderr.
#include <dma/agent/agent.hpp>
#include <dma/core/config.hpp>
#include <dma/serve/line_reader.hpp>
#include <dma/serve/protocol.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

int main(int argc, char** argv) try {
  const dma::Config cli = dma::Config::from_args(argc, argv);
  const std::string path = cli.require<std::string>("agent");
  dma::serve::Limits lim;
  lim.max_line_bytes = cli.get<std::size_t>("max_line_bytes", lim.max_line_bytes);
  const bool quiet = cli.get<bool>("quiet", false);
  auto agent = std::make_shared<const dma::agent::Agent>(dma::agent::Agent::load(path));
  dma::serve::Session session(agent, lim);
  if (!quiet)
    std::fprintf(stderr, "serve_agent: %s (%zu parameters), protocol %d; reading JSON lines on stdin\n", path.c_str(),
                 agent->num_parameters(), dma::serve::kProtocolVersion);
  std::ios::sync_with_stdio(false);
  std::string line, reply;
  std::size_t len = 0;
  for (;;) {
    const auto st = dma::serve::read_line(std::cin, line, lim.max_line_bytes, &len);
    if (st == dma::serve::LineStatus::Eof) break;
    if (st == dma::serve::LineStatus::TooLong) {
      reply = dma::Json{{"type", "error"}, {"error", "request line of " + std::to_string(len) +
                                                       " bytes exceeds the limit of " +
                                                       std::to_string(lim.max_line_bytes)}}.dump();
    } else {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines are ignored
      reply = session.handle(line);
    }
    std::fwrite(reply.data(), 1, reply.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  if (!quiet)
    std::fprintf(stderr, "serve_agent: end of input after %zu requests (%zu errors)\n", session.requests(),
                 session.errors());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "serve_agent: %s\n", e.what());
  return 1;
}
