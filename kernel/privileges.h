// What this process may do with BPF. Loading and attaching BPF programs
// needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN, which covers both), and
// reading the kernel's tracepoint list under /sys/kernel/tracing needs root:
// without them the kernel's answers (EPERM from bpf(), an empty listing)
// would read as "no match" or as a libbpf log, so ntap asks first and says
// which capability is missing.
#pragma once
#include <string>

namespace ntap {

// Empty when the process may load BPF programs; otherwise the missing
// capabilities, e.g. "CAP_BPF, CAP_PERFMON".
std::string missing_bpf_capabilities();

}  // namespace ntap
