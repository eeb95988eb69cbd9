// The kernel side's regex DFA (codegen/regex_dfa.h) against glibc's regexec,
// which user probes use: for every pattern it accepts, both must agree on
// every subject.
#include <regex.h>
#include <unistd.h>

#include <random>
#include <regex>

#include <catch2/catch.hpp>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "codegen/bpf/bpf_codegen.h"
#include "abi/layout.h"
#include "codegen/regex_dfa.h"
#include "support.h"

using namespace ntap;

namespace {

bool glibc_matches(const std::string &pattern, const std::string &subject) {
  regex_t re;
  REQUIRE(regcomp(&re, pattern.c_str(), REG_EXTENDED | REG_NOSUB) == 0);
  const bool matched = regexec(&re, subject.c_str(), 0, nullptr, 0) == 0;
  regfree(&re);
  return matched;
}

// Subjects made of the bytes that matter to the patterns below.
std::vector<std::string> subjects() {
  std::vector<std::string> all = {"", "a", "b", "ab", "ba", "abc", "aaa", "abab", "x", "sshd", "ss", "eth0",
                                  "eth10", "lo", "a.b", "a-b", "A", "Z9", " ", "\t", "a\nb", "{}", "[x]",
                                  "\xc3\xa9", "192.168.0.1", "10.0.0.256", "aaaaab", "abcabcabc"};
  std::mt19937 rng(7);
  const std::string alphabet = "ab.-x0 A\n[]";
  for (int n = 0; n < 400; ++n) {
    std::string s;
    for (size_t len = rng() % 9; len > 0; --len) s += alphabet[rng() % alphabet.size()];
    all.push_back(s);
  }
  return all;
}

}  // namespace

TEST_CASE("the regex DFA matches exactly what regexec matches", "[regex]") {
  const char *patterns[] = {
      "",           "a",          "ab",          "^a",          "a$",          "^a$",         "^$",
      "a|b",        "a*",         "^a*$",        "a+b",         "ab?c",        "(ab)+",       "^(ab)*$",
      "a{2}",       "^a{2,}$",    "^a{1,3}b$",   "[ab]",        "[^ab]",       "^[a-c]+$",    "[[:digit:]]+",
      "^[[:alpha:]][[:alnum:]]*$", "[]x]",     "[x-]",        "a.b",         "\\.",         "^ss",
      "^eth[0-9]+$", "^(eth|lo)",  "(^a|b$)",     "^([0-9]{1,3}\\.){3}[0-9]{1,3}$", "x|^$",    "(a|)b",
      "((a*)*)*b",  "a*$",        "$^",          "^^a",         "a$$",         "[[:space:]]", "[^[:alpha:]]",
      "\\[x\\]",    "a{,2}b",     "^a{,}$",      "a)",          "a{0}b",        "(a)(b)(c)",   "^.$",         "^..$",        "[.]",         "a|b|c|ab",
  };
  const std::vector<std::string> all = subjects();
  for (const char *pattern : patterns) {
    INFO("pattern: " << pattern);
    regex::Dfa dfa;
    REQUIRE_NOTHROW(dfa = regex::compile(pattern));
    for (const std::string &subject : all) {
      INFO("subject: " << subject);
      CHECK(dfa.matches(subject) == glibc_matches(pattern, subject));
    }
  }
}

TEST_CASE("what the DFA cannot express is refused by name", "[regex]") {
  CHECK_THROWS_WITH(regex::compile("(a)\\1"), Catch::Contains("back-reference '\\1'"));
  CHECK_THROWS_WITH(regex::compile("\\bword"), Catch::Contains("'\\b'"));
  CHECK_THROWS_WITH(regex::compile("[[=a=]]"), Catch::Contains("'[='"));
  CHECK_THROWS_WITH(regex::compile("(a|b|c){200}(d|e|f){200}", 64), Catch::Contains("too large") ||
                                                                    Catch::Contains("DFA states"));
  CHECK_THROWS_WITH(regex::compile("(a|b)*a(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)(a|b)", 64),
                    Catch::Contains("more than 64 DFA states"));
}

// The same answers from BPF code: a kernel probe matching literal subjects,
// run on a made-up context (BPF_PROG_TEST_RUN, a raw_tp program).
TEST_CASE("kernel probes match regular expressions as regexec does", "[regex][root][host]") {
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel test run");
    return;
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"^eth[0-9]+$", "eth0"},   {"^eth[0-9]+$", "eth"},     {"(a|b)*c", "ababc"},  {"(a|b)*c", "abab"},
      {"^$", ""},                {"x$", "abx"},              {"x$", "xab"},         {"[[:space:]]", "a b"},
      {"^a{2,3}$", "aaaa"},      {"^a{2,3}$", "aaa"},        {"\\.", "a.b"},        {"[^a-z]", "abc"},
      {"^(ab)+$", "ababab"},     {"b+$", "abbb"},            {".", ""},             {"a|^b", "cb"},
  };
  std::string script = "global r\nprobe kernel.trace(\"kfree_skb\") {\n";
  for (size_t i = 0; i < cases.size(); ++i)
    script += "  r[" + std::to_string(i) + "] = \"" + cases[i].second + "\" =~ \"" +
              std::regex_replace(cases[i].first, std::regex("\\\\"), "\\\\") + "\"\n";
  script += "}\n";
  auto checked = test::check_script(script, {.string_limit = 256, .kernel = &test::host_kernel()});
  for (auto &probe : checked->program->probes)
    for (auto &resolved : probe->resolved) resolved.section = "raw_tp/kfree_skb";
  Layout layout = Layout::build(*checked->program, LayoutOptions::from_defines({{"MAXSTRINGLEN", "256"}}));
  BpfObject object = compile_kernel_probes(*checked->program, layout, {});
  bpf_object *obj = bpf_object__open_mem(object.units[0].elf.data(), object.units[0].elf.size(), nullptr);
  REQUIRE(obj);
  REQUIRE(bpf_object__load(obj) == 0);
  uint64_t ctx[4] = {};
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.ctx_in = ctx;
  opts.ctx_size_in = sizeof(ctx);
  REQUIRE(bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(
                                     obj, object.programs.at(0).function_name.c_str())),
                                 &opts) == 0);
  int results = bpf_map__fd(bpf_object__find_map_by_name(obj, "g_r"));
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].second << " =~ " << cases[i].first);
    int64_t key = static_cast<int64_t>(i), value = -1;
    REQUIRE(bpf_map_lookup_elem(results, &key, &value) == 0);
    CHECK(value == (glibc_matches(cases[i].first, cases[i].second) ? 1 : 0));
  }
  bpf_object__close(obj);
}
