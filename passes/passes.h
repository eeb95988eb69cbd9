// The front end as one readable list of passes.
//
//   parse (frontend/parser.h)        script text → ast::Program
//   expand_aliases                   probe aliases spliced into the probes using them;
//                                    {a,b} alternatives and alias wildcards expanded;
//                                    `if (cond)` folded into bodies; `never` dropped
//   resolve_probes                   probe points → concrete probes via providers
//                                    (probe_points.cpp); a body reading context
//                                    variables split per context (split_contexts.cpp);
//                                    $target variables typed; @defined folded
//   lower_local_aggregates           `x <<< v` on a local keeps only v (stap
//                                    elides it); reading x is stap's error
//   resolve_symbols                  identifiers → locals / globals; calls → script
//                                    functions (by name and arity) or builtins;
//                                    functions no probe reaches are dropped
//   check_foreach_mutation           no array changes inside a foreach over it,
//                                    directly or through a called function
//   elide_unused                     statements without effect, `x = value` where
//                                    no one reads x and value has no effect, and
//                                    functions no longer called dropped (stap's
//                                    optimizer, before its type resolution; not -u)
//   report_unresolved                the target expressions resolve_probes could
//                                    not resolve ($such in begin, @var) that are
//                                    left, each with its own error
//   infer_types                      long / string / stats for every expression,
//                                    variable, key and value; output formats checked
//   assign_sides                     each probe runs in the kernel (BPF) or in ntap;
//                                    what each side may use; how globals are shared;
//                                    which side(s) each function is compiled for
//
// Each pass reports its errors into PassContext::diagnostics and goes on
// with the next probe, statement or expression, so one run shows every
// independent error with its hints; the pass manager stops after the first
// pass that reported any and throws them as one CompileErrors, before
// anything is loaded into the kernel (docs/architecture.md, decisions 8 and 17).
#pragma once
#include <functional>
#include <string>

#include "frontend/ast.h"
#include "kernel/kernel_info.h"

namespace ntap {

struct FrontendOptions {
  bool warnings = true;
  bool keep_unused = false;  // -u: keep (and check) functions no probe calls
  // --skip-badvars: a target expression that cannot be resolved reads 0
  // (with stap's warning) instead of being an error.
  bool skip_badvars = false;
  uint32_t string_limit = 128;  // MAXSTRINGLEN: where $var$ stops adding members
  uint32_t max_probes = 10000;  // MAXPROBES: concrete probes a script may have
};

// What every pass is given: the program it rewrites, the options, and the
// kernel the script is elaborated for (its providers, BTF, ...; kernel/kernel_info.h).
struct PassContext {
  ast::Program &program;
  const FrontendOptions &options;
  const KernelInfo &kernel;
  Diagnostics diagnostics{};  // what the passes found wrong (see above)
};

void expand_aliases(PassContext &ctx);
void resolve_probes(PassContext &ctx);
void lower_local_aggregates(PassContext &ctx);
void resolve_symbols(PassContext &ctx);
void check_foreach_mutation(PassContext &ctx);
void elide_unused(PassContext &ctx);
void report_unresolved(PassContext &ctx);
void infer_types(PassContext &ctx);
void assign_sides(PassContext &ctx);

struct FrontendPass {
  const char *name;
  void (*run)(PassContext &);
};

inline constexpr FrontendPass kFrontendPasses[] = {
    {"expand aliases", expand_aliases},
    {"resolve probes", resolve_probes},
    {"lower local aggregates", lower_local_aggregates},
    {"resolve symbols", resolve_symbols},
    {"check foreach mutation", check_foreach_mutation},
    {"elide unused", elide_unused},
    {"report unresolved", report_unresolved},
    {"infer types", infer_types},
    {"assign sides", assign_sides},
};

// After the passes, for a script to be run: throws stap's "no probes found"
// (at `where`) when no probe is left (every point optional and unmatched), or
// every probe's body is empty once constants are folded (not under -u).
// Not a pass: checking a single probe in isolation is what tests do.
void reject_all_empty_probes(const ast::Program &program, const FrontendOptions &options, Location where);

// Runs every pass in order; `after_pass` (if set) is told each pass's name
// and duration in microseconds (for -v). After a pass that reported errors
// (or threw one) throws them all as one CompileErrors.
void run_frontend_passes(PassContext &ctx,
                         const std::function<void(const char *, double)> &after_pass = {});

}  // namespace ntap
