// Library functions and the printf family: whole user-side scripts compiled
// by the real frontend and JIT and run by a real session (output compared
// exactly with stap's documented results), and the runtime functions behind
// them called directly for their edge cases.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "codegen/bpf/bpf_codegen.h"
#include "codegen/host/host_codegen.h"
#include "abi/layout.h"
#include "frontend/parser.h"
#include "passes/passes.h"
#include "abi/runtime_api.h"
#include "runtime/session.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

struct ScriptRun {
  int status = -1;
  std::string output;
};

// Compiles `text` (user probes only) and runs it to the end.
ScriptRun run_script(const std::string &text, uint32_t max_string_len = 128) {
  SourceManager sources;
  const SourceFile &file = sources.add("t.ntp", text);
  auto program = parse_script(file);
  FrontendOptions frontend;
  frontend.warnings = false;
  PassContext ctx{*program, frontend, test::fixture_kernel()};
  run_frontend_passes(ctx);
  LayoutOptions layout_options;
  layout_options.max_string_len = max_string_len;
  layout_options.string_limit = max_string_len;
  const Layout layout = Layout::build(*program, layout_options);
  auto host = compile_user_probes(*program, layout, HostCodegenOptions{});
  BpfObject no_kernel_probes;

  char path[] = "/tmp/ntap-builtins-test.XXXXXX";
  const int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  RunOptions options;
  options.output_path = path;
  ScriptRun run;
  run.status = run_session(*program, layout, no_kernel_probes, *host, test::fixture_kernel(), options);
  std::ifstream in(path);
  std::stringstream text_read;
  text_read << in.rdbuf();
  run.output = text_read.str();
  std::remove(path);
  return run;
}

// What `probe begin { BODY; exit() }` prints.
std::string begin_output(const std::string &body) {
  ScriptRun run = run_script("probe begin { " + body + "; exit() }");
  REQUIRE(run.status == 0);
  return run.output;
}

// The message of the CompileError a script is rejected with.
std::string compile_error(const std::string &text) {
  try {
    run_script(text);
  } catch (const CompileError &e) {
    return e.message();
  }
  return "no error";
}

}  // namespace

TEST_CASE("printf family: sprint, sprintln, printd, printdln, sprintd, sprintdln", "[builtins]") {
  CHECK(begin_output(R"(print(sprint(1, "a", -2)))") == "1a-2");
  CHECK(begin_output(R"(print(sprintln("x", 2)))") == "x2\n");
  CHECK(begin_output(R"(printd(",", 1, "two", 3))") == "1,two,3");
  CHECK(begin_output(R"(printdln(" | ", "a", 2))") == "a | 2\n");
  // A '%' in the delimiter stays literal.
  CHECK(begin_output(R"(printdln("%d", 1, 2))") == "1%d2\n");
  CHECK(begin_output(R"(print(sprintd("--", "a", "b")))") == "a--b");
  CHECK(begin_output(R"(print(sprintdln(":", 7, 8)))") == "7:8\n");
  CHECK(compile_error(R"(probe begin { d = ","; printd(d, 1, 2) })") == "printd needs a literal delimiter string");
}

TEST_CASE("string functions follow stap's tapset", "[builtins]") {
  CHECK(begin_output(R"(println(strlen("hello"), " ", strlen("")))") == "5 0\n");
  CHECK(begin_output(R"(println(substr("hello", 1, 3), "|", substr("hello", 3, 100), "|", substr("hello", 5, 1), "|"))") ==
        "ell|lo||\n");
  CHECK(begin_output(R"(println(stringat("abc", 1)))") == "98\n");
  CHECK(begin_output(R"(println(isinstr("hello", "ll"), isinstr("hello", "x")))") == "10\n");
  CHECK(begin_output(R"(println(str_replace("a-b-c", "-", "+"), " ", str_replace("aaa", "a", "bb")))") == "a+b+c bbbbbb\n");
  CHECK(begin_output(R"(println(isdigit("5x"), isdigit("x5"), isdigit("")))") == "100\n");
  CHECK(begin_output(R"(println(text_str("a\tb\"c\\"), " ", text_strn("hello world", 8, 1), " ", text_strn("hello", 7, 1)))") ==
        "a\\tb\\\"c\\\\ \"hel\"... \"hello\"\n");
}

TEST_CASE("tokenize keeps its state between calls of one run", "[builtins]") {
  CHECK(begin_output(R"(s = tokenize("a,b,,c", ","); while (s != "") { print(s, ";"); s = tokenize("", ",") })") ==
        "a;b;c;");
  CHECK(begin_output(R"(print(tokenize("one two", " "), tokenize("", " "), "[", tokenize("", " "), "]"))") ==
        "onetwo[]");
}

TEST_CASE("string results are cut at MAXSTRINGLEN - 1 bytes", "[builtins]") {
  ScriptRun run = run_script(R"(probe begin { println(str_replace("abcabc", "b", "xyz")); exit() })", 8);
  CHECK(run.output == "axyzcax\n");
  // The argument is a string value too: "abcdefg" reaches substr.
  run = run_script(R"(probe begin { println(substr("abcdefghij", 1, 20)); exit() })", 8);
  CHECK(run.output == "bcdefg\n");
  run = run_script(R"(probe begin { s = "abcd"; println(substr(s . s . s, 2, 20)); exit() })", 8);
  CHECK(run.output == "cdabc\n");
}

TEST_CASE("error, assert and abort end the probe as stap does", "[builtins]") {
  ScriptRun run = run_script(R"(probe begin { print("a"); error("boom"); print("b") } probe end { print("end") })");
  CHECK(run.status == 1);
  CHECK(run.output == "aend");
  run = run_script(R"(probe begin { assert(1 == 1); print("ok ") assert(0, "no") print("x"); exit() } probe end { print("end") })");
  CHECK(run.status == 1);
  CHECK(run.output == "ok end");
  run = run_script(R"(probe begin { abort(); print("not reached") } probe end { print("end") })");
  CHECK(run.status == 0);
  CHECK(run.output == "end");
  run = run_script(R"(probe begin { print(stringat("ab", 2)) } probe end { print("end") })");
  CHECK(run.status == 1);
  CHECK(run.output == "end");
}

TEST_CASE("error and assert take computed messages in user probes and functions", "[builtins]") {
  ScriptRun run = run_script(R"(function check(n) { if (n > 2) error("too big: " . sprint(n)); return n }
                                probe begin { print(check(1)); print(check(3)); print("x") } probe end { print("end") })");
  CHECK(run.status == 1);
  CHECK(run.output == "1end");
  run = run_script(R"(probe begin { n = 4; assert(n < 3, sprintf("n is %d", n)); print("x") } probe end { print("end") })");
  CHECK(run.status == 1);
  CHECK(run.output == "end");
  // catch (msg) sees the computed text; a literal error still gives its own.
  CHECK(begin_output(R"(try { error("code " . sprint(7)) } catch (m) { print(m, ";") }
                       try { error("fixed") } catch (m) { print(m, ";") }
                       try { x = 0; y = 1 / x } catch (m) { print(m) })") ==
        "code 7;fixed;division by 0 near operator '/'");
}

TEST_CASE("pp() names the probe point that fired", "[builtins]") {
  CHECK(run_script(R"(probe begin, end { println(pp()) } probe begin(5) { s = pp(); println(s); exit() })").output ==
        "begin\nbegin(5)\nend\n");
  CHECK(run_script(R"(function where() { return pp() } probe timer.ms(10) { println(where()); exit() })").output ==
        "timer.ms(10)\n");
}

TEST_CASE("log writes a line to the output", "[builtins]") {
  CHECK(begin_output(R"(log("one"); log("two"))") == "one\ntwo\n");
}

TEST_CASE("kernel-only and user-only library functions are checked by side", "[builtins]") {
  CHECK(compile_error(R"(probe end { println(jiffies()) })").find("only available in kernel probes") != std::string::npos);
}

TEST_CASE("a begin probe that reads the kernel becomes a kernel program run once", "[builtins]") {
  auto checked = test::check_script("probe begin(3) { println(jiffies()) }\nprobe begin { println(1) }");
  const ast::Probe &kernel_begin = *checked->program->probes[0];
  CHECK(kernel_begin.side == ast::Side::Kernel);
  REQUIRE(kernel_begin.resolved.size() == 1);
  CHECK(kernel_begin.resolved[0].kind == ast::ProbeKind::Begin);
  CHECK(kernel_begin.resolved[0].section == "raw_tp");
  CHECK(kernel_begin.resolved[0].param == 3);  // the priority it runs by
  CHECK(checked->program->probes[1]->side == ast::Side::User);
}

TEST_CASE("runtime library functions called directly", "[builtins]") {
  ntap_rt rt;
  CHECK(ntap_fn_strtol(&rt, "0x1f", 16) == 31);
  CHECK(ntap_fn_strtol(&rt, "0x1f", 0) == 31);
  CHECK(ntap_fn_strtol(&rt, "017", 0) == 15);
  CHECK(ntap_fn_strtol(&rt, "-777", 8) == -511);
  CHECK(ntap_fn_strtol(&rt, "12abc", 10) == 12);
  CHECK(ntap_fn_strtol(&rt, "zz", 36) == 1295);
  CHECK(ntap_fn_strtol(&rt, "", 10) == 0);
  CHECK(ntap_fn_ntohs(&rt, 0x3412) == 0x1234);
  CHECK(ntap_fn_htons(&rt, 0x12345678) == 0x7856);  // the low 16 bits only
  CHECK(ntap_fn_ntohl(&rt, 0x78563412) == 0x12345678);
  CHECK(ntap_fn_htonl(&rt, 1) == 0x01000000);
  CHECK(ntap_fn_ntohll(&rt, 1) == 0x0100000000000000LL);
  CHECK(ntap_fn_htonll(&rt, 0x0102030405060708LL) == 0x0807060504030201LL);
  CHECK(std::string(ntap_fn_ip_ntop(&rt, 0x0100007f)) == "127.0.0.1");
  CHECK(std::string(ntap_fn_ip_ntop(&rt, ntap_fn_htonl(&rt, 0xc0a80001))) == "192.168.0.1");
  CHECK(std::string(ntap_fn_format_ipaddr(&rt, 0x0100000a, 2, 0)) == "10.0.0.1");
  CHECK_FALSE(rt.failed);
  ntap_fn_format_ipaddr(&rt, 0x1234, 10, 7);
  CHECK(rt.failed);
  CHECK(rt.failed_site == 7);
  rt.failed = false;
  // text_str: C escapes, octal for other bytes, \u for UTF-8 sequences.
  CHECK(std::string(ntap_fn_text_str(&rt, "a\x01\n\x7f")) == "a\\001\\n\\177");
  CHECK(std::string(ntap_fn_text_str(&rt, "caf\xc3\xa9")) == "caf\\u00e9");
  CHECK(std::string(ntap_fn_text_str(&rt, "\xf0\x9f\x98\x80")) == "\\U0001f600");
  CHECK(std::string(ntap_fn_text_str(&rt, "\xc3")) == "\\303");  // a cut sequence stays bytes
  // text_strn: 0 means MAXSTRINGLEN; a cut quoted string ends in `"...`.
  CHECK(std::string(ntap_fn_text_strn(&rt, "abcdef", 0, 0)) == "abcdef");
  CHECK(std::string(ntap_fn_text_strn(&rt, "abcdef", 3, 0)) == "abc");
  CHECK(std::string(ntap_fn_text_strn(&rt, "abcdef", 5, 1)) == "\"\"...");
  CHECK(std::string(ntap_fn_text_strn(&rt, "abcdefgh", 7, 1)) == "\"ab\"...");
  CHECK(ntap_fn_stringat(&rt, "abc", -1, 3) == 0);
  CHECK(rt.failed);
}

TEST_CASE("time zone functions follow TZ", "[builtins]") {
  const char *saved = getenv("TZ");
  const std::string saved_tz = saved ? saved : "";
  setenv("TZ", "PST8PDT,M3.2.0,M11.1.0", 1);
  tzset();
  ntap_rt rt;
  // stap's ctime example, 741476948 = Wed Jun 30 21:49:08 1993 UTC.
  CHECK(std::string(ntap_fn_tz_ctime(&rt, 741476948)) == "Wed Jun 30 14:49:08 1993 PDT");
  CHECK(std::string(ntap_fn_tz_ctime(&rt, 0)) == "Wed Dec 31 16:00:00 1969 PST");
  const int64_t west = ntap_fn_tz_gmtoff(&rt);
  CHECK((west == 28800 || west == 25200));
  const std::string name = ntap_fn_tz_name(&rt);
  CHECK((name == "PST" || name == "PDT"));
  setenv("TZ", "UTC0", 1);
  tzset();
  CHECK(ntap_fn_tz_gmtoff(&rt) == 0);
  CHECK(std::string(ntap_fn_tz_ctime(&rt, 741476948)) == "Wed Jun 30 21:49:08 1993 UTC");
  if (saved)
    setenv("TZ", saved_tz.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
}

TEST_CASE("process and clock functions", "[builtins]") {
  ntap_rt rt;
  CHECK(ntap_fn_ppid(&rt) == getppid());
  CHECK(ntap_fn_uid(&rt) == getuid());
  CHECK(ntap_fn_euid(&rt) == geteuid());
  CHECK(ntap_fn_gid(&rt) == getgid());
  CHECK(ntap_fn_egid(&rt) == getegid());
  CHECK(ntap_fn_target(&rt) == 0);
  CHECK_FALSE(std::string(ntap_fn_pexecname(&rt)).empty());
  const int64_t ns = ntap_fn_local_clock_ns(&rt);
  CHECK(ns > 0);
  CHECK(ntap_fn_local_clock_s(&rt) >= ns / 1000000000);
  CHECK(ntap_fn_cpu_clock_us(&rt, 0) >= ns / 1000);
}
