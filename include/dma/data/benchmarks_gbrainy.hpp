// dma/data/benchmarks_gbrainy.hpp: the gbrainy puzzles of the math field. games.xml holds
// templated logic/math puzzles whose <variables> are C# statements (int/double, arrays,
// random.Next, Math.Pow): a small interpreter here evaluates them with dma::Rng, so each template
// yields several instances. verbal_analogies.xml holds fixed analogies. Puzzles with options
// become ChoiceItems, the others GoldItems (+ ExactItems). A variant the interpreter cannot
// evaluate is skipped with its reason. Tested in tests/unit/data_benchmarks.cpp on fixtures.
// Over 400 lines: the C#-subset interpreter is only used by these puzzles and lives with them.
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/data/benchmarks.hpp"
#include "dma/data/mathgen.hpp"

namespace dma::data {

namespace detail::xml {

// A minimal XML tree: elements, attributes, text (concatenated), comments skipped, the five
// predefined entities and numeric character references decoded. Enough for gbrainy's files.
struct Node {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;
  std::vector<std::unique_ptr<Node>> children;

  [[nodiscard]] std::vector<const Node*> all(std::string_view n) const {
    std::vector<const Node*> v;
    for (const auto& c : children)
      if (c->name == n) v.push_back(c.get());
    return v;
  }
  [[nodiscard]] const Node* first(std::string_view n) const {
    for (const auto& c : children)
      if (c->name == n) return c.get();
    return nullptr;
  }
  [[nodiscard]] std::string attr(const std::string& k) const {
    const auto it = attrs.find(k);
    return it == attrs.end() ? std::string() : it->second;
  }
};

class Parser {
 public:
  Parser(std::string_view s, std::string source) : m_s(s), m_src(std::move(source)) {}

  std::unique_ptr<Node> parse() {
    skip_misc();
    auto root = element();
    return root;
  }

 private:
  [[noreturn]] void error(std::string_view what) const {
    std::size_t line = 1;
    for (std::size_t i = 0; i < m_p && i < m_s.size(); ++i) line += m_s[i] == '\n';
    fail(m_src, ":", line, ": malformed XML: ", what);
  }
  bool starts(std::string_view t) const { return m_s.substr(m_p, t.size()) == t; }
  void skip_ws() {
    while (m_p < m_s.size() && std::isspace(static_cast<unsigned char>(m_s[m_p]))) ++m_p;
  }
  void skip_misc() {
    for (;;) {
      skip_ws();
      if (starts("<!--")) skip_to("-->");
      else if (starts("<?")) skip_to("?>");
      else if (starts("<!")) skip_to(">");
      else return;
    }
  }
  void skip_to(std::string_view end) {
    const auto e = m_s.find(end, m_p);
    if (e == std::string_view::npos) error("unterminated comment or declaration");
    m_p = e + end.size();
  }
  std::string name() {
    const std::size_t b = m_p;
    while (m_p < m_s.size() && (std::isalnum(static_cast<unsigned char>(m_s[m_p])) || m_s[m_p] == '_' ||
                                m_s[m_p] == '-' || m_s[m_p] == ':' || m_s[m_p] == '.'))
      ++m_p;
    if (b == m_p) error("expected a name");
    return std::string(m_s.substr(b, m_p - b));
  }
  std::string decode(std::string_view t) const {
    std::string out;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i] != '&') {
        out.push_back(t[i]);
        continue;
      }
      const auto semi = t.find(';', i);
      if (semi == std::string_view::npos) error("'&' without ';'");
      const auto ent = t.substr(i + 1, semi - i - 1);
      if (ent == "lt") out.push_back('<');
      else if (ent == "gt") out.push_back('>');
      else if (ent == "amp") out.push_back('&');
      else if (ent == "quot") out.push_back('"');
      else if (ent == "apos") out.push_back('\'');
      else if (!ent.empty() && ent[0] == '#') {
        const unsigned long cp = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                                     ? std::stoul(std::string(ent.substr(2)), nullptr, 16)
                                     : std::stoul(std::string(ent.substr(1)));
        if (cp < 0x80) out.push_back(char(cp));
        else if (cp < 0x800) {
          out.push_back(char(0xC0 | (cp >> 6)));
          out.push_back(char(0x80 | (cp & 0x3F)));
        } else {
          out.push_back(char(0xE0 | (cp >> 12)));
          out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
          out.push_back(char(0x80 | (cp & 0x3F)));
        }
      } else {
        error("unknown entity");
      }
      i = semi;
    }
    return out;
  }
  std::unique_ptr<Node> element() {
    if (!starts("<")) error("expected '<'");
    ++m_p;
    auto n = std::make_unique<Node>();
    n->name = name();
    for (;;) {
      skip_ws();
      if (starts("/>")) {
        m_p += 2;
        return n;
      }
      if (starts(">")) {
        ++m_p;
        break;
      }
      const std::string k = name();
      skip_ws();
      if (!starts("=")) error("expected '=' after attribute name");
      ++m_p;
      skip_ws();
      if (m_p >= m_s.size() || (m_s[m_p] != '"' && m_s[m_p] != '\'')) error("expected a quoted attribute value");
      const char q = m_s[m_p++];
      const auto e = m_s.find(q, m_p);
      if (e == std::string_view::npos) error("unterminated attribute value");
      n->attrs[k] = decode(m_s.substr(m_p, e - m_p));
      m_p = e + 1;
    }
    for (;;) {
      if (m_p >= m_s.size()) error("element <" + n->name + "> is not closed");
      if (starts("<!--")) {
        skip_to("-->");
      } else if (starts("<![CDATA[")) {
        const auto e = m_s.find("]]>", m_p);
        if (e == std::string_view::npos) error("unterminated CDATA");
        n->text.append(m_s.substr(m_p + 9, e - m_p - 9));
        m_p = e + 3;
      } else if (starts("</")) {
        m_p += 2;
        const std::string close = name();
        if (close != n->name) error("</" + close + "> closes <" + n->name + ">");
        skip_ws();
        if (!starts(">")) error("expected '>'");
        ++m_p;
        return n;
      } else if (starts("<")) {
        n->children.push_back(element());
      } else {
        const auto e = m_s.find('<', m_p);
        const auto end = e == std::string_view::npos ? m_s.size() : e;
        n->text += decode(m_s.substr(m_p, end - m_p));
        m_p = end;
      }
    }
  }

  std::string_view m_s;
  std::string m_src;
  std::size_t m_p = 0;
};

inline std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}
inline std::string collapse(std::string_view s) {
  std::string out;
  bool sp = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) sp = !out.empty();
    else {
      if (sp) out.push_back(' ');
      sp = false;
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace detail::xml

namespace detail::csharp {

// A value of gbrainy's variable language: int (C# int arithmetic, truncating division) or double.
struct Value {
  bool is_double = false;
  std::int64_t i = 0;
  double d = 0;
  [[nodiscard]] double as_double() const { return is_double ? d : double(i); }
};

// Formats like Mono's double.ToString() (15 significant digits); ints as integers.
inline std::string format(const Value& v) {
  if (!v.is_double) return std::to_string(v.i);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v.d);
  return buf;
}

struct Error : dma::Error {
  using dma::Error::Error;
};

// Evaluates a <variables> block: `int|double [ [] ] name = expr;` statements.
class Interpreter {
 public:
  explicit Interpreter(Rng& rng) : m_rng(rng) {}

  void run(std::string_view code) {
    m_s = code;
    m_p = 0;
    for (;;) {
      skip();
      if (m_p >= m_s.size()) return;
      statement();
    }
  }
  [[nodiscard]] const std::map<std::string, Value>& vars() const noexcept { return m_vars; }

 private:
  [[noreturn]] void error(const std::string& what) const {
    throw Error("cannot evaluate variables (" + what + ") near '" +
                std::string(m_s.substr(m_p, std::min<std::size_t>(30, m_s.size() - m_p))) + "'");
  }
  void skip() {
    for (;;) {
      while (m_p < m_s.size() && std::isspace(static_cast<unsigned char>(m_s[m_p]))) ++m_p;
      if (m_s.substr(m_p, 2) == "//") {
        while (m_p < m_s.size() && m_s[m_p] != '\n') ++m_p;
      } else if (m_s.substr(m_p, 2) == "/*") {
        const auto e = m_s.find("*/", m_p);
        m_p = e == std::string_view::npos ? m_s.size() : e + 2;
      } else {
        return;
      }
    }
  }
  bool eat(char c) {
    skip();
    if (m_p < m_s.size() && m_s[m_p] == c) {
      ++m_p;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) error(std::string("expected '") + c + "'");
  }
  std::string ident() {
    skip();
    const std::size_t b = m_p;
    while (m_p < m_s.size() && (std::isalnum(static_cast<unsigned char>(m_s[m_p])) || m_s[m_p] == '_')) ++m_p;
    if (b == m_p) error("expected a name");
    return std::string(m_s.substr(b, m_p - b));
  }
  bool peek_ident(std::string_view w) {
    skip();
    return m_s.substr(m_p, w.size()) == w &&
           (m_p + w.size() >= m_s.size() || !(std::isalnum(static_cast<unsigned char>(m_s[m_p + w.size()])) || m_s[m_p + w.size()] == '_'));
  }

  void statement() {
    const std::string type = ident();
    if (type != "int" && type != "double") error("unsupported type '" + type + "'");
    const bool dbl = type == "double";
    if (eat('[')) {
      expect(']');
      const std::string name = ident();
      expect('=');
      if (ident() != "new") error("expected 'new'");
      ident();  // element type
      expect('[');
      expect(']');
      expect('{');
      std::vector<Value> arr;
      while (!eat('}')) {
        arr.push_back(convert(expr(), dbl));
        eat(',');
      }
      expect(';');
      m_arrays[name] = std::move(arr);
      return;
    }
    const std::string name = ident();
    expect('=');
    m_vars[name] = convert(expr(), dbl);
    expect(';');
  }
  static Value convert(Value v, bool to_double) {
    if (to_double && !v.is_double) return {true, 0, double(v.i)};
    if (!to_double && v.is_double) return {false, std::int64_t(v.d), 0};
    return v;
  }
  Value expr() {
    Value a = term();
    for (;;) {
      if (eat('+')) a = arith(a, term(), '+');
      else if (eat('-')) a = arith(a, term(), '-');
      else return a;
    }
  }
  Value term() {
    Value a = unary();
    for (;;) {
      if (eat('*')) a = arith(a, unary(), '*');
      else if (eat('/')) a = arith(a, unary(), '/');
      else if (eat('%')) a = arith(a, unary(), '%');
      else return a;
    }
  }
  Value arith(const Value& a, const Value& b, char op) {
    if (a.is_double || b.is_double) {
      const double x = a.as_double(), y = b.as_double();
      switch (op) {
        case '+': return {true, 0, x + y};
        case '-': return {true, 0, x - y};
        case '*': return {true, 0, x * y};
        case '/': return {true, 0, x / y};
        default: return {true, 0, std::fmod(x, y)};
      }
    }
    switch (op) {
      case '+': return {false, a.i + b.i, 0};
      case '-': return {false, a.i - b.i, 0};
      case '*': return {false, a.i * b.i, 0};
      default:
        if (b.i == 0) error("integer division by zero");
        return {false, op == '/' ? a.i / b.i : a.i % b.i, 0};
    }
  }
  Value unary() {
    if (eat('-')) {
      Value v = unary();
      if (v.is_double) v.d = -v.d;
      else v.i = -v.i;
      return v;
    }
    return primary();
  }
  Value primary() {
    skip();
    if (m_p >= m_s.size()) error("unexpected end");
    if (m_s[m_p] == '(') {
      // a cast "(int)" / "(double)" or a parenthesised expression
      const std::size_t save = m_p;
      ++m_p;
      skip();
      if (peek_ident("int") || peek_ident("double")) {
        const std::string t = ident();
        if (eat(')')) return convert(unary(), t == "double");
      }
      m_p = save + 1;
      Value v = expr();
      expect(')');
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(m_s[m_p])) || m_s[m_p] == '.') {
      const std::size_t b = m_p;
      bool dot = false;
      while (m_p < m_s.size() && (std::isdigit(static_cast<unsigned char>(m_s[m_p])) || m_s[m_p] == '.')) dot |= m_s[m_p++] == '.';
      const std::string t(m_s.substr(b, m_p - b));
      if (dot) return {true, 0, std::stod(t)};
      return {false, std::stoll(t), 0};
    }
    const std::string id = ident();
    if (id == "random") {
      expect('.');
      if (ident() != "Next") error("only random.Next is supported");
      expect('(');
      const Value n = expr();
      expect(')');
      if (n.is_double || n.i <= 0) error("random.Next needs a positive int");
      return {false, std::int64_t(m_rng.below(std::uint32_t(n.i))), 0};
    }
    if (id == "Math") {
      expect('.');
      const std::string f = ident();
      expect('(');
      const Value a = expr();
      Value b;
      const bool two = eat(',');
      if (two) b = expr();
      expect(')');
      if (f == "Pow" && two) return {true, 0, std::pow(a.as_double(), b.as_double())};
      if (f == "Sqrt" && !two) return {true, 0, std::sqrt(a.as_double())};
      if (f == "Abs" && !two) return a.is_double ? Value{true, 0, std::fabs(a.d)} : Value{false, a.i < 0 ? -a.i : a.i, 0};
      error("unsupported function Math." + f);
    }
    if (const auto it = m_arrays.find(id); it != m_arrays.end()) {
      if (eat('.')) {
        if (ident() != "Length") error("only .Length is supported on arrays");
        return {false, std::int64_t(it->second.size()), 0};
      }
      expect('[');
      const Value i = expr();
      expect(']');
      if (i.is_double || i.i < 0 || std::size_t(i.i) >= it->second.size()) error("array index out of range");
      return it->second[std::size_t(i.i)];
    }
    if (const auto it = m_vars.find(id); it != m_vars.end()) return it->second;
    error("unknown name '" + id + "'");
  }

  Rng& m_rng;
  std::string_view m_s;
  std::size_t m_p = 0;
  std::map<std::string, Value> m_vars;
  std::map<std::string, std::vector<Value>> m_arrays;
};

// Replaces every [name] with the variable's value; unknown names throw.
inline std::string substitute(std::string_view text, const std::map<std::string, Value>& vars) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '[') {
      out.push_back(text[i]);
      continue;
    }
    const auto e = text.find(']', i);
    if (e == std::string_view::npos) {
      out.push_back(text[i]);
      continue;
    }
    const std::string name(text.substr(i + 1, e - i - 1));
    const auto it = vars.find(name);
    if (name == "option_answers" || name == "option_prefix") {
    } else if (it == vars.end()) {
      throw Error("unknown placeholder [" + name + "]");
    } else {
      out += format(it->second);
    }
    i = e;
  }
  return xml::collapse(out);
}

}  // namespace detail::csharp

struct GbrainySet {
  Loaded<ChoiceItem> choice;
  Loaded<GoldItem> gold;
  Loaded<ExactItem> exact;
};

struct GbrainyConfig {
  std::size_t instances = 20;  // random instantiations per games.xml variant (duplicates dropped)
  std::uint64_t seed = 0;
  std::size_t exact_max_bytes = 32;
};

namespace detail::gbrainy {

inline const xml::Node* pick_text(const xml::Node& v, const xml::Node& game, std::string_view a, std::string_view b) {
  if (auto n = v.first(a)) return n;
  if (auto n = v.first(b)) return n;
  if (auto n = game.first(a)) return n;
  return game.first(b);
}

// The question text: the plural form when its plural expression is not 1.
inline std::string question(const xml::Node& v, const xml::Node& game, const std::map<std::string, csharp::Value>& vars) {
  std::vector<const xml::Node*> qs;
  for (const auto* src : {&v, &game}) {
    for (const auto& c : src->children)
      if (c->name == "question" || c->name == "_question") qs.push_back(c.get());
    if (!qs.empty()) break;
  }
  if (qs.empty()) throw csharp::Error("no <question>");
  const xml::Node* chosen = nullptr;
  for (const auto* q : qs) {
    const std::string pl = q->attr("plural");
    if (pl.empty()) {
      if (!chosen) chosen = q;
      continue;
    }
    const std::string val = csharp::substitute(pl, vars);
    if (val != "1") chosen = q;
  }
  if (!chosen) chosen = qs.front();
  return csharp::substitute(chosen->text, vars);
}

}  // namespace detail::gbrainy

inline void append_gbrainy_games(const std::filesystem::path& path, const GbrainyConfig& cfg, GbrainySet& out) {
  using namespace detail;
  const std::string text = io::read_file(path);
  const auto root = xml::Parser(text, path.string()).parse();
  std::size_t game_no = 0;
  for (const auto* game : root->all("game")) {
    ++game_no;
    std::vector<const xml::Node*> variants = game->all("variant");
    if (variants.empty()) variants.push_back(game);
    const std::string gname = [&] {
      auto n = game->first("_name");
      return n ? xml::trim(n->text) : "game " + std::to_string(game_no);
    }();
    for (std::size_t vi = 0; vi < variants.size(); ++vi) {
      const auto& v = *variants[vi];
      std::set<std::string> seen;
      for (std::size_t inst = 0; inst < cfg.instances; ++inst) {
        Rng rng = Rng(cfg.seed).split("gbrainy").split(gname).split(std::uint64_t(vi * 1000 + inst));
        const std::string id = "gbrainy/" + gname + "/" + std::to_string(vi) + "/" + std::to_string(inst);
        try {
          csharp::Interpreter interp(rng);
          if (auto vars = v.first("variables")) interp.run(vars->text);
          else if (auto gv = game->first("variables"); gv && &v != game) interp.run(gv->text);
          const auto& vars = interp.vars();
          const std::string q = gbrainy::question(v, *game, vars);
          if (!seen.insert(q).second) continue;
          std::vector<const xml::Node*> options = v.all("option");
          if (options.empty() && &v != game) options = game->all("option");
          if (!options.empty()) {
            ChoiceItem c;
            c.id = id;
            c.context = qa_prompt(q);
            bool has_gold = false;
            for (const auto* o : options) {
              const auto* s = o->first("string");
              if (!s) throw csharp::Error("<option> without <string>");
              std::string t = s->attr("_text").empty() ? s->attr("text") : s->attr("_text");
              t = xml::trim(csharp::substitute(t, vars));
              if (o->attr("correct") == "yes") {
                c.gold = c.choices.size();
                has_gold = true;
              }
              c.choices.push_back(" " + t);
            }
            if (!has_gold) throw csharp::Error("no option marked correct");
            out.choice.items.push_back(std::move(c));
            continue;
          }
          const auto* show = gbrainy::pick_text(v, *game, "answer_show", "_answer_show");
          const auto* ans = gbrainy::pick_text(v, *game, "answer", "_answer");
          if (!ans) throw csharp::Error("no <answer>");
          const std::string first_alt = xml::trim(csharp::substitute(ans->text.substr(0, ans->text.find('|')), vars));
          std::string gold = show ? csharp::substitute(show->text, vars) : first_alt;
          gold = xml::trim(gold);
          out.gold.items.push_back({id, qa_prompt(q), " " + gold});
          bool numeric = !first_alt.empty() && first_alt.find_first_not_of("0123456789.-") == std::string::npos;
          out.exact.items.push_back({id, qa_prompt(q), show ? gold : first_alt,
                                     numeric && !show ? AnswerKind::Number : AnswerKind::Line, cfg.exact_max_bytes});
        } catch (const csharp::Error& e) {
          out.choice.skipped.push_back(path.string() + ": " + gname + " variant " + std::to_string(vi) + ": " + e.what());
          break;  // the other instances of this variant would fail the same way
        }
      }
    }
  }
}

inline void append_gbrainy_analogies(const std::filesystem::path& path, const GbrainyConfig& cfg, GbrainySet& out) {
  using namespace detail;
  const std::string text = io::read_file(path);
  const auto root = xml::Parser(text, path.string()).parse();
  std::size_t n = 0;
  for (const auto* a : root->all("analogy")) {
    ++n;
    const xml::Node* q = a->first("_question");
    if (!q) q = a->first("question");
    if (!q) fail(path.string(), ": analogy ", n, " has no <_question>");
    const std::string type = q->attr("type");
    const std::string qt = xml::collapse(q->text);
    std::string prompt;
    if (type == "PairOfWordsOptions" || type == "PairOfWordsCompare") {
      // "car / garage | plane": car is to garage as plane is to ?
      const auto bar = qt.find('|'), slash = qt.find('/');
      if (bar == std::string::npos || slash == std::string::npos || slash > bar)
        fail(path.string(), ": analogy ", n, ": expected 'a / b | c', got '", qt, "'");
      prompt = qa_prompt(xml::trim(qt.substr(0, slash)) + " is to " + xml::trim(qt.substr(slash + 1, bar - slash - 1)) +
                         " as " + xml::trim(qt.substr(bar + 1)) + " is to what?");
    } else {
      prompt = qa_prompt(qt);
    }
    const std::string id = "analogy/" + std::to_string(n);
    std::vector<const xml::Node*> answers;
    for (const auto& c : a->children)
      if (c->name == "_answer" || c->name == "answer") answers.push_back(c.get());
    if (answers.empty()) fail(path.string(), ": analogy ", n, " has no <_answer>");
    if (type == "PairOfWordsCompare" || answers.size() == 1) {
      const std::string gold = xml::trim(answers[0]->text.substr(0, answers[0]->text.find('|')));
      out.gold.items.push_back({id, prompt, " " + gold});
      out.exact.items.push_back({id, prompt, gold, AnswerKind::Line, cfg.exact_max_bytes});
      continue;
    }
    ChoiceItem c;
    c.id = id;
    c.context = prompt;
    bool has_gold = false;
    for (const auto* ans : answers) {
      if (ans->attr("correct") == "yes") {
        c.gold = c.choices.size();
        has_gold = true;
      }
      std::string choice = " ";
      choice += xml::collapse(ans->text);
      c.choices.push_back(std::move(choice));
    }
    if (!has_gold) fail(path.string(), ": analogy ", n, ": no answer marked correct=\"yes\"");
    out.choice.items.push_back(std::move(c));
  }
}

// games.xml and verbal_analogies.xml (either may be missing: reported, not thrown).
inline GbrainySet load_gbrainy(const std::filesystem::path& games_xml, const std::filesystem::path& analogies_xml,
                               const GbrainyConfig& cfg = {}) {
  GbrainySet out;
  out.choice.source = out.gold.source = out.exact.source = games_xml.string() + " + " + analogies_xml.string();
  std::vector<std::string> missing;
  if (std::filesystem::exists(games_xml)) append_gbrainy_games(games_xml, cfg, out);
  else missing.push_back(games_xml.string());
  if (std::filesystem::exists(analogies_xml)) append_gbrainy_analogies(analogies_xml, cfg, out);
  else missing.push_back(analogies_xml.string());
  if (missing.size() == 2) {
    out.choice.unavailable = out.gold.unavailable = out.exact.unavailable =
        detail::bench::not_available(games_xml, "gbrainy files not found");
  }
  for (auto* l : {&out.choice.unavailable, &out.gold.unavailable, &out.exact.unavailable})
    if (l->empty() && ((l == &out.choice.unavailable && out.choice.items.empty()) ||
                       (l == &out.gold.unavailable && out.gold.items.empty()) ||
                       (l == &out.exact.unavailable && out.exact.items.empty())))
      *l = detail::bench::not_available(games_xml, "no items of this kind");
  return out;
}

}  // namespace dma::data
