// Probe points to concrete probes, through the providers (the first half of
// resolve_probes): wildcards over components expanded, MAXPROBES counted,
// unknown families and unmatched points reported with hints.
#pragma once
#include <cstddef>
#include <cstdint>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "kernel/kernel_info.h"

namespace ntap {

// Appends the concrete probes of each of `probe`'s points to probe.resolved;
// `total` counts the script's concrete probes so far (past `max_probes` a
// point is an error). Errors go to `diagnostics`; the point is skipped.
void resolve_points(const KernelInfo &kernel, ast::Probe &probe, size_t &total, uint32_t max_probes,
                    Diagnostics &diagnostics);

// Lets each concrete probe's provider pick how it reads its context from
// the target variables the body names (a tracepoint: its TP_PROTO arguments
// or its event's format fields).
void choose_contexts(ast::Probe &probe);

}  // namespace ntap
