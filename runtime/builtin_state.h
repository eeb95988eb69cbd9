// State that some builtins keep between calls within one run (ntap_rt owns
// one), so that two sessions in one process never see each other's state.
#pragma once
#include <cstddef>
#include <string>

namespace ntap {

struct BuiltinState {
  // tokenize(str, delims): the copy of `str` being split and where the next
  // token starts; npos when every token has been returned.
  std::string tokenize_input;
  size_t tokenize_next = std::string::npos;
};

}  // namespace ntap
