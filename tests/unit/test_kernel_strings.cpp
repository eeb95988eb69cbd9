// Strings in kernel probes: what bpf_snprintf cannot format is refused by
// name, the scratch slots are bounded, and the string code passes the
// verifier with long strings.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <bpf/libbpf.h>

#include "codegen/bpf/bpf_codegen.h"
#include "abi/layout.h"
#include "support.h"

using namespace ntap;

namespace {

// `kernel`: the host's for the tests that load what they compile.
BpfObject compile(const std::string &text, const std::map<std::string, std::string> &defines = {},
                  const KernelInfo &kernel = test::fixture_kernel()) {
  auto checked = test::check_script(text, {.kernel = &kernel});
  Layout layout = Layout::build(*checked->program, LayoutOptions::from_defines(defines));
  return compile_kernel_probes(*checked->program, layout, {});
}

// The codegen error for `body` in a kernel probe, as "LINE:COL message".
std::string kernel_error(const std::string &body) {
  try {
    compile("global r\nprobe kernel.trace(\"kfree_skb\") {\n" + body + "\n}\n");
  } catch (const CompileError &e) {
    return std::to_string(e.location().line) + ":" + std::to_string(e.location().col) + " " + e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("sprintf conversions bpf_snprintf lacks are refused by name", "[kernel_strings]") {
  CHECK_THAT(kernel_error("r = sprintf(\"a %#x\", 1)"), Catch::Contains("3:13") && Catch::Contains("'%#x'"));
  CHECK_THAT(kernel_error("r = sprintf(\"%.3s\", \"abcd\")"), Catch::Contains("'%.3s'"));
  CHECK_THAT(kernel_error("r = sprintf(\"%*d\", 3, 1)"), Catch::Contains("'%*d'"));
  CHECK_THAT(kernel_error("r = sprintf(\"%o\", 8)"), Catch::Contains("'%o'"));
  CHECK_THAT(kernel_error("r = sprintf(\"%p\", 8)"), Catch::Contains("'%p'"));
  CHECK_THAT(kernel_error("r = sprintf(\"%-5d|%+lld|%5s|%c|%%\", 1, 2, \"s\", 65)"), Catch::Equals("no error"));
}

TEST_CASE("sprintf in a kernel probe takes at most 12 values", "[kernel_strings]") {
  CHECK_THAT(kernel_error("r = sprintf(\"%d%d%d%d%d%d%d%d%d%d%d%d%d\", 1,2,3,4,5,6,7,8,9,10,11,12,13)"),
             Catch::Contains("at most 12 values"));
}

TEST_CASE("a statement may hold at most 8 strings being built", "[kernel_strings]") {
  std::string many = "r = ";
  for (int i = 0; i < 9; ++i) many += std::string(i ? " . " : "") + "(execname() . \"x\")";
  CHECK_THAT(kernel_error(many), Catch::Contains("more than 8 strings being built at once"));
  CHECK_THAT(kernel_error("r = execname() . \"a\" . execname() . \"b\" . execname()"), Catch::Equals("no error"));
}

TEST_CASE("string code in kernel probes passes the verifier with 256-byte strings",
          "[kernel_strings][root][host]") {
  const std::string script = R"(global r, n, g = "x"
probe kernel.trace("kfree_skb") {
  s = execname()
  if (s < g || s == "sshd" || "a" >= s) n++
  r = s . "-" . g
  r .= sprintf("%d:%s", n, s)
  n += strlen(r) + isinstr(r, g) + isinstr(r, "ab") + stringat(r, 0)
  r = n ? substr(r, 2, 300) : "none"
})";
  BpfObject object = compile(script, {{"MAXSTRINGLEN", "256"}}, test::host_kernel());
  REQUIRE(object.units.size() == 1);
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel load");
    return;
  }
  const std::vector<char> &elf = object.units[0].elf;
  bpf_object *obj = bpf_object__open_mem(elf.data(), elf.size(), nullptr);
  REQUIRE(obj);
  CHECK(bpf_object__load(obj) == 0);
  bpf_object__close(obj);
}

namespace {

// Loads every unit of `object` into the kernel (root only): what the
// verifier says of the stack is the point.
void check_loads(const BpfObject &object) {
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel load");
    return;
  }
  for (const BpfUnit &unit : object.units) {
    bpf_object *obj = bpf_object__open_mem(unit.elf.data(), unit.elf.size(), nullptr);
    REQUIRE(obj);
    CHECK(bpf_object__load(obj) == 0);
    bpf_object__close(obj);
  }
}

// A tcpstates-style line: string-returning functions, string locals and a
// printf of five strings, well past 512 bytes of strings at MAXSTRINGLEN 128.
const char *kFiveStrings = R"(
function state_name:string (state:long) {
  if (state == 1) return "ESTABLISHED"
  return sprintf("STATE%d", state)
}
function address:string (sk:long) {
  return format_ipaddr(@cast(sk, "sock")->__sk_common->skc_rcv_saddr, 2)
}
probe kernel.trace("sock:inet_sock_set_state") {
  a = address($sk); b = address($sk); c = execname()
  printf("%s %s %s %s %s\n", a, b, c, state_name($oldstate), state_name($newstate))
}
)";

}  // namespace

TEST_CASE("string locals, results and temporaries live in the per-CPU frame, not on the stack",
          "[kernel_strings][frame][root][host]") {
  BpfObject object = compile(kFiveStrings, {}, test::host_kernel());
  REQUIRE(object.units.size() == 1);
  check_loads(object);
}

TEST_CASE("strings longer than the BPF backend copies inline are copied by a helper",
          "[kernel_strings][frame][root][host]") {
  // 2048-byte strings: LLVM's BPF backend refuses to expand such memcpys.
  BpfObject object = compile(kFiveStrings, {{"MAXSTRINGLEN", "2048"}}, test::host_kernel());
  REQUIRE(object.units.size() == 1);
  check_loads(object);
}

TEST_CASE("a probe needing more frame than there is says which statement and how much",
          "[kernel_strings][frame]") {
  std::string body = "a = execname()\nb = execname()\nc = execname()\nd = execname()\ne = execname()\nr = a . b . c . d . e";
  try {
    compile("global r\nprobe kernel.trace(\"kfree_skb\") {\n" + body + "\n}\n", {{"MAXSTRINGLEN", "4096"}});
    FAIL("compiled");
  } catch (const CompileError &e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("needs 20480 bytes") && Catch::Contains("16384"));
  }
}
