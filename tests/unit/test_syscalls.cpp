// The system call table (from the kernel headers), the kernel.syscall
// provider's resolution and filter, and the parser of tracefs format files.
#include <catch2/catch.hpp>

#include "kernel/btf.h"
#include "kernel/providers/provider.h"
#include "kernel/providers/trace_format.h"
#include "kernel/syscalls.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

ast::ProbePoint syscall_point(std::string name, bool at_return) {
  ast::ProbePoint p;
  p.components.push_back({"kernel", std::nullopt, std::nullopt});
  p.components.push_back({"syscall", std::move(name), std::nullopt});
  if (at_return) p.components.push_back({"return", std::nullopt, std::nullopt});
  return p;
}

const Provider &provider_for(const ast::ProbePoint &p) {
  const Provider *provider = test::fixture_kernel().providers().find(p);
  if (!provider) FAIL("no provider");
  return *provider;
}

}  // namespace

TEST_CASE("x86_64 system call numbers come from the kernel headers", "[syscalls]") {
  CHECK(syscall_number("read") == 0);
  CHECK(syscall_number("openat") == 257);
  CHECK(syscall_number("exit_group") == 231);
  CHECK_FALSE(syscall_number("nosuchcall"));
  const auto matches = match_syscalls("openat*");
  REQUIRE(matches.size() >= 1);
  CHECK(matches.front().name == "openat");
  CHECK(syscall_table().size() > 300);
}

TEST_CASE("kernel.syscall resolves to a filtered raw_syscalls program", "[syscalls]") {
  const auto entry = syscall_point("openat", false);
  const Provider &provider = provider_for(entry);
  auto probes = provider.resolve(entry);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].section == "tp_btf/sys_enter");
  CHECK(probes[0].name == "kernel.syscall(\"openat\")");
  CHECK(probes[0].filter_arg == 1);  // $id
  CHECK(probes[0].filter_steps.empty());
  CHECK(probes[0].filter_value == 257);

  ast::TargetVarExpr arg(Location{}, "arg2");
  REQUIRE(provider.resolve_target(probes[0], arg));
  CHECK(arg.arg_index == 0);  // regs->si
  ast::TargetVarExpr ret(Location{}, "return");
  CHECK_FALSE(provider.resolve_target(probes[0], ret));

  const auto exit = syscall_point("close", true);
  auto returns = provider.resolve(exit);
  REQUIRE(returns.size() == 1);
  CHECK(returns[0].section == "tp_btf/sys_exit");
  CHECK(returns[0].filter_arg == 0);  // regs->orig_ax
  CHECK_FALSE(returns[0].filter_steps.empty());
  CHECK(returns[0].filter_value == 3);
  ast::TargetVarExpr result(Location{}, "return");
  REQUIRE(provider.resolve_target(returns[0], result));
  CHECK(result.arg_index == 1);
}

TEST_CASE("process.syscall: every call of one process, unfiltered by number", "[syscalls]") {
  auto checked = test::check_script("probe process(42).syscall.return { println($syscall, $return) }");
  const ast::ResolvedProbe &rp = test::only_probe(checked);
  CHECK(rp.name == "process(42).syscall.return");
  CHECK(rp.section == "tp_btf/sys_exit");
  CHECK(rp.filter_arg == -1);  // every call
  CHECK(rp.pid == 42);
  CHECK(test::error_of("probe process.syscall { println($syscall) }") ==
        "1:7 process.syscall without a path or pid needs a target process (-c CMD or -x PID)");
  CHECK(test::error_of("probe process(1).syscall { println($return) }").find("unable to find target variable $return") !=
        std::string::npos);
  CHECK(test::error_of("probe process(1).syscall(\"open\") { }") ==
        "1:7 process.syscall takes the forms process(\"PATH\").syscall, process(PID).syscall and process.syscall, "
        "each with an optional .return");
}

TEST_CASE("tracefs format files give the event's own fields", "[syscalls][trace_format]") {
  const char *text =
      "name: inet_sock_set_state\nID: 2287\nformat:\n"
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
      "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
      "\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n"
      "\tfield:int oldstate;\toffset:16;\tsize:4;\tsigned:1;\n"
      "\tfield:__u16 sport;\toffset:24;\tsize:2;\tsigned:0;\n"
      "\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;\n"
      "\tfield:__data_loc char[] name;\toffset:40;\tsize:4;\tsigned:0;\n\n"
      "print fmt: \"sport=%hu\", REC->sport\n";
  const auto fields = parse_trace_format(text);
  REQUIRE(fields.size() == 5);
  CHECK(fields[0].name == "skaddr");
  CHECK(fields[0].c_type == "const void *");
  CHECK(fields[1].name == "oldstate");
  CHECK(fields[1].is_signed);
  CHECK(fields[1].offset == 16);
  CHECK(fields[2].name == "sport");
  CHECK(fields[2].size == 2);
  CHECK_FALSE(fields[2].is_signed);
  CHECK(fields[3].name == "saddr");
  CHECK(fields[3].c_type == "__u8[4]");
  CHECK(fields[3].is_array);
  CHECK(fields[4].name == "name");
  CHECK(fields[4].is_data_loc);
}
