// Kernel stacks rendered as stap renders them (docs/architecture.md,
// decision 6): kernel probes send a stack id, user space reads the stack's
// addresses from the stack map and symbolizes them here from kallsyms.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernel/symbols.h"

namespace ntap {

// The frames of `stack` (a stack map value: addresses, then zeros) from the
// first one below the tracing machinery: a tracepoint's stack starts in the
// BPF program and the functions that run it (bpf_prog_*, bpf_trace_run*,
// __bpf_trace_*, __traceiter_*), whose addresses may also be unknown.
// At most `max_frames` of them (MAXBACKTRACE).
std::vector<uint64_t> probe_frames(KernelSymbols &symbols, const std::vector<uint64_t> &stack, size_t max_frames);

// print_backtrace()'s text: one line per frame,
// " 0xffffffff81234567 : tcp_v4_rcv+0x12/0x345 [kernel]\n" (" 0x...\n" when
// no symbol covers it).
std::string format_backtrace(KernelSymbols &symbols, const std::vector<uint64_t> &frames);

// backtrace()'s text: the addresses in hex, separated by spaces.
std::string format_backtrace_hex(const std::vector<uint64_t> &frames);

}  // namespace ntap
