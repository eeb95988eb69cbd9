// The tapset: library scripts (functions and probe aliases written in the
// language) that every script may use without declaring them.
//
// Every *.ntp and *.stp file of each tapset directory is parsed and its functions and
// aliases are added to the program, marked from_tapset. Elaboration keeps
// only what the script uses (resolve_symbols drops functions no probe
// reaches unless -u; an alias is only code once a probe names it), and a
// script's own function overrides a tapset function of the same name and arity.
#pragma once
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "frontend/preprocess.h"

namespace ntap {

// The directories searched, in order: the installed tapset when it exists,
// else the source tree's (a build run from its tree), then each -I DIR.
std::vector<std::string> tapset_directories(const std::string &installed_dir, const std::string &source_dir,
                                            const std::vector<std::string> &include_dirs);

// Adds the functions and aliases of every *.ntp and *.stp file in `dirs` (sorted by
// name, so the result does not depend on directory order) to `program`.
// Missing directories are skipped; a tapset file with probes or globals, or
// one that does not parse, is a CompileError located in that file.
// `target` is what the files' %( %) conditions test (null: the running system
// without its kernel configuration).
void load_tapsets(ast::Program &program, SourceManager &sources, const std::vector<std::string> &dirs,
                  const PreprocessTarget *target = nullptr);

}  // namespace ntap
