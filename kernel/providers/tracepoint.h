// kernel.trace("NAME"): kernel tracepoints, attached as tp_btf programs.
//
// NAME is `event` or `subsys:event`, each part an fnmatch pattern
// (`tcp:*`, `*:kfree_skb`). The events come from tracefs' available_events
// (KernelInfo::trace_events()); only those with a `btf_trace_<event>` in the
// kernel's BTF can be attached as tp_btf/raw_tp and are offered. Context
// variables are the TP_PROTO arguments ($skb, $location, $reason for
// kfree_skb), typed from BTF; the event's format fields ($sport of
// sock:inet_sock_set_state) are offered where no argument has their name.
#pragma once
#include <memory>
#include <string_view>
#include <vector>

#include "kernel/kernel_info.h"
#include "kernel/providers/provider.h"

namespace ntap {

std::unique_ptr<Provider> make_tracepoint_provider(const KernelInfo &kernel);

// The attachable events of `kernel` matching `pattern` ("event" or
// "subsys:event", with fnmatch wildcards), sorted by full name.
std::vector<TraceEvent> match_trace_events(const KernelInfo &kernel, std::string_view pattern);

// The event's format fields that no TP_PROTO argument hides, as -L lists
// them ("$sport:__u16").
std::vector<std::string> describe_format_fields(const KernelInfo &kernel, const ast::ResolvedProbe &probe);

}  // namespace ntap
