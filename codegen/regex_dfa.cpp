// Pattern → syntax tree → Thompson NFA → DFA by subset construction.
//
// Anchors are NFA edges taken only where they hold: `^` edges in the
// closure of the start state, `$` edges in the closure taken at the end of
// the string. A search state that loops on every byte before the pattern's
// start makes the DFA find a match anywhere, as regexec does.
#include "codegen/regex_dfa.h"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <map>
#include <memory>
#include <set>

namespace ntap::regex {
namespace {

using ByteSet = std::bitset<256>;

constexpr size_t kMaxNfaStates = 8192;
constexpr int kMaxRepeat = 255;

struct Node {
  enum Kind { Set, Concat, Alt, Repeat, Bol, Eol, Empty } kind;
  ByteSet set;
  std::vector<std::unique_ptr<Node>> kids;
  int min = 0, max = -1;  // Repeat; max -1: unbounded
  explicit Node(Kind k) : kind(k) {}
};
using NodePtr = std::unique_ptr<Node>;

ByteSet every_byte() {
  ByteSet s;
  s.set();
  s.reset(0);  // a C string holds no NUL
  return s;
}

// The [:name:] classes of the C locale, which ntap runs in.
ByteSet named_class(const std::string &name) {
  int (*test)(int) = nullptr;
  if (name == "alpha") test = isalpha;
  else if (name == "digit") test = isdigit;
  else if (name == "alnum") test = isalnum;
  else if (name == "upper") test = isupper;
  else if (name == "lower") test = islower;
  else if (name == "space") test = isspace;
  else if (name == "blank") test = isblank;
  else if (name == "punct") test = ispunct;
  else if (name == "print") test = isprint;
  else if (name == "graph") test = isgraph;
  else if (name == "cntrl") test = iscntrl;
  else if (name == "xdigit") test = isxdigit;
  else throw Unsupported("unknown character class [:" + name + ":]");
  ByteSet s;
  for (int c = 1; c < 128; ++c)
    if (test(c)) s.set(c);
  return s;
}

class Parser {
 public:
  explicit Parser(const std::string &pattern) : p_(pattern) {}

  NodePtr parse() {
    NodePtr root = alternation();
    if (pos_ != p_.size()) unsupported("an unmatched ')'");
    return root;
  }

 private:
  [[noreturn]] void unsupported(const std::string &what) const {
    throw Unsupported(what + " (at offset " + std::to_string(pos_) + ")");
  }
  bool at_end() const { return pos_ >= p_.size(); }
  char peek() const { return p_[pos_]; }

  NodePtr alternation() {
    auto alt = std::make_unique<Node>(Node::Alt);
    alt->kids.push_back(concatenation());
    while (!at_end() && peek() == '|') {
      ++pos_;
      alt->kids.push_back(concatenation());
    }
    if (alt->kids.size() == 1) return std::move(alt->kids[0]);
    return alt;
  }

  NodePtr concatenation() {
    auto seq = std::make_unique<Node>(Node::Concat);
    // An unmatched ')' is an ordinary character, as glibc reads it.
    while (!at_end() && peek() != '|' && !(peek() == ')' && depth_ > 0)) seq->kids.push_back(repetition());
    if (seq->kids.empty()) return std::make_unique<Node>(Node::Empty);
    if (seq->kids.size() == 1) return std::move(seq->kids[0]);
    return seq;
  }

  NodePtr repetition() {
    NodePtr atom_node = atom();
    while (!at_end()) {
      int min = 0, max = -1;
      const char c = peek();
      if (c == '*') {
        ++pos_;
      } else if (c == '+') {
        ++pos_;
        min = 1;
      } else if (c == '?') {
        ++pos_;
        max = 1;
      } else if (c == '{') {
        interval(min, max);
      } else {
        break;
      }
      auto repeat = std::make_unique<Node>(Node::Repeat);
      repeat->min = min;
      repeat->max = max;
      repeat->kids.push_back(std::move(atom_node));
      atom_node = std::move(repeat);
    }
    return atom_node;
  }

  // {m}, {m,}, {m,n}
  void interval(int &min, int &max) {
    ++pos_;
    auto number = [&]() {
      if (at_end() || !isdigit(static_cast<unsigned char>(peek()))) unsupported("a '{' that does not start an interval");
      int n = 0;
      while (!at_end() && isdigit(static_cast<unsigned char>(peek()))) {
        n = n * 10 + (peek() - '0');
        if (n > kMaxRepeat) unsupported("a repeat count above " + std::to_string(kMaxRepeat));
        ++pos_;
      }
      return n;
    };
    // {,n} and {,} leave the minimum at 0.
    min = (!at_end() && peek() == ',') ? 0 : number();
    max = min;
    if (!at_end() && peek() == ',') {
      ++pos_;
      max = (!at_end() && peek() == '}') ? -1 : number();
    }
    if (at_end() || peek() != '}') unsupported("an interval without its '}'");
    ++pos_;
    if (max != -1 && max < min) unsupported("an interval whose maximum is below its minimum");
  }

  NodePtr literal(unsigned char c) {
    auto node = std::make_unique<Node>(Node::Set);
    node->set.set(c);
    return node;
  }

  NodePtr atom() {
    const char c = p_[pos_++];
    switch (c) {
      case '(': {
        ++depth_;
        NodePtr inner = alternation();
        --depth_;
        if (at_end() || peek() != ')') unsupported("a '(' without its ')'");
        ++pos_;
        return inner;
      }
      case '[': return bracket();
      case '.': {
        auto node = std::make_unique<Node>(Node::Set);
        node->set = every_byte();
        return node;
      }
      case '^': return std::make_unique<Node>(Node::Bol);
      case '$': return std::make_unique<Node>(Node::Eol);
      case '\\': {
        if (at_end()) unsupported("a trailing '\\'");
        const unsigned char escaped = static_cast<unsigned char>(p_[pos_++]);
        if (isalnum(escaped) || escaped == '<' || escaped == '>' || escaped == '`' || escaped == '\'')
          unsupported(std::string("the GNU escape or back-reference '\\") + static_cast<char>(escaped) + "'");
        return literal(escaped);
      }
      case '*':
      case '+':
      case '?':
      case '{':
        --pos_;
        unsupported(std::string("a '") + c + "' with nothing to repeat");
      default:
        return literal(static_cast<unsigned char>(c));
    }
  }

  NodePtr bracket() {
    auto node = std::make_unique<Node>(Node::Set);
    bool negate = false;
    if (!at_end() && peek() == '^') {
      negate = true;
      ++pos_;
    }
    ByteSet set;
    bool first = true;
    for (;;) {
      if (at_end()) unsupported("a '[' without its ']'");
      unsigned char c = static_cast<unsigned char>(p_[pos_]);
      if (c == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      if (c == '[' && pos_ + 1 < p_.size() && (p_[pos_ + 1] == '=' || p_[pos_ + 1] == '.'))
        unsupported(std::string("the bracket element '[") + p_[pos_ + 1] + "'");
      if (c == '[' && pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') {
        const size_t close = p_.find(":]", pos_ + 2);
        if (close == std::string::npos) unsupported("a '[:' without its ':]'");
        set |= named_class(p_.substr(pos_ + 2, close - pos_ - 2));
        pos_ = close + 2;
        continue;
      }
      ++pos_;
      // c-d is a range unless '-' is last (before ']').
      if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
        const unsigned char last = static_cast<unsigned char>(p_[pos_ + 1]);
        if (last == '[') unsupported("a range ending in a bracket element");
        pos_ += 2;
        if (last < c) unsupported("a range whose end is below its start");
        for (unsigned v = c; v <= last; ++v) set.set(v);
        continue;
      }
      set.set(c);
    }
    set.reset(0);
    node->set = negate ? (every_byte() & ~set) : set;
    return node;
  }

  const std::string &p_;
  size_t pos_ = 0;
  int depth_ = 0;  // open '('
};

struct NfaState {
  ByteSet bytes;  // consumes one of these and goes to `to`
  int to = -1;
  std::vector<int> eps, bol, eol;
};

class Nfa {
 public:
  struct Fragment {
    int start, end;
  };

  int add() {
    if (states.size() >= kMaxNfaStates) throw Unsupported("the pattern is too large for a kernel probe");
    states.emplace_back();
    return static_cast<int>(states.size() - 1);
  }

  Fragment build(const Node &n) {
    switch (n.kind) {
      case Node::Empty: {
        int s = add();
        return {s, s};
      }
      case Node::Set: {
        int s = add(), e = add();
        states[s].bytes = n.set;
        states[s].to = e;
        return {s, e};
      }
      case Node::Bol:
      case Node::Eol: {
        int s = add(), e = add();
        (n.kind == Node::Bol ? states[s].bol : states[s].eol).push_back(e);
        return {s, e};
      }
      case Node::Concat: {
        Fragment whole = build(*n.kids[0]);
        for (size_t i = 1; i < n.kids.size(); ++i) {
          Fragment next = build(*n.kids[i]);
          states[whole.end].eps.push_back(next.start);
          whole.end = next.end;
        }
        return whole;
      }
      case Node::Alt: {
        int s = add(), e = add();
        for (const auto &kid : n.kids) {
          Fragment branch = build(*kid);
          states[s].eps.push_back(branch.start);
          states[branch.end].eps.push_back(e);
        }
        return {s, e};
      }
      case Node::Repeat: {
        int s = add();
        int end = s;
        for (int i = 0; i < n.min; ++i) {  // the required copies
          Fragment copy = build(*n.kids[0]);
          states[end].eps.push_back(copy.start);
          end = copy.end;
        }
        if (n.max == -1) {  // then any number more
          Fragment loop = build(*n.kids[0]);
          int after = add();
          states[end].eps.push_back(loop.start);
          states[end].eps.push_back(after);
          states[loop.end].eps.push_back(loop.start);
          states[loop.end].eps.push_back(after);
          return {s, after};
        }
        int after = add();
        for (int i = n.min; i < n.max; ++i) {  // each optional copy may end the run
          Fragment copy = build(*n.kids[0]);
          states[end].eps.push_back(after);
          states[end].eps.push_back(copy.start);
          end = copy.end;
        }
        states[end].eps.push_back(after);
        return {s, after};
      }
    }
    throw Unsupported("internal: unknown regex node");
  }

  std::vector<int> closure(std::vector<int> set, bool at_start, bool at_end) const {
    std::vector<bool> seen(states.size());
    std::vector<int> work = set;
    for (int s : set) seen[s] = true;
    while (!work.empty()) {
      int s = work.back();
      work.pop_back();
      auto follow = [&](const std::vector<int> &edges) {
        for (int t : edges)
          if (!seen[t]) {
            seen[t] = true;
            set.push_back(t);
            work.push_back(t);
          }
      };
      follow(states[s].eps);
      if (at_start) follow(states[s].bol);
      if (at_end) follow(states[s].eol);
    }
    std::sort(set.begin(), set.end());
    return set;
  }

  std::vector<NfaState> states;
};

}  // namespace

Dfa compile(const std::string &pattern, uint32_t max_states) {
  NodePtr tree = Parser(pattern).parse();
  Nfa nfa;
  // The search state: any byte keeps looking for the pattern's start.
  const int search = nfa.add();
  Nfa::Fragment body = nfa.build(*tree);
  nfa.states[search].bytes = every_byte();
  nfa.states[search].to = search;
  nfa.states[search].eps.push_back(body.start);
  const int accept = body.end;

  Dfa dfa;
  // Byte classes: bytes that every consuming NFA state treats alike.
  dfa.byte_class.assign(256, 0);
  std::map<std::vector<bool>, uint8_t> class_of;
  std::vector<uint8_t> representative;
  for (int c = 1; c < 256; ++c) {
    std::vector<bool> signature;
    for (const NfaState &s : nfa.states) signature.push_back(s.bytes.test(c));
    auto [it, fresh] = class_of.try_emplace(signature, static_cast<uint8_t>(class_of.size()));
    if (fresh) {
      if (class_of.size() > 255) throw Unsupported("too many byte classes");
      representative.push_back(static_cast<uint8_t>(c));
    }
    dfa.byte_class[c] = it->second;
  }
  dfa.classes = static_cast<uint32_t>(representative.size());

  // Subset construction; the start state stays apart (only it lets `^` hold).
  using Key = std::pair<std::vector<int>, bool>;
  std::map<Key, uint32_t> index;
  std::vector<Key> pending;
  auto state_of = [&](Key key) {
    auto [it, fresh] = index.try_emplace(key, static_cast<uint32_t>(index.size()));
    if (fresh) {
      if (index.size() > max_states)
        throw Unsupported("the pattern needs more than " + std::to_string(max_states) + " DFA states");
      pending.push_back(std::move(key));
    }
    return it->second;
  };
  state_of({nfa.closure({search}, true, false), true});
  for (size_t done = 0; done < pending.size(); ++done) {
    const Key key = pending[done];
    const std::vector<int> &set = key.first;
    dfa.accepting.push_back(std::binary_search(set.begin(), set.end(), accept));
    const std::vector<int> at_end = nfa.closure(set, key.second, true);
    dfa.accepting_at_end.push_back(std::binary_search(at_end.begin(), at_end.end(), accept));
    for (uint8_t byte : representative) {
      std::vector<int> moved;
      for (int s : set)
        if (nfa.states[s].bytes.test(byte)) moved.push_back(nfa.states[s].to);
      std::sort(moved.begin(), moved.end());
      moved.erase(std::unique(moved.begin(), moved.end()), moved.end());
      const uint32_t target = state_of({nfa.closure(moved, false, false), false});
      dfa.next.push_back(static_cast<uint16_t>(target));
    }
  }
  dfa.states = static_cast<uint32_t>(index.size());
  return dfa;
}

bool Dfa::matches(const std::string &subject) const {
  uint32_t state = 0;
  for (unsigned char c : subject) {
    if (accepting[state]) return true;
    if (c == 0) break;
    state = next[state * classes + byte_class[c]];
  }
  return accepting[state] || accepting_at_end[state];
}

}  // namespace ntap::regex
