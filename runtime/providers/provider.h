// Probe families ("providers") behind one interface.
//
// A provider turns a probe point written in a script (kernel.trace("tcp:*"),
// timer.s(5), begin) into concrete probes, describes their context variables
// ($location, $skb->len) for type checking and -L, names the BPF section a
// kernel probe's program goes in, and attaches the loaded program.
#pragma once
#include <string>
#include <vector>

#include "frontend/ast.h"

struct bpf_program;
struct bpf_link;

namespace ntap {

class Provider {
 public:
  virtual ~Provider() = default;

  // The family name shown in messages ("kernel.trace", "timer", "begin").
  virtual std::string_view family() const = 0;
  // Kernel probes run as BPF programs; user probes run in the ntap process.
  virtual ast::Side side() const = 0;
  // True when this provider owns the probe point's shape (by component names);
  // it may still find no concrete probe for it.
  virtual bool handles(const ast::ProbePoint &point) const = 0;
  // The concrete probes matching `point` (wildcards expand). Empty when
  // nothing matches. Throws CompileError for malformed arguments.
  virtual std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const = 0;
  // Fill in a target variable ($name->field...) for a concrete probe: argument
  // index, field offsets, final load size and signedness, its type.
  // Returns false when the probe has no such variable/field (the caller
  // reports the error, or folds @defined to 0).
  virtual bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const {
    return false;
  }
  // Context variables of a concrete probe with their C types, for -L.
  virtual std::vector<std::string> describe_context(const ast::ResolvedProbe &probe) const { return {}; }
  // Kernel side only: attach a loaded program. Returns null and sets errno on failure.
  virtual bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const { return nullptr; }
};

// Every provider, in the order they are asked.
const std::vector<const Provider *> &all_providers();

}  // namespace ntap
