// Passes 1 and 2 of the ntap command (parse, elaborate) as functions, so the
// command and the fuzz targets (tests/fuzz/) run the same front end.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "passes/passes.h"

namespace ntap {

struct ParsePassOptions {
  std::vector<std::string> script_args;  // $1 @1 ...
  std::vector<std::string> tapset_dirs;  // searched in order (frontend/tapset.h)
  // The -I directories among them, whose files are all parsed (check_tapset_files).
  std::vector<std::string> include_dirs;
};

// Pass 1: the script (preprocessed for the running system, with `kernel`'s
// configuration) and the tapsets' functions and aliases. Throws the
// CompileError the script is rejected with.
std::unique_ptr<ast::Program> parse_pass(const SourceFile &file, SourceManager &sources, const KernelInfo &kernel,
                                         const ParsePassOptions &options);

// Pass 2: every elaboration pass (passes/passes.h) for `kernel`; `after_pass`
// as there. A script without a probe, or whose probes all do nothing, is an
// error located at its first line.
void elaborate_pass(ast::Program &program, const SourceFile &file, const KernelInfo &kernel,
                    const FrontendOptions &options, const std::function<void(const char *, double)> &after_pass = {});

}  // namespace ntap
