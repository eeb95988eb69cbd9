// Probe points whose context variables differ cannot share a body that
// reads them (kernel.function("schedule_tail") and kernel.trace("sched_switch")
// under one `$$vars`): stap elaborates the body once per point. ntap does so
// for each group of points with the same context (each process probe on its
// own: where its variables live depends on its address).
#pragma once
#include <memory>
#include <vector>

#include "frontend/ast.h"

namespace ntap {

// When `probe`'s body reads context variables ($name, $$vars, $$parms...)
// and its concrete probes describe different contexts, keeps the first
// group of concrete probes with one context in `probe` and returns a copy of
// the probe (body cloned) for each other group, in order. Otherwise returns
// nothing and leaves `probe` as it is.
std::vector<std::unique_ptr<ast::Probe>> split_by_context(ast::Probe &probe);

}  // namespace ntap
