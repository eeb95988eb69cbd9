// Kernel stacks as print_backtrace()/backtrace() render them
// (kernel/stacks.h), from a synthetic kallsyms.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "abi/layout.h"
#include "codegen/bpf/bpf_codegen.h"
#include "kernel/stacks.h"
#include "support.h"

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

TEST_CASE("stacks: callers(n) keeps frames 0..n, all for -1", "[stacks]") {
  const std::vector<uint64_t> frames = {kDrop, kUdp, kRun4};
  CHECK(ntap::callers_of(frames, 0) == std::vector<uint64_t>{kDrop});
  CHECK(ntap::callers_of(frames, 1) == std::vector<uint64_t>{kDrop, kUdp});
  CHECK(ntap::callers_of(frames, 5) == frames);
  CHECK(ntap::callers_of(frames, -1) == frames);
  // stap's loop (i <= n || n == -1) takes no frame for other negative n.
  CHECK(ntap::callers_of(frames, -2).empty());
}

TEST_CASE("stacks: print_syms lines are ' ADDR : symdata' with the address as callers() writes it", "[stacks]") {
  KernelSymbols syms(kData + "/kallsyms_stacks");
  auto symdata = [&](uint64_t address) { return syms.symdata(address); };
  CHECK(ntap::format_syms({kDrop + 0x12, 0x401136}, symdata) ==
        " 0xffffffff81100312 : sk_skb_reason_drop+0x12/0x200 [kernel]\n"
        " 0x401136 : " + syms.symdata(0x401136) + "\n");
  CHECK(ntap::format_syms({}, symdata) == "");
}

TEST_CASE("stacks: stack(n) and callers(n) carry a stack id and n in kernel records", "[stacks][bpf_codegen]") {
  using ntap::RenderFn;
  using ntap::StackPart;
  auto c = ntap::test::check_script(
      "probe kernel.trace(\"kfree_skb\") {\n"
      "  printf(\"%s %x %s %s %s\\n\", callers(2), stack(1), symdata(stack(3)), sprint_syms(callers(-1)),\n"
      "         sprint_syms(backtrace()))\n"
      "}\n");
  ntap::Layout layout = ntap::Layout::build(*c->program, ntap::LayoutOptions{});
  ntap::BpfObject object = ntap::compile_kernel_probes(*c->program, layout, ntap::BpfCodegenOptions{});
  REQUIRE(object.records.size() == 1);
  const auto &args = object.records[0].args;
  REQUIRE(args.size() == 5);
  CHECK(args[0].render == RenderFn::KernelStackHex);
  CHECK(args[0].part == StackPart::Callers);
  CHECK(args[1].render == RenderFn::None);
  CHECK(args[1].part == StackPart::KernelFrame);
  CHECK(args[2].render == RenderFn::Symdata);
  CHECK(args[2].part == StackPart::KernelFrame);
  CHECK(args[3].render == RenderFn::KernelSyms);
  CHECK(args[3].part == StackPart::Callers);
  CHECK(args[4].render == RenderFn::KernelSyms);
  CHECK(args[4].part == StackPart::Whole);
  // The id, then n; a whole stack is its id alone.
  for (int i = 0; i < 4; ++i) CHECK(args[i].size == 16);
  CHECK(args[4].size == 8);
  CHECK(object.records[0].payload_size == 4 * 16 + 8);
}
