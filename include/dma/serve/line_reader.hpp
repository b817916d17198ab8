// dma/serve/line_reader.hpp: read_line(in, line, max_bytes), a bounded getline for the agent
// server: a line longer than max_bytes is consumed to its end but only its first max_bytes are
// kept, so a hostile client cannot make the server's memory grow with one huge line. Used by
// examples/serve_agent.cpp; tested in tests/unit/serve_protocol.cpp.
#pragma once

#include <cstddef>
#include <istream>
#include <string>

namespace dma::serve {

enum class LineStatus { Ok, TooLong, Eof };

// Reads up to and without the next '\n' (a trailing '\r' is dropped). `length` gets the line's
// full length in bytes. Eof only when nothing was read.
inline LineStatus read_line(std::istream& in, std::string& line, std::size_t max_bytes, std::size_t* length = nullptr) {
  line.clear();
  std::streambuf* sb = in.rdbuf();
  std::size_t total = 0;
  bool any = false;
  for (;;) {
    const int c = sb->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      if (!any) return LineStatus::Eof;
      break;
    }
    any = true;
    if (c == '\n') break;
    ++total;
    if (line.size() < max_bytes) line.push_back(static_cast<char>(c));
  }
  if (!line.empty() && line.back() == '\r' && total <= max_bytes) line.pop_back(), --total;
  if (length) *length = total;
  return total > max_bytes ? LineStatus::TooLong : LineStatus::Ok;
}

}  // namespace dma::serve
