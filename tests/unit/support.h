// Helpers shared by the unit tests: the kernel they elaborate for (a
// fixture, not the machine's), running the frontend over a script held in
// memory, and hand-made globals with a matching layout for tests of the
// runtime that do without the frontend.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/layout.h"
#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "kernel/kernel_info.h"

namespace ntap::test {

// A made-up kernel (tests/unit/kernel_fixture.cpp): BTF with sk_buff,
// net_device, sock, task_struct, cred and the tracepoints kfree_skb,
// consume_skb, inet_sock_set_state, four tcp:* ones and raw_syscalls'
// sys_enter/sys_exit, x86-64's pt_regs, the functions ip_rcv, tcp_v4_rcv
// and tcp_v4_do_rcv; tracefs events (plus syscalls:sys_enter_read, which has
// no BTF); tests/unit/data/
// kallsyms_small; CONFIG_HZ=300; CPUs 0-1,3. Written once per test run
// into a temporary directory laid out as / (fixture_root()).
const KernelInfo &fixture_kernel();
KernelPaths fixture_paths();
const std::string &fixture_root();
// The machine's own kernel, for the tests that load programs into it or
// check its real BTF and symbols: those are tagged [host], and ctest's
// unit_without_host_kernel_info runs every other test with the host's
// kernel knowledge made unreachable.
const KernelInfo &host_kernel();

// A script after every frontend pass; `sources` keeps its text alive.
struct CheckedScript {
  SourceManager sources;
  std::unique_ptr<ast::Program> program;
};

struct CheckOptions {
  uint32_t string_limit = 128;             // -D MAXSTRINGLEN
  bool keep_unused = false;                // -u
  std::vector<std::string> tapset_dirs{};  // -I: tapsets loaded before the passes
  const KernelInfo *kernel = nullptr;      // null: fixture_kernel()
};

// Parses `text` as the file "t.ntp" and runs the frontend passes (warnings
// off). Throws the CompileError the script is rejected with.
std::unique_ptr<CheckedScript> check_script(const std::string &text, const CheckOptions &options = {});

// The one concrete probe of a script with one probe resolving to one point;
// throws (failing the test) otherwise.
const ast::ResolvedProbe &only_probe(const std::unique_ptr<CheckedScript> &checked);

// The error `text` is rejected with, as "LINE:COL message"; "no error" when
// it is accepted.
std::string error_of(const std::string &text, const CheckOptions &options = {});

// Globals made by hand (no frontend) with a host/kernel layout that matches
// them, so stores and the runtime API can be tested alone.
struct HandMadeGlobals {
  ast::Program program;
  Layout layout;

  // A global of `value` type, an array when `keys` is not empty; its id.
  uint32_t add(const std::string &name, ast::Type value, std::vector<ast::Type> keys = {});
};

}  // namespace ntap::test
