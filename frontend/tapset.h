// The tapset: library scripts (functions and probe aliases written in the
// language) that every script may use without declaring them.
//
// As stap, a tapset file is only read when the script needs it: a file is
// parsed once the program calls a function it defines, names a probe point
// one of its aliases could match or a variable it declares a public global,
// and what that file calls or names may pull in further files. Whether a file defines a name is decided by a plain scan
// of its text (comments and strings skipped, both arms of %( %) seen), so a
// file is never missed, and parsing the whole tapset on every run (most of a
// one-liner's start-up) is avoided. The functions and aliases of the files
// read are added to the program, marked from_tapset. Elaboration keeps
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

// Adds the functions and aliases of the *.ntp and *.stp files in `dirs` that
// `program` needs (files taken in directory order, then by name, so the result
// does not depend on directory order) to `program`.
// Missing directories are skipped; a tapset file that does not parse is a
// CompileError located in that file. A file's public globals are shared
// with the script (a script's own global of the same name is used instead),
// and its probes are added after the script's.
// `target` is what the files' %( %) conditions test (null: the running system
// without its kernel configuration); `macro_libraries` the *.stpm files of
// `dirs` when the caller has read them already (null: read them here).
// Returns the files it scanned but did not need (for check_tapset_files).
std::vector<const SourceFile *> load_tapsets(ast::Program &program, SourceManager &sources,
                                             const std::vector<std::string> &dirs,
                                             const PreprocessTarget *target = nullptr,
                                             const std::vector<const SourceFile *> *macro_libraries = nullptr);

// Parses the files load_tapsets did not need (`unread`) that are in `dirs`
// (the -I directories), as stap parses its whole tapset on each run: one
// that does not parse gets stap's warning (`tapset file ... has errors, and
// will be skipped`, which -W makes an error) even when the script needs
// nothing from it. The installed tapset
// is not checked (its files are tested, and parsing them all would cost
// every run its start-up time).
void check_tapset_files(const std::vector<const SourceFile *> &unread, const std::vector<std::string> &dirs,
                        const PreprocessTarget *target, const std::vector<const SourceFile *> &macro_libraries);

// The macro libraries of `dirs` (their *.stpm files, sorted by name within
// each directory), read into `sources`: stap's way to share @define macros
// with every script and tapset file.
std::vector<const SourceFile *> load_macro_libraries(SourceManager &sources, const std::vector<std::string> &dirs);

// stap's argv tapset: when the program names `argc` or `argv` and declares
// neither, adds `global argc` (the number of script arguments) and `global
// argv` (argv[1] to argv[32], the arguments, "" past the last one), filled
// by a begin probe that runs before every other, as stap's `probe init`.
void add_argument_vector(ast::Program &program, SourceManager &sources, const std::vector<std::string> &script_args);

// What a tapset file defines, found without parsing it: the names after
// `function`, the first component of each probe alias name (`tcp` of
// `probe tcp.receive = ...`) and the names a `global` (not `private
// global`) declares. May name more than the file defines, never less.
struct TapsetDefinitions {
  std::vector<std::string> functions;
  std::vector<std::string> alias_heads;
  std::vector<std::string> globals;
};
TapsetDefinitions scan_tapset_definitions(std::string_view text);

}  // namespace ntap
