// kernel.function / kprobe.function probes: resolution from BTF, the
// mechanism the feature probe chose, and the objects compiled for each
// (section names and where each argument is loaded from). Nothing here loads
// or attaches: the mechanism is set by KernelInfo::override_function_support,
// and the functions are the fixture kernel's (tests/unit/kernel_fixture.cpp).
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "abi/layout.h"
#include "codegen/bpf/bpf_codegen.h"
#include "kernel/btf.h"
#include "kernel/btf_functions.h"
#include "kernel/function_support.h"
#include "kernel/providers/provider.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

// Sets the mechanism for one test and restores the probed answer after.
struct Mechanisms {
  explicit Mechanisms(bool fentry, bool kprobe) {
    FunctionSupport s;
    s.fentry = fentry;
    s.kprobe = kprobe;
    s.fentry_error = fentry ? "" : "the kernel refused the program (EPERM: Operation not permitted)";
    s.kprobe_error = kprobe ? "" : "CONFIG_KPROBES is not set";
    test::fixture_kernel().override_function_support(s);
  }
  ~Mechanisms() { test::fixture_kernel().override_function_support(std::nullopt); }
};

struct ObjectCloser {
  void operator()(bpf_object *o) const { bpf_object__close(o); }
};

// Byte offsets of the 8-byte loads a program makes from its context (r1 and
// the registers it is copied to), i.e. which argument slots or pt_regs
// members it reads.
std::set<int> context_loads(const bpf_program *prog) {
  std::set<int> ctx_regs{BPF_REG_1}, offsets;
  const bpf_insn *insns = bpf_program__insns(prog);
  for (size_t i = 0; i < bpf_program__insn_cnt(prog); ++i) {
    const bpf_insn &in = insns[i];
    if (in.code == (BPF_ALU64 | BPF_MOV | BPF_X) && ctx_regs.count(in.src_reg))
      ctx_regs.insert(in.dst_reg);
    else if (in.code == (BPF_LDX | BPF_MEM | BPF_DW) && ctx_regs.count(in.src_reg))
      offsets.insert(in.off);
  }
  return offsets;
}

// The deepest stack byte a program addresses: loads and stores relative to
// r10, and r10 copies moved down (`r2 = r10; r2 += -16`, a helper's buffer).
int stack_depth(const bpf_program *prog) {
  const bpf_insn *insns = bpf_program__insns(prog);
  int depth = 0;
  std::set<uint8_t> frame_copies;
  for (size_t i = 0; i < bpf_program__insn_cnt(prog); ++i) {
    const bpf_insn &in = insns[i];
    const uint8_t cls = BPF_CLASS(in.code);
    if ((cls == BPF_LDX && in.src_reg == BPF_REG_10) || ((cls == BPF_STX || cls == BPF_ST) && in.dst_reg == BPF_REG_10))
      depth = std::max(depth, -static_cast<int>(in.off));
    if (in.code == (BPF_ALU64 | BPF_MOV | BPF_X)) {
      if (in.src_reg == BPF_REG_10)
        frame_copies.insert(in.dst_reg);
      else
        frame_copies.erase(in.dst_reg);
    } else if (in.code == (BPF_ALU64 | BPF_ADD | BPF_K) && frame_copies.count(in.dst_reg)) {
      depth = std::max(depth, -in.imm);
    }
  }
  return depth;
}

struct Compiled {
  std::string section;
  std::set<int> loads;
  int stack = 0;
};

// Every kernel program of `script`, compiled and opened (not loaded), in
// the order of the script's probes.
std::vector<Compiled> compile_all(const std::string &script) {
  auto checked = test::check_script(script);
  Layout layout = Layout::build(*checked->program, LayoutOptions{});
  BpfObject object = compile_kernel_probes(*checked->program, layout, {});
  REQUIRE(object.units.size() == 1);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "ntap");
  const std::vector<char> &elf = object.units[0].elf;
  std::unique_ptr<bpf_object, ObjectCloser> obj(bpf_object__open_mem(elf.data(), elf.size(), &opts));
  REQUIRE(libbpf_get_error(obj.get()) == 0);
  std::vector<Compiled> compiled;
  for (const auto &program : object.programs) {
    bpf_program *prog = bpf_object__find_program_by_name(obj.get(), program.function_name.c_str());
    REQUIRE(prog);
    compiled.push_back({bpf_program__section_name(prog), context_loads(prog), stack_depth(prog)});
  }
  return compiled;
}

// The one kernel program of `script`.
Compiled compile_one(const std::string &script) {
  std::vector<Compiled> compiled = compile_all(script);
  REQUIRE(compiled.size() == 1);
  return compiled[0];
}

int pt_regs_offset(const char *reg) {
  std::optional<uint32_t> offset = test::fixture_kernel().functions().member_offset("pt_regs", reg);
  REQUIRE(offset);
  return static_cast<int>(*offset);
}

}  // namespace

TEST_CASE("function prototypes come from BTF with their argument slots", "[kfunc]") {
  const BtfFunctions &functions = test::fixture_kernel().functions();
  std::optional<btf::FunctionProto> ip_rcv = functions.proto("ip_rcv");
  REQUIRE(ip_rcv);
  REQUIRE(ip_rcv->params.size() == 4);
  CHECK(ip_rcv->params[0].name == "skb");
  CHECK(ip_rcv->params[0].c_type == "struct sk_buff*");
  CHECK(ip_rcv->params[1].name == "dev");
  CHECK(ip_rcv->params[1].slot == 1);
  CHECK(ip_rcv->return_c_type == "int");
  CHECK(ip_rcv->return_slot() == 4);
  CHECK_FALSE(functions.proto("no_such_function_in_any_kernel"));
  CHECK(functions.match("tcp_v4_*") == std::vector<std::string>{"tcp_v4_do_rcv", "tcp_v4_rcv"});
  CHECK(functions.match("tcp_v4_rcv") == std::vector<std::string>{"tcp_v4_rcv"});
  CHECK(pt_regs_offset("di") == 112);  // x86-64's struct pt_regs
}

TEST_CASE("kernel.function compiles to fentry/fexit programs reading argument slots", "[kfunc]") {
  Mechanisms fentry_only(true, false);
  Compiled entry = compile_one("global n; probe kernel.function(\"ip_rcv\") { n = $dev }");
  CHECK(entry.section == "fentry/ip_rcv");
  CHECK(entry.loads == std::set<int>{8});  // slot 1
  Compiled exit = compile_one("global n; probe kernel.function(\"ip_rcv\").return { n = $return + $skb }");
  CHECK(exit.section == "fexit/ip_rcv");
  CHECK(exit.loads == std::set<int>{0, 32});  // $skb in slot 0, the return value after the 4 arguments
  Compiled call = compile_one("global n; probe kernel.function(\"tcp_v4_rcv\").call { n = $skb }");
  CHECK(call.section == "fentry/tcp_v4_rcv");
  CHECK(call.loads == std::set<int>{0});
}

TEST_CASE("without fentry kernel.function compiles to kprobes reading registers", "[kfunc]") {
  Mechanisms kprobe_only(false, true);
  Compiled entry = compile_one("global n; probe kernel.function(\"ip_rcv\") { n = $skb + $dev }");
  CHECK(entry.section == "kprobe/ip_rcv");
  CHECK(entry.loads == std::set<int>{pt_regs_offset("di"), pt_regs_offset("si")});
  Compiled exit = compile_one("global n; probe kernel.function(\"ip_rcv\").return { n = $return }");
  CHECK(exit.section == "kretprobe/ip_rcv");
  CHECK(exit.loads == std::set<int>{pt_regs_offset("ax")});
  CHECK(test::error_of("global n; probe kernel.function(\"ip_rcv\").return { n = $dev }") ==
        "1:56 $dev: a kretprobe sees only the return value, the arguments are gone at return "
        "(kernel.function(...).return reads them where fexit is available)");
}

TEST_CASE("@entry of a parameter in an fexit probe is its value at entry", "[kfunc]") {
  Mechanisms fentry_only(true, false);
  Compiled exit = compile_one("global n; probe kernel.function(\"ip_rcv\").return { n = @entry($dev) }");
  CHECK(exit.section == "fexit/ip_rcv");
  CHECK(exit.loads == std::set<int>{8});
  CHECK(test::error_of("global n; probe kernel.function(\"ip_rcv\") { n = @entry($dev) }") ==
        "1:49 @entry is only valid in .return probes");
  CHECK(test::error_of("function f() { return @entry(1) } probe begin { print(f()) }") ==
        "1:23 @entry is only valid in .return probes");
}

// Anything else fexit cannot read at return, and everything under a
// kretprobe, is evaluated at the function's entry by a companion program
// (fentry, a kprobe) and kept per thread for the return, as stap's
// kretprobe entry handler does.
TEST_CASE("@entry of any expression in a kernel .return probe is kept from a companion entry program", "[kfunc]") {
  {
    Mechanisms fentry_only(true, false);
    std::vector<Compiled> programs =
        compile_all("global n; probe kernel.function(\"ip_rcv\").return { n = @entry($skb + 1) + @entry($dev) }");
    REQUIRE(programs.size() == 2);
    CHECK(programs[0].section == "fexit/ip_rcv");
    CHECK(programs[0].loads == std::set<int>{8});  // $dev read by fexit itself
    CHECK(programs[1].section == "fentry/ip_rcv");
    CHECK(programs[1].loads == std::set<int>{0});  // $skb, for $skb + 1
  }
  Mechanisms kprobe_only(false, true);
  std::vector<Compiled> programs =
      compile_all("global n; probe kernel.function(\"ip_rcv\").return { n = @entry($dev) + $return }");
  REQUIRE(programs.size() == 2);
  CHECK(programs[0].section == "kretprobe/ip_rcv");
  CHECK(programs[0].loads == std::set<int>{pt_regs_offset("ax")});
  CHECK(programs[1].section == "kprobe/ip_rcv");
  CHECK(programs[1].loads == std::set<int>{pt_regs_offset("si")});
  CHECK(test::error_of("global n; probe kernel.function(\"ip_rcv\").return { n = @entry($nosuch) }") ==
        "1:63 unable to find target variable $nosuch in ip_rcv");
}

// Every read of kernel memory goes through an 8-byte stack slot; the slots
// of one program share their bytes, so a probe whose functions read many
// fields (tcpipstat.stp's filters over the ipmib helpers) stays within the
// 512-byte stack, with room for a loop's callback on top.
TEST_CASE("kernel memory reads share their stack slots", "[kfunc]") {
  std::string body;
  for (int i = 0; i < 60; ++i) body += "n += @cast($sk, \"sock\")->sk_rcvbuf + " + std::to_string(i) + "\n";
  Compiled many = compile_one("global n; probe kernel.trace(\"inet_sock_set_state\") {\n" + body + "}");
  CHECK(many.section == "tp_btf/inet_sock_set_state");
  CHECK(many.stack <= 64);
}

// A tapset's tcp.sendmsg.return is a tracepoint fired as the call returns,
// with the call's arguments: @entry($arg) there is the argument, which is
// what scripts written for stap's kretprobe aliases read.
TEST_CASE("@entry of a tracepoint argument through a .return alias is the argument", "[kfunc]") {
  const std::string alias = "probe set.return = kernel.trace(\"inet_sock_set_state\") { }\n";
  Compiled ret = compile_one(alias + "global n; probe set.return { n = @entry($sk) }");
  CHECK(ret.section == "tp_btf/inet_sock_set_state");
  CHECK(ret.loads == std::set<int>{0});
  CHECK(test::error_of(alias + "global n; probe set.return { n = @entry($sk->sk_mark) }") ==
        "2:34 @entry takes a parameter ($name) here: the probe reads the call's arguments as they were at entry, "
        "but memory they point to and other expressions would be read at return");
  // The tracepoint named itself, or through an alias that is no return, has no entry.
  CHECK(test::error_of("global n; probe kernel.trace(\"inet_sock_set_state\") { n = @entry($sk) }") ==
        "1:59 @entry is only valid in .return probes");
  CHECK(test::error_of("probe set.change = kernel.trace(\"inet_sock_set_state\") { }\n"
                       "global n; probe set.change { n = @entry($sk) }") ==
        "2:34 @entry is only valid in .return probes");
}

TEST_CASE("kprobe.function and kretprobe.function always use kprobes", "[kfunc]") {
  Mechanisms both(true, true);
  CHECK(compile_one("global n; probe kprobe.function(\"ip_rcv\") { n = $pt }").section == "kprobe/ip_rcv");
  CHECK(compile_one("global n; probe kprobe.function(\"ip_rcv\").return { n = $return }").section ==
        "kretprobe/ip_rcv");
  Compiled ret = compile_one("global n; probe kretprobe.function(\"ip_rcv\") { n = $return }");
  CHECK(ret.section == "kretprobe/ip_rcv");
  CHECK(ret.loads == std::set<int>{pt_regs_offset("ax")});
}

TEST_CASE("probes neither mechanism can attach compile and say what was tried", "[kfunc]") {
  Mechanisms neither(false, false);
  auto checked = test::check_script("probe kernel.function(\"tcp_v4_rcv\") { } probe kprobe.function(\"ip_rcv\") { }");
  const auto &probes = checked->program->probes;
  REQUIRE(probes.size() == 2);
  CHECK(probes[0]->resolved.at(0).section == "fentry/tcp_v4_rcv");
  const ast::ResolvedProbe &function = probes[0]->resolved.at(0), &kprobe = probes[1]->resolved.at(0);
  CHECK(function.provider->unavailable_reason(function) ==
        "kernel.function(\"tcp_v4_rcv\"): fentry: the kernel refused the program (EPERM: Operation not "
        "permitted); kprobe: CONFIG_KPROBES is not set");
  CHECK(kprobe.provider->unavailable_reason(kprobe) ==
        "kprobe.function(\"ip_rcv\"): kprobe: CONFIG_KPROBES is not set");
  // Still compiled: -p4 writes the object.
  CHECK(compile_one("global n; probe kernel.function(\"tcp_v4_rcv\") { n = $skb }").section == "fentry/tcp_v4_rcv");
}

TEST_CASE("kernel.function patterns, context variables and errors", "[kfunc]") {
  Mechanisms fentry_only(true, false);
  auto checked = test::check_script("probe kernel.function(\"tcp_v4_rc*\").return { }");
  const auto &resolved = checked->program->probes.at(0)->resolved;
  auto rcv = std::find_if(resolved.begin(), resolved.end(), [](const auto &rp) { return rp.name == "tcp_v4_rcv"; });
  REQUIRE(rcv != resolved.end());
  CHECK(rcv->point == "kernel.function(\"tcp_v4_rcv\").return");
  CHECK(rcv->provider->describe_context(*rcv) == std::vector<std::string>{"$skb:struct sk_buff*", "$return:int"});
  CHECK(test::error_of("probe kernel.function(\"no_such_function_xyz\") { }") == "1:7 no match for probe point");
  CHECK(test::error_of("probe kernel.function(\"ip_rcv\") { println($nosuch) }") ==
        "1:43 unable to find target variable $nosuch in ip_rcv");
  CHECK(test::error_of("probe kernel.function(\"ip_rcv\") { println($return) }") ==
        "1:43 unable to find target variable $return in ip_rcv");
  CHECK(test::error_of("probe module(\"no_such_module\").function(\"f\") { }") ==
        "1:7 module(\"no_such_module\").function(\"f\"): module 'no_such_module' is not loaded (no " +
            test::fixture_root() + "/sys/kernel/btf/no_such_module)");
  CHECK(test::error_of("probe module(\"no_such_module\").function(\"f\")?, begin { }") == "no error");
}

TEST_CASE("kernel.function skips functions in the init text, as stap does", "[kfunc]") {
  Mechanisms fentry_only(true, false);
  CHECK(test::fixture_kernel().functions().match("ip_*").size() == 2);
  auto checked = test::check_script("probe kernel.function(\"ip_*\") { }");
  std::set<std::string> names;
  for (const auto &rp : checked->program->probes.at(0)->resolved) names.insert(rp.name);
  CHECK(names == std::set<std::string>{"ip_rcv"});
  CHECK(test::error_of("probe kernel.function(\"ip_auto_config_setup\") { }") ==
        "1:7 kernel.function(\"ip_auto_config_setup\"): the function is in the kernel's init text (.init.text), "
        "which is freed after boot: nothing to probe");
  CHECK(test::error_of("probe kernel.function(\"ip_auto_config_setup\")?, begin { }") == "no error");
}
