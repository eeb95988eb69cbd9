// State that some builtins keep between calls within one run (ntap_rt owns
// one), so that two sessions in one process never see each other's state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/user_symbols.h"

namespace ntap {

struct BuiltinState {
  // target(): the pid given with -x or of the command started with -c; 0 without.
  int64_t target_pid = 0;
  // tokenize(str, delims): the copy of `str` being split and where the next
  // token starts; npos when every token has been returned.
  std::string tokenize_input;
  size_t tokenize_next = std::string::npos;
  // sprint_usyms() in user probes: the ntap process's own addresses.
  UserSymbols own_symbols;
};

}  // namespace ntap
