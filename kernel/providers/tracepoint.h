// kernel.trace("NAME"): kernel tracepoints, attached as tp_btf programs.
//
// NAME is `event` or `subsys:event`, each part an fnmatch pattern
// (`tcp:*`, `*:kfree_skb`). The events come from tracefs' available_events;
// only those with a `btf_trace_<event>` in vmlinux BTF can be attached as
// tp_btf/raw_tp and are offered. Context variables are the TP_PROTO arguments
// ($skb, $location, $reason for kfree_skb), typed from BTF; the event's
// format fields ($sport of sock:inet_sock_set_state) are offered where no
// argument has their name.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "kernel/providers/provider.h"

namespace ntap {

struct TraceEvent {
  std::string subsystem;  // empty when tracefs could not be read
  std::string name;
  std::string full_name() const { return subsystem.empty() ? name : subsystem + ":" + name; }
};

// tracefs' available_events (read once; tracefs is mounted at
// /sys/kernel/tracing when it is not and we are root). When tracefs cannot
// be read at all, the BTF tracepoint names stand in without subsystems.
const std::vector<TraceEvent> &available_trace_events();

// The attachable events matching `pattern` ("event" or "subsys:event", with
// fnmatch wildcards), sorted by full name.
std::vector<TraceEvent> match_trace_events(std::string_view pattern);

class TracepointProvider final : public Provider {
 public:
  std::string_view family() const override { return "kernel.trace"; }
  ast::Side side() const override { return ast::Side::Kernel; }
  bool handles(const ast::ProbePoint &point) const override;
  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override;
  bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const override;
  // A probe that names a format field no TP_PROTO argument has becomes a
  // perf-event tracepoint program reading the event's record ("tracepoint/"
  // section, decision 13); every $name of it is then a format field.
  void choose_context(ast::ResolvedProbe &probe, const std::vector<std::string> &names) const override;
  std::vector<std::string> unmatched_hints(const ast::ProbePoint &point) const override;
  std::vector<std::string> target_hints(const ast::ResolvedProbe &probe, const ast::TargetVarExpr &var) const override;
  std::vector<std::string> describe_context(const ast::ResolvedProbe &probe) const override;
  std::vector<PointShape> list_components() const override;
  bpf_link *attach(const ast::ResolvedProbe &probe, bpf_program *prog) const override;
};

const Provider &tracepoint_provider();

// The event's format fields that no TP_PROTO argument hides, as -L lists
// them ("$sport:__u16").
std::vector<std::string> describe_format_fields(const ast::ResolvedProbe &probe);

}  // namespace ntap
