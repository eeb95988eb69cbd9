// Helpers shared by the unit tests: running the frontend over a script
// held in memory, and hand-made globals with a matching layout for tests of
// the runtime that do without the frontend.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/layout.h"
#include "frontend/ast.h"
#include "frontend/diagnostics.h"

namespace ntap::test {

// A script after every frontend pass; `sources` keeps its text alive.
struct CheckedScript {
  SourceManager sources;
  std::unique_ptr<ast::Program> program;
};

struct CheckOptions {
  uint32_t string_limit = 128;             // -D MAXSTRINGLEN
  bool keep_unused = false;                // -u
  std::vector<std::string> tapset_dirs{};  // -I: tapsets loaded before the passes
};

// Parses `text` as the file "t.ntp" and runs the frontend passes (warnings
// off). Throws the CompileError the script is rejected with.
std::unique_ptr<CheckedScript> check_script(const std::string &text, const CheckOptions &options = {});

// The error `text` is rejected with, as "LINE:COL message"; "no error" when
// it is accepted.
std::string error_of(const std::string &text, const CheckOptions &options = {});

// Globals made by hand (no frontend) with a host/kernel layout that matches
// them, so stores and the runtime API can be tested alone.
struct HandMadeGlobals {
  ast::Program program;
  Layout layout;

  // A global of `value` type, an array when `keys` is not empty; its id.
  uint32_t add(const std::string &name, ast::Type value, std::vector<ast::Type> keys = {});
};

}  // namespace ntap::test
