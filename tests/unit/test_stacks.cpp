// Kernel stacks as print_backtrace()/backtrace() render them
// (kernel/stacks.h), from a synthetic kallsyms.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "kernel/stacks.h"

using ntap::KernelSymbols;

namespace {

const std::string kData = NTAP_TEST_DATA;
constexpr uint64_t kProg = 0xffffffffa0000000;
constexpr uint64_t kRun4 = 0xffffffff81100000;
constexpr uint64_t kTraceKfree = 0xffffffff81100200;
constexpr uint64_t kDrop = 0xffffffff81100300;
constexpr uint64_t kUdp = 0xffffffff81100500;

}  // namespace

TEST_CASE("stacks: print_backtrace lines are stap's ' 0x%016x : symdata'", "[stacks]") {
  KernelSymbols syms(kData + "/kallsyms_stacks");
  const std::vector<uint64_t> frames = {kDrop + 0x12, kUdp + 0x1a5};
  CHECK(ntap::format_backtrace(syms, frames) ==
        " 0xffffffff81100312 : sk_skb_reason_drop+0x12/0x200 [kernel]\n"
        " 0xffffffff811006a5 : __udp4_lib_rcv+0x1a5/0xb00 [kernel]\n");
}

TEST_CASE("stacks: an address no symbol covers is its hex alone", "[stacks]") {
  KernelSymbols syms(kData + "/kallsyms_stacks");
  CHECK(ntap::format_backtrace(syms, {0xffffffff81200000}) == " 0xffffffff81200000\n");
  CHECK(ntap::format_backtrace(syms, {}) == "");
}

TEST_CASE("stacks: backtrace() is the addresses in hex, space separated", "[stacks]") {
  CHECK(ntap::format_backtrace_hex({kDrop + 0x12, kUdp}) == "0xffffffff81100312 0xffffffff81100500");
  CHECK(ntap::format_backtrace_hex({}) == "");
}

TEST_CASE("stacks: frames start below the tracing machinery and end at the first zero", "[stacks]") {
  KernelSymbols syms(kData + "/kallsyms_stacks");
  // The BPF program (known or not), bpf_trace_run4 and __bpf_trace_kfree_skb
  // are how the tracepoint ran the probe, not where it fired.
  const std::vector<uint64_t> stack = {kProg + 0x40, 0xffffffffa1000000, kRun4 + 0x8, kTraceKfree + 0x10,
                                       kDrop + 0x12, kUdp + 0x1a5,       0,           0};
  CHECK(ntap::probe_frames(syms, stack, 20) == std::vector<uint64_t>{kDrop + 0x12, kUdp + 0x1a5});
  // A perf sample's stack starts where the CPU was: kept whole.
  CHECK(ntap::probe_frames(syms, {kUdp + 4, kDrop, 0}, 20) == std::vector<uint64_t>{kUdp + 4, kDrop});
  // Nothing but machinery: the whole stack, rather than none.
  CHECK(ntap::probe_frames(syms, {kRun4, kProg}, 20) == std::vector<uint64_t>{kRun4, kProg});
  // MAXBACKTRACE counts the frames kept, below the machinery.
  CHECK(ntap::probe_frames(syms, stack, 1) == std::vector<uint64_t>{kDrop + 0x12});
}
