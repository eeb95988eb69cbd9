// What both fuzz targets share: the input as a script, through ntap's own
// passes 1 and 2 (cli/pipeline.h), with the command's defaults.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"

namespace ntap::fuzz {

// `data` as the script file "fuzz.stp", parsed with the source tree's
// tapsets and elaborated as `ntap -p2` does (warnings off, so a run prints
// nothing). Null when the script is rejected with a CompileError: a
// diagnostic is the right answer to bad input. Any other exception is left
// to escape, since an error without a script position is itself a bug.
// `after_parse` (if set) sees the program between the two passes.
std::unique_ptr<ast::Program> elaborate(SourceManager &sources, const uint8_t *data, size_t size,
                                        const std::function<void(const ast::Program &)> &after_parse = {});

}  // namespace ntap::fuzz
