// dma/data/benchmarks_plm.hpp: the `plm` code tasks of the code field. Debian's plm package ships
// CodingBat-style exercises as Java sources whose templatePython("name", types, header, body)
// call holds the Python gold solution; the English mission text sits next to it in NAME.html.
// Each task becomes a GoldItem: the solution body given the mission (as Python comments) and the
// function header. Reads any directory tree holding the unpacked exercises (lessons/...).
// Tested in tests/unit/data_benchmarks.cpp on fixture files.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/data/benchmarks.hpp"

namespace dma::data {

namespace detail::plm {

// Parses a Java string expression "a" + "b" + ... starting at `p` (after whitespace); returns
// the decoded string and moves p past it. Throws on anything else.
inline std::string java_strings(std::string_view s, std::size_t& p, const std::string& where) {
  std::string out;
  bool any = false;
  for (;;) {
    while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
    if (p >= s.size() || s[p] != '"') {
      if (!any) fail(where, ": expected a Java string literal");
      return out;
    }
    ++p;
    while (p < s.size() && s[p] != '"') {
      if (s[p] == '\\' && p + 1 < s.size()) {
        const char e = s[++p];
        out.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
      } else {
        out.push_back(s[p]);
      }
      ++p;
    }
    if (p >= s.size()) fail(where, ": unterminated Java string literal");
    ++p;
    any = true;
    while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
    if (p < s.size() && s[p] == '+') ++p;
    else return out;
  }
}

// The visible text of a mission page: tags and the translation comment dropped, spaces collapsed.
inline std::string html_text(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h.substr(i, 4) == "<!--") {
      const auto e = h.find("-->", i);
      i = e == std::string_view::npos ? h.size() : e + 2;
    } else if (h[i] == '<') {
      const auto e = h.find('>', i);
      const auto tag = h.substr(i + 1, (e == std::string_view::npos ? h.size() : e) - i - 1);
      if (tag.rfind("h1", 0) == 0 || tag.rfind("/h1", 0) == 0 || tag.rfind("p", 0) == 0 || tag.rfind("br", 0) == 0)
        out.push_back('\n');
      i = e == std::string_view::npos ? h.size() : e;
    } else {
      out.push_back(h[i]);
    }
  }
  // decode the common entities, collapse spaces within lines, drop empty lines
  std::string dec;
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto rep = [&](std::string_view ent, char c) {
      if (out.compare(i, ent.size(), ent) == 0) {
        dec.push_back(c);
        i += ent.size() - 1;
        return true;
      }
      return false;
    };
    if (rep("&lt;", '<') || rep("&gt;", '>') || rep("&amp;", '&') || rep("&quot;", '"') || rep("&#39;", '\'')) continue;
    dec.push_back(out[i]);
  }
  // PLM's language switches: keep "[!python]...[/!]" (or a list naming python), drop the others
  std::string sel;
  for (std::size_t i = 0; i < dec.size(); ++i) {
    if (dec.compare(i, 2, "[!") == 0) {
      const auto close = dec.find(']', i);
      const auto end = dec.find("[/!]", i);
      if (close != std::string::npos && end != std::string::npos && close < end) {
        if (dec.substr(i + 2, close - i - 2).find("python") != std::string::npos)
          sel += dec.substr(close + 1, end - close - 1);
        i = end + 3;
        continue;
      }
    }
    sel.push_back(dec[i]);
  }
  dec = std::move(sel);
  std::string res, line;
  auto flush = [&] {
    std::string t;
    bool sp = false;
    for (char c : line) {
      if (c == ' ' || c == '\t' || c == '\r') sp = !t.empty();
      else {
        if (sp) t.push_back(' ');
        sp = false;
        t.push_back(c);
      }
    }
    if (!t.empty() && t.rfind("This exercise was converted to PLM", 0) != 0) res += t + "\n";
    line.clear();
  };
  for (char c : dec) {
    if (c == '\n') flush();
    else line.push_back(c);
  }
  flush();
  return res;
}

}  // namespace detail::plm

// Every *.java under `dir` holding templatePython(...) gives one task.
inline Loaded<GoldItem> load_plm(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  Loaded<GoldItem> out;
  out.source = dir.string();
  if (!fs::is_directory(dir)) {
    out.unavailable = detail::bench::not_available(dir, "plm exercise directory not found");
    return out;
  }
  std::vector<fs::path> files;
  for (const auto& de : fs::recursive_directory_iterator(dir))
    if (de.is_regular_file() && de.path().extension() == ".java") files.push_back(de.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string src = io::read_file(f);
    const auto call = src.find("templatePython(");
    if (call == std::string::npos) continue;
    std::size_t line = 1 + std::size_t(std::count(src.begin(), src.begin() + std::ptrdiff_t(call), '\n'));
    const std::string where = f.string() + ":" + std::to_string(line);
    try {
      std::size_t p = call + std::string_view("templatePython(").size();
      const std::string name = detail::plm::java_strings(src, p, where);
      // skip the parameter types: new String[]{...}
      const auto brace = src.find('}', p);
      if (brace == std::string::npos) fail(where, ": expected the parameter types new String[]{...}");
      p = src.find(',', brace);
      if (p == std::string::npos) fail(where, ": expected ',' after the parameter types");
      ++p;
      const std::string header = detail::plm::java_strings(src, p, where);
      while (p < src.size() && std::isspace(static_cast<unsigned char>(src[p]))) ++p;
      if (p >= src.size() || src[p] != ',') fail(where, ": expected ',' after the Python header");
      ++p;
      const std::string body = detail::plm::java_strings(src, p, where);
      std::string mission;
      fs::path html = f;
      html.replace_extension(".html");
      if (fs::exists(html)) mission = detail::plm::html_text(io::read_file(html));
      std::string context;
      std::size_t s = 0;
      while (s < mission.size()) {
        const auto e = mission.find('\n', s);
        context += "# " + mission.substr(s, e - s) + "\n";
        s = e + 1;
      }
      context += header;
      out.items.push_back({"plm/" + name, context, body});
    } catch (const Error& e) {
      out.skipped.push_back(e.what());
    }
  }
  if (out.items.empty()) out.unavailable = detail::bench::not_available(dir, "no plm Python exercises found");
  return out;
}

}  // namespace dma::data
