// Kernel stacks rendered as stap renders them (docs/architecture.md,
// decision 6): kernel probes send a stack id, user space reads the stack's
// addresses from the stack map and symbolizes them here from kallsyms.
#pragma once
#include <cstdint>
#include <functional>
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

// stap's callers(n) of a stack: its frames 0..n, all of them for n = -1
// (and for any other negative n, as stap's loop gives none then: none).
std::vector<uint64_t> callers_of(std::vector<uint64_t> frames, int64_t n);

// sprint_syms()'s text: one line per address, the address as callers()
// writes it and what `symdata` says of it, " 0x401136 : main+0x4/0x2a [/bin/prog]\n".
std::string format_syms(const std::vector<uint64_t> &addresses, const std::function<std::string(uint64_t)> &symdata);

}  // namespace ntap
