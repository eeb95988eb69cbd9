// Evaluation of `%( CONDITION %? ...` (internal to the preprocessor).
#pragma once
#include <string>
#include <vector>

#include "frontend/preprocess.h"
#include "frontend/preprocess_lexer.h"

namespace ntap::pp {

struct ConditionScope {
  const SourceFile &file;
  const PreprocessTarget &target;
  const std::vector<std::string> &args;
};

// Reads the condition that follows the `%(` token `open`, through its `%?`,
// and evaluates it. `&&` and `||` short-circuit: the unevaluated side is only
// checked for syntax (so `$# > 0 && $1 > 5` works without arguments).
bool evaluate_condition(Lexer &lexer, const Token &open, const ConditionScope &scope);

// "identifier 'x'", "operator '%?'", "end of file": a token for an error's saw: line.
std::string describe_token(const Lexer &lexer, const Token &token);

}  // namespace ntap::pp
