// dma/data/mathgen.hpp: a generator of grade-school math word problems, the `math` target field.
// Answers follow GSM8K's format exactly (reasoning lines with `<<expr=val>>val` calculator
// annotations, a final `#### N` line). Splits: `train` and `test` share template families and
// are kept disjoint by a hash of the question text; `test_ood` uses held-out families. Every
// problem is a pure function of (seed, split, index) through the specified dma::Rng. Feeds the
// corpus (examples/gen_math.cpp) and the math suite (eval/). Tests: tests/unit/data_mathgen.cpp
// (golden hashes, format, contamination, wrong-operation answers).
// Over 400 lines: one short function per template family; the golden hashes pin them all.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/rng.hpp"

namespace dma::data {

enum class MathSplit : std::uint8_t { Train = 0, Test = 1, TestOod = 2 };

inline const char* to_string(MathSplit s) noexcept {
  return s == MathSplit::Train ? "train" : s == MathSplit::Test ? "test" : "test_ood";
}
inline MathSplit parse_math_split(std::string_view s) {
  if (s == "train") return MathSplit::Train;
  if (s == "test") return MathSplit::Test;
  if (s == "test_ood") return MathSplit::TestOod;
  fail("math split '", s, "': expected one of train, test, test_ood");
}

struct MathProblem {
  std::string question;
  std::string answer;               // GSM8K format: reasoning lines, then "#### N"
  std::int64_t result = 0;          // N
  std::string family;               // template family
  int steps = 0;                    // calculator steps = difficulty
  std::vector<std::int64_t> wrong;  // results of the same chain with one operation swapped
  std::vector<std::string> wrong_solutions;  // those chains, rendered like `answer`
};

// The prompt/document format shared by the corpus and the benchmarks [ours]: a document is
// qa_prompt(q) + " " + answer + "\n\n"; a scorer scores " " + answer given qa_prompt(q).
inline std::string qa_prompt(std::string_view question) {
  std::string s = "Question: ";
  s.append(question);
  s += "\nAnswer:";
  return s;
}
inline std::string qa_document(std::string_view question, std::string_view answer) {
  return qa_prompt(question) + " " + std::string(answer) + "\n\n";
}

namespace detail::math {

// A value in a solution: a number given in the question (ref < 0) or the result of step `ref`.
struct Val {
  std::int64_t v = 0;
  int ref = -1;
};

inline std::string num(std::int64_t v) { return std::to_string(v); }

// The worked solution: binary calculator steps, rendered as GSM8K lines, re-evaluable with one
// operation swapped (for wrong-operation distractors).
class Work {
 public:
  Val lit(std::int64_t v) const { return {v, -1}; }
  // Adds "lead a op b = <<a op b=c>>c tail" and returns c. `money` prefixes "$" to the results.
  Val step(std::string lead, Val a, char op, Val b, std::string tail, bool money = false) {
    const auto c = apply(a.v, op, b.v);
    DMA_ASSERT(c.has_value(), "math template produced an invalid step");
    m_steps.push_back({std::move(lead), std::move(tail), a, op, b, *c, money});
    return {*c, int(m_steps.size()) - 1};
  }
  [[nodiscard]] std::size_t size() const noexcept { return m_steps.size(); }
  [[nodiscard]] std::int64_t result() const { return m_steps.back().c; }

  [[nodiscard]] std::string render() const {
    std::vector<std::int64_t> vals;
    for (const auto& st : m_steps) vals.push_back(st.c);
    return render_values(vals, m_steps.size(), 0);
  }

  // The chain with step k's operation replaced by a confusable one, recomputed and rendered:
  // only valid chains (exact division, no negative values) whose result differs from the gold
  // and from earlier ones. These are the wrong-operation distractors of the math suite.
  struct Wrong {
    std::int64_t result;
    std::string solution;
  };
  [[nodiscard]] std::vector<Wrong> wrong_solutions() const {
    std::vector<Wrong> out;
    for (std::size_t k = 0; k < m_steps.size(); ++k) {
      for (char alt : alternatives(m_steps[k].op)) {
        std::vector<std::int64_t> vals(m_steps.size());
        bool ok = true;
        for (std::size_t i = 0; i < m_steps.size() && ok; ++i) {
          const auto& s = m_steps[i];
          const auto c = apply(value(s.a, vals), i == k ? alt : s.op, value(s.b, vals));
          if (!c || *c < 0) ok = false;
          else vals[i] = *c;
        }
        if (!ok) continue;
        const auto r = vals.back();
        bool dup = r == result();
        for (const auto& x : out) dup = dup || x.result == r;
        if (!dup) out.push_back({r, render_values(vals, k, alt)});
      }
    }
    return out;
  }

 private:
  static std::int64_t value(const Val& x, const std::vector<std::int64_t>& vals) {
    return x.ref >= 0 ? vals[std::size_t(x.ref)] : x.v;
  }
  // Renders the lines with the given step results; step `k` (if < size) uses operation `alt`.
  [[nodiscard]] std::string render_values(const std::vector<std::int64_t>& vals, std::size_t k, char alt) const {
    std::string out;
    for (std::size_t i = 0; i < m_steps.size(); ++i) {
      const auto& s = m_steps[i];
      const std::string a = num(value(s.a, vals)), b = num(value(s.b, vals)), c = num(vals[i]);
      const char op = i == k ? alt : s.op;
      out += s.lead;
      out += a + " " + op + " " + b + " = " + (s.money ? "$" : "") + "<<" + a + op + b + "=" + c + ">>" + c + s.tail + "\n";
    }
    out += "#### " + num(vals.back());
    return out;
  }
  struct Step {
    std::string lead, tail;
    Val a;
    char op;
    Val b;
    std::int64_t c;
    bool money;
  };
  static std::vector<char> alternatives(char op) {
    switch (op) {
      case '+': return {'-', '*'};
      case '-': return {'+'};
      case '*': return {'+', '/'};
      default: return {'*', '-'};
    }
  }
  static std::optional<std::int64_t> apply(std::int64_t a, char op, std::int64_t b) {
    switch (op) {
      case '+': return a + b;
      case '-': return a - b;
      case '*': return a * b;
      case '/': return (b != 0 && a % b == 0) ? std::optional<std::int64_t>(a / b) : std::nullopt;
      default: return std::nullopt;
    }
  }
  std::vector<Step> m_steps;
};

struct Person {
  const char* name;
  const char* he;   // subject pronoun
  const char* his;  // possessive
};
inline constexpr std::array<Person, 24> kPeople{{
    {"Maria", "she", "her"},   {"James", "he", "his"},   {"Aisha", "she", "her"}, {"Tom", "he", "his"},
    {"Lena", "she", "her"},    {"Carlos", "he", "his"},  {"Priya", "she", "her"}, {"Ben", "he", "his"},
    {"Sofia", "she", "her"},   {"Omar", "he", "his"},    {"Hannah", "she", "her"}, {"Liam", "he", "his"},
    {"Mei", "she", "her"},     {"Jamal", "he", "his"},   {"Rosa", "she", "her"},  {"Ivan", "he", "his"},
    {"Grace", "she", "her"},   {"Noah", "he", "his"},    {"Yuki", "she", "her"},  {"Pedro", "he", "his"},
    {"Chloe", "she", "her"},   {"Kwame", "he", "his"},   {"Nadia", "she", "her"}, {"Eli", "he", "his"},
}};

// Template context: the rng and small helpers that keep templates short.
struct Ctx {
  Rng& rng;
  std::int64_t range(std::int64_t lo, std::int64_t hi) {  // inclusive
    return lo + std::int64_t(rng.below(std::uint32_t(hi - lo + 1)));
  }
  template <class T, std::size_t N>
  const T& pick(const std::array<T, N>& a) {
    return a[rng.below(std::uint32_t(N))];
  }
  const Person& person() { return pick(kPeople); }
  // Two different people.
  std::pair<const Person*, const Person*> two() {
    const auto i = rng.below(std::uint32_t(kPeople.size()));
    auto j = rng.below(std::uint32_t(kPeople.size() - 1));
    if (j >= i) ++j;
    return {&kPeople[i], &kPeople[j]};
  }
  bool coin() { return rng.below(2) == 1; }
};

inline std::string cap(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = char(s[0] - 'a' + 'A');
  return s;
}

using Sv = std::string_view;
using Builder = std::function<std::pair<std::string, Work>(Ctx&, int steps)>;

struct Family {
  const char* name;
  int min_steps, max_steps;
  bool held_out;  // test_ood only
  Builder build;
};

inline std::string S(Sv s) { return std::string(s); }

// ---- template families ------------------------------------------------------------------
inline std::pair<std::string, Work> market(Ctx& c, int) {
  struct P { Sv animals, goods, unit; };
  static constexpr std::array<P, 3> kinds{{{"hens", "eggs", "egg"}, {"goats", "cups of milk", "cup"},
                                            {"apple trees", "apples", "apple"}}};
  const auto& k = c.pick(kinds);
  const auto& p = c.person();
  const auto b = c.range(2, 6), d = c.range(2, 8), rest = c.range(3, 20), price = c.range(2, 5);
  const auto a = b + d + rest;
  std::string q;
  if (c.coin())
    q = S(p.name) + "'s " + S(k.animals) + " give " + num(a) + " " + S(k.goods) + " every day. " + cap(p.he) +
        " uses " + num(b) + " for breakfast and " + num(d) + " for baking. " + cap(p.he) + " sells the rest for $" +
        num(price) + " per " + S(k.unit) + ". How many dollars does " + p.name + " make every day?";
  else
    q = "Every day, the " + S(k.animals) + " on " + S(p.name) + "'s farm produce " + num(a) + " " + S(k.goods) +
        ". " + cap(p.he) + " keeps " + num(b) + " for the family and gives " + num(d) +
        " to a neighbour. If the rest are sold at $" + num(price) + " each, how much money does " + p.name +
        " earn per day?";
  Work w;
  auto r1 = w.step(S(p.name) + " has ", w.lit(a), '-', w.lit(b), " " + S(k.goods) + " left after the first use.");
  auto r2 = w.step("Then " + S(p.he) + " has ", r1, '-', w.lit(d), " " + S(k.goods) + " to sell.");
  w.step(cap(p.he) + " makes ", r2, '*', w.lit(price), " every day.", true);
  return {q, w};
}

inline std::pair<std::string, Work> shopping(Ctx& c, int steps) {
  struct I { Sv plural; std::int64_t lo, hi; };
  static constexpr std::array<I, 8> items{{{"notebooks", 2, 6}, {"pens", 1, 3}, {"apples", 1, 2},
                                           {"shirts", 8, 20}, {"books", 5, 15}, {"candles", 3, 9},
                                           {"toy cars", 4, 12}, {"mugs", 3, 10}}};
  const auto& p = c.person();
  const int n_items = steps >= 5 ? 3 : 2;
  const bool change = steps == 4 || steps == 6;
  std::array<std::size_t, 3> idx{};
  const auto n = std::uint32_t(items.size());
  idx[0] = c.rng.below(n);
  do idx[1] = c.rng.below(n); while (idx[1] == idx[0]);
  do idx[2] = c.rng.below(n); while (idx[2] == idx[0] || idx[2] == idx[1]);
  std::array<std::int64_t, 3> q{}, pr{};
  for (int i = 0; i < 3; ++i) {
    q[i] = c.range(2, 9);
    pr[i] = c.range(items[idx[i]].lo, items[idx[i]].hi);
  }
  std::string text = S(p.name) + " buys ";
  for (int i = 0; i < n_items; ++i) {
    if (i > 0) text += (i == n_items - 1) ? " and " : ", ";
    text += num(q[i]) + " " + S(items[idx[i]].plural) + " for $" + num(pr[i]) + " each";
  }
  text += ".";
  Work w;
  std::array<Val, 3> cost{};
  for (int i = 0; i < n_items; ++i)
    cost[i] = w.step("The " + S(items[idx[i]].plural) + " cost ", w.lit(q[i]), '*', w.lit(pr[i]), ".", true);
  Val total = w.step("Together that is ", cost[0], '+', cost[1], ".", true);
  if (n_items == 3) total = w.step("Adding the " + S(items[idx[2]].plural) + " gives ", total, '+', cost[2], ".", true);
  if (change) {
    std::int64_t bill = 50;
    while (bill < total.v) bill *= 2;
    text += " " + cap(p.he) + " pays with $" + num(bill) + ". How much change does " + S(p.he) + " get?";
    w.step(cap(p.he) + " gets back ", w.lit(bill), '-', total, " in change.", true);
  } else {
    text += c.coin() ? " How much does " + S(p.he) + " spend in total?" : " How many dollars does " + S(p.name) + " pay altogether?";
  }
  return {text, w};
}

inline std::pair<std::string, Work> savings(Ctx& c, int steps) {
  static constexpr std::array<Sv, 5> things{"bike", "guitar", "video game", "pair of shoes", "tent"};
  const auto& p = c.person();
  const auto a = c.range(3, 25), weeks = c.range(3, 12);
  const auto spend = c.range(5, a * weeks - 1);
  const auto& t = c.pick(things);
  std::string q = S(p.name) + " saves $" + num(a) + " every week for " + num(weeks) + " weeks. Then " + S(p.he) +
                  " spends $" + num(spend) + " on a " + S(t) + ".";
  Work w;
  auto saved = w.step(cap(p.he) + " saves ", w.lit(a), '*', w.lit(weeks), ".", true);
  auto left = w.step("After buying the " + S(t) + ", " + S(p.he) + " has ", saved, '-', w.lit(spend), " left.", true);
  if (steps >= 3) {
    const auto gift = c.range(5, 40);
    q += " For " + S(p.his) + " birthday " + S(p.he) + " receives $" + num(gift) + ".";
    w.step("With the gift " + S(p.he) + " has ", left, '+', w.lit(gift), ".", true);
  }
  q += " How much money does " + S(p.name) + " have now?";
  return {q, w};
}

inline std::pair<std::string, Work> trip(Ctx& c, int) {
  const auto& p = c.person();
  const bool bike = c.coin();
  const auto s1 = bike ? c.range(8, 20) : c.range(30, 70), s2 = bike ? c.range(8, 20) : c.range(30, 70);
  const auto h1 = c.range(1, 5), h2 = c.range(1, 4);
  const Sv unit = bike ? "kilometers" : "miles";
  std::string q = bike ? S(p.name) + " cycles at " + num(s1) + " kilometers per hour for " + num(h1) +
                             " hours, rests, and then cycles at " + num(s2) + " kilometers per hour for " + num(h2) +
                             " hours. How many kilometers does " + S(p.he) + " cycle in total?"
                       : S(p.name) + " drives for " + num(h1) + " hours at " + num(s1) + " miles per hour and then for " +
                             num(h2) + " hours at " + num(s2) + " miles per hour. How far does " + S(p.he) + " drive?";
  Work w;
  auto d1 = w.step("First " + S(p.he) + " covers ", w.lit(s1), '*', w.lit(h1), " " + S(unit) + ".");
  auto d2 = w.step("Then " + S(p.he) + " covers ", w.lit(s2), '*', w.lit(h2), " " + S(unit) + ".");
  w.step("In total that is ", d1, '+', d2, " " + S(unit) + ".");
  return {q, w};
}

inline std::pair<std::string, Work> inventory(Ctx& c, int steps) {
  struct S2 { Sv shop, goods; };
  static constexpr std::array<S2, 4> shops{{{"bakery", "loaves of bread"}, {"bookshop", "books"},
                                            {"toy store", "puzzles"}, {"garden centre", "plant pots"}}};
  static constexpr std::array<Sv, 7> days{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  const auto& s = c.pick(shops);
  std::int64_t stock = c.range(40, 150);
  std::string q = "A " + S(s.shop) + " has " + num(stock) + " " + S(s.goods) + ".";
  Work w;
  Val cur = w.lit(stock);
  const std::string goods_tail = " " + S(s.goods) + ".";
  for (int i = 0; i < steps; ++i) {
    const bool sell = cur.v > 15 && (c.coin() || i % 2 == 0);
    const auto x = sell ? c.range(3, cur.v - 5) : c.range(5, 40);
    const Sv day = days[std::size_t(i) % days.size()];
    if (sell) {
      q += " On " + S(day) + " it sells " + num(x) + ".";
      cur = w.step("After " + S(day) + " there are ", cur, '-', w.lit(x), goods_tail);
    } else {
      q += " On " + S(day) + " a delivery brings " + num(x) + " more.";
      cur = w.step("After " + S(day) + " there are ", cur, '+', w.lit(x), goods_tail);
    }
  }
  q += " How many " + S(s.goods) + " does the " + S(s.shop) + " have at the end?";
  return {q, w};
}

inline std::pair<std::string, Work> sharing(Ctx& c, int) {
  static constexpr std::array<Sv, 4> foods{"cookies", "stickers", "marbles", "strawberries"};
  const auto& p = c.person();
  const auto& f = c.pick(foods);
  const auto k = c.range(2, 8), each = c.range(2, 12), e = c.range(1, 9);
  const auto n = k * each + e;
  std::string q = c.coin() ? S(p.name) + " has " + num(n) + " " + S(f) + ". " + cap(p.he) + " keeps " + num(e) +
                                 " and shares the rest equally among " + num(k) + " friends. How many " + S(f) +
                                 " does each friend get?"
                           : "There are " + num(n) + " " + S(f) + " in a jar. " + S(p.name) + " takes out " + num(e) +
                                 " and divides the others equally into " + num(k) + " bags. How many " + S(f) +
                                 " are in each bag?";
  Work w;
  auto rest = w.step("There are ", w.lit(n), '-', w.lit(e), " " + S(f) + " to share.");
  w.step("Each share has ", rest, '/', w.lit(k), " " + S(f) + ".");
  return {q, w};
}

inline std::pair<std::string, Work> ages(Ctx& c, int steps) {
  auto [a, b] = c.two();
  const auto x = c.range(2, 30), y = c.range(4, 40), z = c.range(2, 15);
  std::string q = S(a->name) + " is " + num(x) + " years older than " + S(b->name) + ". " + S(b->name) + " is " +
                  num(y) + " years old.";
  Work w;
  auto age_a = w.step(S(a->name) + " is ", w.lit(y), '+', w.lit(x), " years old.");
  if (steps <= 2) {
    q += " How old will " + S(a->name) + " be in " + num(z) + " years?";
    w.step("In " + num(z) + " years " + S(a->he) + " will be ", age_a, '+', w.lit(z), " years old.");
  } else {
    q += " What will be the sum of their ages in " + num(z) + " years?";
    auto fa = w.step("In " + num(z) + " years " + S(a->name) + " will be ", age_a, '+', w.lit(z), ".");
    auto fb = w.step("In " + num(z) + " years " + S(b->name) + " will be ", w.lit(y), '+', w.lit(z), ".");
    w.step("The sum of their ages will be ", fa, '+', fb, " years.");
  }
  return {q, w};
}

inline std::pair<std::string, Work> garden(Ctx& c, int steps) {
  struct G { Sv plant, fruit; };
  static constexpr std::array<G, 4> gs{{{"tomato plants", "tomatoes"}, {"pepper plants", "peppers"},
                                        {"bean plants", "beans"}, {"sunflowers", "seed heads"}}};
  const auto& p = c.person();
  const auto& g = c.pick(gs);
  const auto r = c.range(3, 12), per = c.range(4, 15);
  const auto dead = c.range(1, r * per / 3);
  std::string q = S(p.name) + " plants " + num(r) + " rows of " + S(g.plant) + " with " + num(per) +
                  " in each row. " + num(dead) + " of them do not grow.";
  Work w;
  auto total = w.step(cap(p.he) + " plants ", w.lit(r), '*', w.lit(per), " " + S(g.plant) + ".");
  auto alive = w.step("Of these, ", total, '-', w.lit(dead), " grow.");
  if (steps >= 3) {
    const auto f = c.range(2, 9);
    q += " Each plant that grows gives " + num(f) + " " + S(g.fruit) + ". How many " + S(g.fruit) + " does " +
         S(p.name) + " harvest?";
    w.step(cap(p.he) + " harvests ", alive, '*', w.lit(f), " " + S(g.fruit) + ".");
  } else {
    q += " How many " + S(g.plant) + " grow?";
  }
  return {q, w};
}

inline std::pair<std::string, Work> recipe(Ctx& c, int) {
  struct R { Sv ingredient, food; };
  static constexpr std::array<R, 4> rs{{{"cups of flour", "muffins"}, {"eggs", "pancakes"},
                                        {"spoons of sugar", "cookies"}, {"cups of rice", "servings"}}};
  const auto& r = c.pick(rs);
  const auto a = c.range(2, 6), b = c.range(4, 12), m = c.range(2, 6);
  std::string q = "A recipe uses " + num(a) + " " + S(r.ingredient) + " to make " + num(b) + " " + S(r.food) +
                  ". How many " + S(r.ingredient) + " are needed to make " + num(b * m) + " " + S(r.food) + "?";
  Work w;
  auto times = w.step("That is ", w.lit(b * m), '/', w.lit(b), " times the recipe.");
  w.step("So it needs ", w.lit(a), '*', times, " " + S(r.ingredient) + ".");
  return {q, w};
}

inline std::pair<std::string, Work> wages(Ctx& c, int) {
  const auto& p = c.person();
  const auto r = c.range(8, 25), h = c.range(10, 40), o = c.range(2, 8);
  std::string q = S(p.name) + " earns $" + num(r) + " an hour. This week " + S(p.he) + " works " + num(h) +
                  " regular hours and " + num(o) + " hours of overtime, which pays twice the hourly rate. How much does " +
                  S(p.he) + " earn this week?";
  Work w;
  auto reg = w.step("Regular pay is ", w.lit(r), '*', w.lit(h), ".", true);
  auto rate = w.step("Overtime pays ", w.lit(r), '*', w.lit(2), " an hour.", true);
  auto ot = w.step("Overtime pay is ", rate, '*', w.lit(o), ".", true);
  w.step("In total " + S(p.he) + " earns ", reg, '+', ot, ".", true);
  return {q, w};
}

inline std::pair<std::string, Work> reading(Ctx& c, int steps) {
  const auto& p = c.person();
  const auto a = c.range(5, 30), d = c.range(2, 9);
  const auto extra = c.range(3, 20);
  const auto pages = a * d + extra + c.range(10, 200);
  std::string q = "A book has " + num(pages) + " pages. " + S(p.name) + " reads " + num(a) + " pages a day for " +
                  num(d) + " days.";
  Work w;
  auto read = w.step(cap(p.he) + " reads ", w.lit(a), '*', w.lit(d), " pages.");
  Val done = read;
  if (steps >= 3) {
    q += " On the next day " + S(p.he) + " reads " + num(extra) + " pages.";
    done = w.step("Altogether " + S(p.he) + " has read ", read, '+', w.lit(extra), " pages.");
  }
  q += " How many pages are left?";
  w.step("There are ", w.lit(pages), '-', done, " pages left.");
  return {q, w};
}

inline std::pair<std::string, Work> classroom(Ctx& c, int) {
  static constexpr std::array<Sv, 4> things{"pencils", "erasers", "crayons", "stickers"};
  const auto& p = c.person();
  const auto& t = c.pick(things);
  const auto k = c.range(3, 10), n = c.range(6, 24);
  const auto s = c.range(5, std::min<std::int64_t>(25, k * n));
  const auto m = c.range(1, (k * n) / s);
  std::string q = "A teacher, " + S(p.name) + ", buys " + num(k) + " boxes of " + S(t) + " with " + num(n) +
                  " in each box. " + cap(p.he) + " gives " + num(m) + " " + S(t) + " to each of " + num(s) +
                  " students. How many " + S(t) + " are left?";
  Work w;
  auto total = w.step("There are ", w.lit(k), '*', w.lit(n), " " + S(t) + ".");
  auto given = w.step(cap(p.he) + " gives away ", w.lit(m), '*', w.lit(s), " " + S(t) + ".");
  w.step("So ", total, '-', given, " " + S(t) + " are left.");
  return {q, w};
}

inline std::pair<std::string, Work> fundraiser(Ctx& c, int steps) {
  static constexpr std::array<Sv, 3> events{"school play", "concert", "charity quiz"};
  const auto& e = c.pick(events);
  const auto a = c.range(20, 120), pa = c.range(5, 15), k = c.range(10, 80), pk = c.range(2, 5);
  std::string q = "The " + S(e) + " sold " + num(a) + " adult tickets at $" + num(pa) + " each and " + num(k) +
                  " child tickets at $" + num(pk) + " each.";
  Work w;
  auto ra = w.step("Adult tickets brought in ", w.lit(a), '*', w.lit(pa), ".", true);
  auto rk = w.step("Child tickets brought in ", w.lit(k), '*', w.lit(pk), ".", true);
  auto tot = w.step("The total is ", ra, '+', rk, ".", true);
  if (steps >= 4) {
    const auto cost = c.range(10, tot.v - 1);
    q += " The costs were $" + num(cost) + ". What was the profit?";
    w.step("The profit was ", tot, '-', w.lit(cost), ".", true);
  } else {
    q += " How much money did the tickets bring in?";
  }
  return {q, w};
}

inline std::pair<std::string, Work> picking(Ctx& c, int steps) {
  static constexpr std::array<Sv, 4> fruits{"apples", "cherries", "plums", "blackberries"};
  auto [a, b] = c.two();
  const auto& f = c.pick(fruits);
  const auto x = c.range(4, 30), m = c.range(2, 4);
  std::string q = S(a->name) + " picks " + num(x) + " " + S(f) + ". " + S(b->name) + " picks " + num(m) +
                  " times as many as " + S(a->name) + ".";
  Work w;
  auto bb = w.step(S(b->name) + " picks ", w.lit(x), '*', w.lit(m), " " + S(f) + ".");
  auto ab = w.step("Together they pick ", w.lit(x), '+', bb, " " + S(f) + ".");
  if (steps >= 4) {
    const auto fewer = c.range(1, bb.v - 1);
    q += " Their friend picks " + num(fewer) + " fewer than " + S(b->name) + ". How many " + S(f) +
         " do the three pick in total?";
    auto cc = w.step("The friend picks ", bb, '-', w.lit(fewer), " " + S(f) + ".");
    w.step("All three pick ", ab, '+', cc, " " + S(f) + ".");
  } else {
    q += " How many " + S(f) + " do they pick together?";
  }
  return {q, w};
}

// ---- held-out families (test_ood only) --------------------------------------------------
inline std::pair<std::string, Work> clock(Ctx& c, int) {
  static constexpr std::array<std::int64_t, 8> divisors{2, 3, 4, 5, 6, 10, 12, 15};
  static constexpr std::array<Sv, 4> tasks{"essay", "lap of the track", "puzzle", "drawing"};
  const auto& p = c.person();
  const auto n = c.pick(divisors), hours = c.range(1, 6);
  const auto m = 60 * hours / n;
  const auto& t = c.pick(tasks);
  std::string q = "It takes " + S(p.name) + " " + num(m) + " minutes to finish one " + S(t) + ". How many hours does " +
                  S(p.he) + " need to finish " + num(n) + " of them?";
  Work w;
  auto mins = w.step(cap(p.he) + " needs ", w.lit(m), '*', w.lit(n), " minutes.");
  w.step("That is ", mins, '/', w.lit(60), " hours.");
  return {q, w};
}

inline std::pair<std::string, Work> fence(Ctx& c, int steps) {
  static constexpr std::array<Sv, 3> places{"garden", "playground", "dog run"};
  const auto& pl = c.pick(places);
  const auto l = c.range(5, 40), wd = c.range(3, 25), cost = c.range(2, 9);
  Work w;
  std::string q;
  if (steps >= 3) {
    q = "A rectangular " + S(pl) + " is " + num(l) + " feet long and " + num(wd) + " feet wide. Fencing costs $" +
        num(cost) + " per foot. How much does it cost to fence the whole " + S(pl) + "?";
    auto half = w.step("Half the perimeter is ", w.lit(l), '+', w.lit(wd), " feet.");
    auto per = w.step("The perimeter is ", half, '*', w.lit(2), " feet.");
    w.step("The fence costs ", per, '*', w.lit(cost), ".", true);
  } else {
    q = "A rectangular " + S(pl) + " measures " + num(l) + " feet by " + num(wd) + " feet. Grass seed for one square foot costs $" +
        num(cost) + ". How much does seed for the whole " + S(pl) + " cost?";
    auto area = w.step("The area is ", w.lit(l), '*', w.lit(wd), " square feet.");
    w.step("The seed costs ", area, '*', w.lit(cost), ".", true);
  }
  return {q, w};
}

inline std::pair<std::string, Work> discount(Ctx& c, int) {
  static constexpr std::array<std::int64_t, 4> pct{10, 20, 25, 50};
  static constexpr std::array<Sv, 4> goods{"jacket", "lamp", "backpack", "board game"};
  const auto& p = c.person();
  const auto d = c.pick(pct), price = 20 * c.range(1, 10), n = c.range(2, 5);
  const auto& g = c.pick(goods);
  std::string q = "A " + S(g) + " costs $" + num(price) + ". During a sale everything is " + num(d) + "% off. " +
                  S(p.name) + " buys " + num(n) + " of them. How much does " + S(p.he) + " pay?";
  Work w;
  auto x = w.step("The discount is ", w.lit(price), '*', w.lit(d), " hundredths of a dollar.");
  auto off = w.step("That is ", x, '/', w.lit(100), " off each.", true);
  auto sale = w.step("Each costs ", w.lit(price), '-', off, ".", true);
  w.step(cap(p.he) + " pays ", sale, '*', w.lit(n), ".", true);
  return {q, w};
}

inline std::pair<std::string, Work> tank(Ctx& c, int steps) {
  const auto fill = c.range(6, 20), leak = c.range(1, 5);
  const auto net = fill - leak;
  const auto minutes = c.range(3, 30);
  const auto start = steps >= 3 ? c.range(5, 60) : 0;
  const auto cap_l = net * minutes + start;
  Work w;
  std::string q = "A tank holds " + num(cap_l) + " liters. A pipe fills it with " + num(fill) +
                  " liters per minute while a leak drains " + num(leak) + " liters per minute.";
  auto n = w.step("The tank gains ", w.lit(fill), '-', w.lit(leak), " liters per minute.");
  Val need = w.lit(cap_l);
  if (steps >= 3) {
    q += " The tank already holds " + num(start) + " liters. How many minutes until it is full?";
    need = w.step("It still needs ", w.lit(cap_l), '-', w.lit(start), " liters.");
  } else {
    q += " How many minutes does it take to fill the empty tank?";
  }
  w.step("It takes ", need, '/', n, " minutes.");
  return {q, w};
}

inline const std::vector<Family>& families() {
  static const std::vector<Family> f{
      {"market", 3, 3, false, market},         {"shopping", 3, 6, false, shopping},
      {"savings", 2, 3, false, savings},       {"trip", 3, 3, false, trip},
      {"inventory", 1, 8, false, inventory},   {"sharing", 2, 2, false, sharing},
      {"ages", 2, 4, false, [](Ctx& c, int s) { return ages(c, s >= 3 ? 4 : 2); }},
      {"garden", 2, 3, false, garden},         {"recipe", 2, 2, false, recipe},
      {"wages", 4, 4, false, wages},           {"reading", 2, 3, false, reading},
      {"classroom", 3, 3, false, classroom},   {"fundraiser", 3, 4, false, fundraiser},
      {"picking", 2, 4, false, [](Ctx& c, int s) { return picking(c, s >= 3 ? 4 : 2); }},
      {"clock", 2, 2, true, clock},            {"fence", 2, 3, true, fence},
      {"discount", 4, 4, true, discount},      {"tank", 2, 3, true, tank},
  };
  return f;
}

}  // namespace detail::math

struct MathGenConfig {
  std::uint64_t seed = 0;
  int min_steps = 1;  // difficulty range: number of calculator steps
  int max_steps = 8;
  // A question belongs to `test` iff its FNV-1a hash is divisible by this; `train` never emits
  // such a question, so the two splits cannot share a question text.
  std::uint64_t test_modulus = 8;
};

class MathGenerator {
 public:
  explicit MathGenerator(MathGenConfig cfg = {}) : m_cfg(cfg) {
    if (m_cfg.min_steps < 1 || m_cfg.max_steps < m_cfg.min_steps)
      fail("math generator: steps range [", m_cfg.min_steps, ", ", m_cfg.max_steps, "] is empty or below 1");
    if (m_cfg.test_modulus < 2) fail("math generator: test_modulus must be >= 2");
    (void)eligible(MathSplit::Train);  // throws when no family fits the steps range
  }

  // Problem `index` of `split`: a pure function of (seed, split, index).
  [[nodiscard]] MathProblem problem(MathSplit split, std::uint64_t index) const {
    Rng rng = Rng(m_cfg.seed).split("mathgen").split(to_string(split)).split(index);
    const auto fams = eligible(split);
    for (;;) {
      const auto& fam = *fams[rng.below(std::uint32_t(fams.size()))];
      const int lo = std::max(fam.min_steps, m_cfg.min_steps), hi = std::min(fam.max_steps, m_cfg.max_steps);
      const int steps = lo + int(rng.below(std::uint32_t(hi - lo + 1)));
      detail::math::Ctx ctx{rng};
      auto [q, work] = fam.build(ctx, steps);
      const bool is_test = hash_tag(q) % m_cfg.test_modulus == 0;
      if (split == MathSplit::Train && is_test) continue;
      if (split == MathSplit::Test && !is_test) continue;
      MathProblem p;
      p.question = std::move(q);
      p.answer = work.render();
      p.result = work.result();
      p.family = fam.name;
      p.steps = int(work.size());
      for (auto& w : work.wrong_solutions()) {
        p.wrong.push_back(w.result);
        p.wrong_solutions.push_back(std::move(w.solution));
      }
      return p;
    }
  }

  [[nodiscard]] std::vector<MathProblem> generate(MathSplit split, std::size_t n, std::uint64_t first = 0) const {
    std::vector<MathProblem> out;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) out.push_back(problem(split, first + i));
    return out;
  }

  [[nodiscard]] static std::vector<std::string> family_names(bool held_out) {
    std::vector<std::string> v;
    for (const auto& f : detail::math::families())
      if (f.held_out == held_out) v.push_back(f.name);
    return v;
  }
  [[nodiscard]] const MathGenConfig& config() const noexcept { return m_cfg; }

 private:
  [[nodiscard]] std::vector<const detail::math::Family*> eligible(MathSplit split) const {
    std::vector<const detail::math::Family*> v;
    const bool ood = split == MathSplit::TestOod;
    for (const auto& f : detail::math::families())
      if (f.held_out == ood && f.max_steps >= m_cfg.min_steps && f.min_steps <= m_cfg.max_steps) v.push_back(&f);
    if (v.empty())
      fail("math generator: no template family of split ", to_string(split), " has between ", m_cfg.min_steps,
           " and ", m_cfg.max_steps, " steps");
    return v;
  }
  MathGenConfig m_cfg;
};

}  // namespace dma::data
