// process(...) probes without a kernel: SDT operand parsing, the ELF and
// DWARF readers on this test binary itself (built with -g), and the
// provider's resolution of function patterns, return probes and errors.
#include <catch2/catch.hpp>
#include <string>

#include "kernel/dwarf_info.h"
#include "kernel/elf_symbols.h"
#include "kernel/providers/uprobe.h"
#include "tests/unit/support.h"

using namespace ntap;

// Functions of this binary the tests resolve (kept out of line and named
// for C, so their symbols are plain).
extern "C" __attribute__((noinline, used)) long ntap_uprobe_test_target(long first, int second) {
  long local = first * second;
  return local + 1;
}
extern "C" __attribute__((noinline, used)) long ntap_uprobe_test_other(long value) { return value - 1; }

namespace {

std::string self_path() {
  std::string error;
  std::string path = elf::resolve_program_path("/proc/self/exe", error);
  REQUIRE(error.empty());
  return path;
}

std::vector<ast::ResolvedProbe> resolve(const std::string &point_text) {
  auto checked = test::check_script("probe " + point_text + " { }");
  return checked->program->probes.at(0)->resolved;
}

}  // namespace

TEST_CASE("SDT operands as assemblers write them", "[uprobe][sdt]") {
  std::vector<elf::SdtArg> args;
  std::string error;
  REQUIRE(elf::parse_sdt_args("-4@%edi 8@-16(%rbp) 4@$5 -8@$-3 1@%r8b 2@8(%rsp)", args, error));
  REQUIRE(args.size() == 6);
  CHECK((args[0].kind == elf::SdtArg::Kind::Register && args[0].size == 4 && args[0].is_signed &&
         args[0].dwarf_register == 5));
  CHECK((args[1].kind == elf::SdtArg::Kind::Memory && args[1].size == 8 && !args[1].is_signed &&
         args[1].dwarf_register == 6 && args[1].value == -16));
  CHECK((args[2].kind == elf::SdtArg::Kind::Constant && args[2].value == 5 && args[2].size == 4));
  CHECK((args[3].kind == elf::SdtArg::Kind::Constant && args[3].value == -3 && args[3].is_signed));
  CHECK((args[4].dwarf_register == 8 && args[4].size == 1));
  CHECK((args[5].dwarf_register == 7 && args[5].value == 8));

  args.clear();
  CHECK_FALSE(elf::parse_sdt_args("8@%rax 4@counter(%rip)", args, error));
  CHECK(error == "cannot read SDT operand '4@counter(%rip)'");
  CHECK(args.size() == 1);
  CHECK_FALSE(elf::parse_sdt_args("4@(%rax,%rbx,4)", args, error));
  CHECK_FALSE(elf::parse_sdt_args("16@%rax", args, error));
}

TEST_CASE("x86-64 register names and pt_regs words", "[uprobe][registers]") {
  CHECK(elf::dwarf_register_of("rdi") == 5);
  CHECK(elf::dwarf_register_of("dil") == 5);
  CHECK(elf::dwarf_register_of("r15d") == 15);
  CHECK(elf::dwarf_register_of("xmm0") == -1);
  CHECK(dwarf::pt_regs_index(5) == 14);  // rdi
  CHECK(dwarf::pt_regs_index(0) == dwarf::kReturnRegisterIndex);
  CHECK(dwarf::pt_regs_index(7) == dwarf::kSpRegisterIndex);
  CHECK(dwarf::pt_regs_index(17) == -1);
}

TEST_CASE("the ELF reader finds functions, patterns and file offsets", "[uprobe][elf]") {
  std::string error;
  const elf::ElfFile *file = elf::cached_elf(self_path(), error);
  REQUIRE(file);
  std::vector<elf::Symbol> found = file->match_functions("ntap_uprobe_test_*");
  REQUIRE(found.size() == 2);
  CHECK(found[0].name == "ntap_uprobe_test_other");  // by name
  CHECK(found[1].name == "ntap_uprobe_test_target");
  const elf::Symbol *at = file->function_at(found[1].address + 1);
  REQUIRE(at);
  CHECK(at->name == "ntap_uprobe_test_target");
  auto offset = file->file_offset(found[1].address);
  REQUIRE(offset);
  CHECK(file->address_of_offset(*offset) == found[1].address);
  CHECK(file->match_functions("no_such_function_*").empty());
  CHECK(elf::cached_elf("/nonexistent/program", error) == nullptr);
  CHECK(error.find("cannot open '/nonexistent/program'") == 0);
}

TEST_CASE("programs are found on PATH as stap finds them", "[uprobe][path]") {
  std::string error;
  const std::string sh = elf::resolve_program_path("sh", error);
  CHECK(error.empty());
  CHECK(sh.front() == '/');
  CHECK(elf::resolve_program_path("ntap-no-such-program", error).empty());
  CHECK(error == "cannot find 'ntap-no-such-program' on $PATH");
}

TEST_CASE("DWARF places function probes after the prologue and finds their variables", "[uprobe][dwarf]") {
  std::string error;
  const std::string path = self_path();
  const dwarf::DebugInfo *debug = dwarf::cached_debug_info(path, error);
  REQUIRE(debug);
  const elf::ElfFile *file = elf::cached_elf(path, error);
  const uint64_t entry = file->match_functions("ntap_uprobe_test_target").at(0).address;
  const uint64_t body = debug->after_prologue(entry);
  CHECK(body >= entry);
  std::vector<std::string> names;
  for (const dwarf::Variable &v : debug->variables_at(body)) names.push_back(v.name + ":" + v.c_type);
  CHECK(std::find(names.begin(), names.end(), "first:long int") != names.end());
  CHECK(std::find(names.begin(), names.end(), "second:int") != names.end());
  dwarf::VariableAccess access;
  CHECK_FALSE(debug->locate(body, "no_such_variable", {}, false, access, error));
  std::string c_type;
  REQUIRE(debug->return_value(entry, access, c_type, error));
  CHECK(c_type == "long int");
  CHECK(access.arg_index == dwarf::kReturnRegisterIndex);
}

TEST_CASE("process provider: function patterns, return probes, errors", "[uprobe][provider]") {
  const std::string path = self_path();
  auto probes = resolve("process(\"" + path + "\").function(\"ntap_uprobe_test_*\")");
  REQUIRE(probes.size() == 2);
  CHECK(probes[0].name == "ntap_uprobe_test_other");
  CHECK(probes[1].point == "process(\"" + path + "\").function(\"ntap_uprobe_test_target\")");
  CHECK(probes[1].section == "uprobe");
  CHECK(probes[1].binary == path);
  CHECK_FALSE(probes[1].retprobe);

  auto returns = resolve("process(\"" + path + "\").function(\"ntap_uprobe_test_target\").return");
  REQUIRE(returns.size() == 1);
  CHECK(returns[0].section == "uretprobe");
  CHECK(returns[0].retprobe);
  CHECK(returns[0].address == returns[0].entry);  // a return probe goes at the entry

  CHECK(test::error_of("probe process(\"/nonexistent/x\").function(\"f\") { }") ==
        "1:7 cannot find '/nonexistent/x': No such file or directory");
  CHECK(test::error_of("probe process(\"" + path + "\").function(\"ntap_uprobe_test_target\").entry { }") ==
        "1:7 unexpected '.entry' after .function (.call, .return or .inline)");
  CHECK(test::error_of("probe process(\"" + path + "\").statement(\"f@x.c\") { }") ==
        "1:7 statement(\"f@x.c\") needs a source line: statement(\"FUNCTION@FILE:LINE\")");
  CHECK(test::error_of("probe process(\"" + path + "\").function(\"ntap_uprobe_test_target\").return { print($first) }")
            .find("unable to find target variable $first") != std::string::npos);
  // The fixture kernel has no sched:sched_process_exec (e2e tests run it).
  CHECK(test::error_of("probe process(\"" + path + "\").begin { }") ==
        "1:7 process.begin needs the sched:sched_process_exec tracepoint, which this kernel does not have");
  CHECK(test::error_of("probe process(0).end { }") == "1:7 process(PID) needs a positive process id");
  CHECK(test::error_of("probe begin { x = @entry(1); print(x) }") == "1:19 @entry is only valid in .return probes");
  CHECK(test::error_of("function f() { return @entry(1) }  probe begin { print(f()) }") ==
        "1:23 @entry is only valid in .return probes");
  // @entry in a return probe: a companion probe at the function's entry stores the value.
  auto checked = test::check_script("probe process(\"" + path +
                                    "\").function(\"ntap_uprobe_test_target\").return { print(@entry($first)) }");
  REQUIRE(checked->program->probes.size() == 2);
  const ast::ResolvedProbe &entry = checked->program->probes[1]->resolved.at(0);
  CHECK_FALSE(entry.retprobe);
  CHECK(entry.section == "uprobe");
  CHECK(entry.entry == checked->program->probes[0]->resolved.at(0).entry);
  // The fixture kernel's run has no -c/-x target.
  CHECK(test::error_of("probe process.function(\"main\") { }") ==
        "1:7 a process probe without a path or pid needs a target process (-c CMD or -x PID)");
}

TEST_CASE("process.begin: a program starting, a fork's child, a process already running", "[uprobe][host]") {
  test::CheckOptions host;
  host.kernel = &test::host_kernel();
  auto checked = test::check_script("probe process.begin { }", host);
  std::vector<std::string> sections, running;
  for (const ast::ResolvedProbe &rp : checked->program->probes.at(0)->resolved) {
    sections.push_back(rp.section);
    if (rp.begins_running_process) running.push_back(rp.section);
  }
  CHECK(sections.front() == "tp_btf/sched_process_exec");
  CHECK(std::count(sections.begin(), sections.end(), "tp_btf/sys_exit") == 5);  // 4 fork calls, running processes
  // Running processes take their key at whichever system call comes first,
  // or at a switch that leaves them runnable (prev_state 0).
  CHECK(running == std::vector<std::string>{"tp_btf/sys_enter", "tp_btf/sys_exit", "tp_btf/sched_switch"});
  const ast::ResolvedProbe &switched = checked->program->probes.at(0)->resolved.back();
  CHECK(switched.filter_arg == 3);  // (preempt, prev, next, prev_state)
  CHECK(switched.filter_value == 0);
  // process(PID): no fork's child is that process.
  auto one = test::check_script("probe process(7).begin { }", host);
  sections.clear();
  for (const ast::ResolvedProbe &rp : one->program->probes.at(0)->resolved) {
    sections.push_back(rp.section);
    CHECK(rp.pid == 7);
  }
  CHECK(sections == std::vector<std::string>{"tp_btf/sched_process_exec", "tp_btf/sys_enter", "tp_btf/sys_exit",
                                             "tp_btf/sched_switch"});
}

TEST_CASE("process.end: the last thread's exit, and an exec ending the old program", "[uprobe][host]") {
  test::CheckOptions host;
  host.kernel = &test::host_kernel();
  auto ends = test::check_script("probe process(7).end { }", host);
  std::vector<std::string> sections;
  for (const ast::ResolvedProbe &rp : ends->program->probes.at(0)->resolved) {
    sections.push_back(rp.section);
    CHECK_FALSE(rp.begins_running_process);
    CHECK(rp.pid == 7);
    CHECK(rp.point == "process(7).end");
  }
  if (host.kernel->btf().tracepoint_args("sched_prepare_exec"))
    CHECK(sections == std::vector<std::string>{"tp_btf/sched_process_exit", "tp_btf/sched_prepare_exec"});
  else
    CHECK(sections == std::vector<std::string>{"tp_btf/sched_process_exit"});
}
