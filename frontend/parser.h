// Script text -> AST.
#pragma once
#include <memory>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "frontend/preprocess.h"

namespace ntap {

// Parses a whole script. Throws CompileError(ErrorKind::Parse) at the first
// syntax error, located at the offending token, with a message naming what was
// expected. Every AST node's Location is where the node starts; `file` must
// outlive the returned program (Locations point into it).
std::unique_ptr<ast::Program> parse_script(const SourceFile &file);

struct ParseOptions {
  PreprocessOptions preprocessor;  // the script's arguments ($1, @1...) and what %( %) conditions test
  // The user's script, not a tapset file: one with no declaration at all
  // (empty, or emptied by its conditionals) is an error, as in stap.
  bool user_script = false;
};
// As above, with the script's command-line arguments (and, for tests, the
// system the preprocessor's conditions describe).
std::unique_ptr<ast::Program> parse_script(const SourceFile &file, const ParseOptions &options);


}  // namespace ntap
