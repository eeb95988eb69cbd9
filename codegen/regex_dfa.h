// POSIX extended regular expressions compiled to a DFA over bytes, for
// `=~` / `!~` in kernel probes (codegen/bpf/regex_bpf.cpp): a BPF program
// cannot call regexec, but it can walk a transition table.
//
// The DFA answers what `=~` needs: does the pattern match anywhere in the
// string (regexec without REG_NOSUB's positions)? Where subexpressions
// matched (matched(n)) is not something a DFA knows; user probes keep it.
//
// Supported: literals, `.`, bracket expressions (ranges, negation, the
// [:class:] names), `^`, `$`, `( )`, `|`, `*`, `+`, `?`, `{m}`, `{m,}`,
// `{m,n}`, and `\` before a character that then stands for itself, as glibc's
// regcomp(REG_EXTENDED) reads them. What else glibc accepts (back-references,
// \w \s \b \< and the other GNU escapes, [= =] and [. .]) is refused with a
// message naming it, never matched differently.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ntap::regex {

struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Dfa {
  // Bytes 1..255 fall into classes that every state treats alike
  // (byte_class[0] is unused: a string ends at its NUL).
  std::vector<uint8_t> byte_class;  // 256 entries
  uint32_t classes = 0;
  uint32_t states = 0;              // state 0 is the start
  // next[state * classes + class]
  std::vector<uint16_t> next;
  // The pattern has matched once a state with `accepting` is reached; at
  // the end of the string, `accepting_at_end` (which counts `$`) decides.
  std::vector<uint8_t> accepting, accepting_at_end;

  bool matches(const std::string &subject) const;  // runs the table (tests, documentation)
};

// Throws Unsupported for what the DFA cannot express or cannot hold in
// `max_states` states.
Dfa compile(const std::string &pattern, uint32_t max_states = 512);

}  // namespace ntap::regex
