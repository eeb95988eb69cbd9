// -p1: the printed script, and the round trip parse -> print -> parse on
// every script of the repository.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/kernel_config.h"
#include "frontend/parser.h"
#include "frontend/printer.h"

using namespace ntap;

namespace {

// Scripts that read $1/@1 get these arguments, and CONFIG_ conditions a
// fixed configuration (the tests do not read the host's).
const PreprocessTarget &fixture_target() {
  static const KernelConfig config = KernelConfig::parse("CONFIG_HZ=250\nCONFIG_BPF=y\n");
  static const PreprocessTarget target{"6.1.0-test", "x86_64", [] () -> const KernelConfig & { return config; }};
  return target;
}

ParseOptions with_arguments() {
  ParseOptions options;
  options.preprocessor.script_args = {"1", "2", "3"};
  options.preprocessor.target = &fixture_target();
  return options;
}

std::string printed(const std::string &text) {
  SourceFile file("<input>", text);
  return print_program(*parse_script(file, with_arguments()));
}

// The tree spelled out with every operation parenthesised (locations aside).
std::string shape(const std::string &text) {
  SourceFile file("<input>", text);
  std::ostringstream out;
  print_program(*parse_script(file, with_arguments()), out, PrintOptions{true});
  return out.str();
}

// Printing is a fixed point and the printed script parses to the same tree.
void check_round_trip(const std::string &text) {
  const std::string once = printed(text);
  INFO("printed:\n" << once);
  CHECK(printed(once) == once);
  CHECK(shape(once) == shape(text));
}

std::string body_of(const std::string &statement) {
  const std::string out = printed("probe begin { " + statement + " }");
  const std::string head = "probe begin\n{\n    ";
  REQUIRE(out.rfind(head, 0) == 0);
  return out.substr(head.size(), out.size() - head.size() - 3);  // without "\n}\n"
}

std::vector<std::filesystem::path> repository_scripts() {
  const std::filesystem::path root = std::filesystem::path(NTAP_TEST_DATA) / ".." / ".." / "..";
  std::vector<std::filesystem::path> scripts;
  for (const char *dir : {"examples", "tests/e2e/scripts", "tapset"}) {
    if (!std::filesystem::exists(root / dir)) continue;
    for (const auto &entry : std::filesystem::directory_iterator(root / dir)) {
      const auto ext = entry.path().extension();
      if (ext == ".ntp" || ext == ".stp") scripts.push_back(entry.path());
    }
  }
  std::sort(scripts.begin(), scripts.end());
  return scripts;
}

}  // namespace

TEST_CASE("printer: canonical layout of a whole script", "[printer]") {
  const std::string text =
      "global n, sizes[100], level = -3, name = \"x\"\n"
      "function twice:long(x:long) { return x*2 }\n"
      "probe kernel.trace(\"kfree_skb\") { n++; sizes[$location] <<< $skb->len }\n"
      "probe timer.s(5), end { if (n>1) printf(\"%d\\n\", n) else { delete sizes } }\n";
  CHECK(printed(text) ==
        "global n\n"
        "\n"
        "global sizes[100]\n"
        "\n"
        "global level = -3\n"
        "\n"
        "global name = \"x\"\n"
        "\n"
        "function twice:long (x:long)\n"
        "{\n"
        "    return x * 2;\n"
        "}\n"
        "\n"
        "probe kernel.trace(\"kfree_skb\")\n"
        "{\n"
        "    n++;\n"
        "    sizes[$location] <<< $skb->len;\n"
        "}\n"
        "\n"
        "probe timer.s(5), end\n"
        "{\n"
        "    if (n > 1)\n"
        "        printf(\"%d\\n\", n);\n"
        "    else\n"
        "    {\n"
        "        delete sizes;\n"
        "    }\n"
        "}\n");
}

TEST_CASE("printer: parentheses only where precedence needs them", "[printer]") {
  CHECK(body_of("x = (a + b) * c") == "x = (a + b) * c;");
  CHECK(body_of("x = a + (b * c)") == "x = a + b * c;");
  CHECK(body_of("x = a - (b - c)") == "x = a - (b - c);");
  CHECK(body_of("x = (a - b) - c") == "x = a - b - c;");
  CHECK(body_of("x = \"a\" . (1 + 2)") == "x = \"a\" . 1 + 2;");
  CHECK(body_of("x = (\"a\" . 1) + 2") == "x = (\"a\" . 1) + 2;");
  CHECK(body_of("x = (a || b) && c") == "x = (a || b) && c;");
  CHECK(body_of("x = a || b && c") == "x = a || b && c;");
  CHECK(body_of("x = (a ? b : c) ? d : e") == "x = (a ? b : c) ? d : e;");
  CHECK(body_of("x = a ? b : c ? d : e") == "x = a ? b : c ? d : e;");
  CHECK(body_of("x = -(a + 1)") == "x = -(a + 1);");
  CHECK(body_of("x = - -a") == "x = - -a;");
  CHECK(body_of("x = !~a") == "x = ! ~a;");
  CHECK(body_of("x = (k in arr) == 0") == "x = (k in arr) == 0;");
  CHECK(body_of("x = [a, b+1] in arr") == "x = [a, b + 1] in arr;");
  CHECK(body_of("x = (a = 1) + 2") == "x = (a = 1) + 2;");
  CHECK(body_of("x = y = 3") == "x = y = 3;");
  CHECK(body_of("x = a & b in c") == "x = a & b in c;");
  CHECK(body_of("x = (a >>> 1) + (b >>> c + 1)") == "x = (a >>> 1) + (b >>> c + 1);");
}

TEST_CASE("printer: literals", "[printer]") {
  CHECK(body_of("x = \"tab\\there \\\"q\\\" back\\\\slash\\n\"") == "x = \"tab\\there \\\"q\\\" back\\\\slash\\n\";");
  CHECK(body_of("x = \"\\001\" \"7\"") == "x = \"\\0017\";");
  CHECK(body_of("x = 0x10 + 010") == "x = 16 + 8;");
  // -1 as a literal reads back as a literal, not as a negation.
  CHECK(body_of("x = 0xffffffffffffffff") == "x = 0xffffffffffffffff;");
}

TEST_CASE("printer: statements", "[printer]") {
  CHECK(body_of("for (i = 0; i < 3; i++) { continue }") ==
        "for (i = 0; i < 3; i++)\n    {\n        continue;\n    }");
  CHECK(body_of("for (;;) break") == "for (; ; )\n        break;");
  CHECK(body_of("while (x--) next") == "while (x--)\n        next;");
  CHECK(body_of("foreach ([a, b-] in arr limit 5) print(a)") ==
        "foreach ([a, b-] in arr limit 5)\n        print(a);");
  CHECK(body_of("foreach (v = [a] in arr+) print(v)") == "foreach (v+ = [a] in arr)\n        print(v);");
  CHECK(body_of("foreach (k in @sum(s)-) print(k)") == "foreach (k in s@sum-)\n        print(k);");
  CHECK(body_of("foreach ([k] in s[*]@max+ limit 3) print(k)") == "foreach (k in s[*]@max+ limit 3)\n        print(k);");
  CHECK(body_of("x = @hist_linear(s, -10, 10, 2)[3] + @variance(s, 2)") ==
        "x = @hist_linear(s, -10, 10, 2)[3] + @variance(s, 2);");
  CHECK(body_of("x = @choose_defined($a, 1)") == "x = @defined($a) ? $a : 1;");
  CHECK(printed("function f() { return }") == "function f ()\n{\n    return;\n}\n");
  // A chained <<< prints as written, not as the parser's lowering of it.
  CHECK(body_of("a <<< b <<< c[1] <<< x + 1") == "a <<< b <<< c[1] <<< x + 1;");
  check_round_trip("global a, b\nprobe begin { a <<< b <<< 3 }");
}

TEST_CASE("printer: probe points, conditions and aliases", "[printer]") {
  CHECK(printed("probe kernel.trace(\"x\")!, begin(-1)?, timer.{ms,s}(1) { }") ==
        "probe kernel.trace(\"x\")!, begin(-1)?, timer.{ms,s}(1)\n{\n}\n");
  CHECK(printed("probe begin if (on) { }") == "probe begin if (on)\n{\n}\n");
  CHECK(printed("probe my.drop = kernel.trace(\"kfree_skb\") { l = $location }") ==
        "probe my.drop = kernel.trace(\"kfree_skb\")\n{\n    l = $location;\n}\n");
  CHECK(printed("probe my.end += end { }") == "probe my.end += end\n{\n}\n");
}

TEST_CASE("printer: round trip of tricky expressions", "[printer]") {
  check_round_trip("probe begin { x = a - (b - c) * -(d % e) << 2 >> (1 + 1) }");
  check_round_trip("probe begin { x = !(a == b) != (c < d); y = a ? b ? 1 : 2 : c = 4 }");
  check_round_trip("probe begin { if (a) if (b) x = 1; else x = 2 }");
  check_round_trip("probe begin { s = \"\\x01\\x7f\\\\\" . sprintf(\"%s\", \"\\n\") }");
  check_round_trip("probe begin { x = ++a[1, \"k\"] + b-- - - -c + +(+d) }");
  check_round_trip("probe begin { x = a >>> 2 >> 1 << (b >>> 3) }");
}

TEST_CASE("printer: every script in the repository prints and parses back to the same tree", "[printer]") {
  const auto scripts = repository_scripts();
  REQUIRE(scripts.size() >= 3);
  for (const auto &path : scripts) {
    INFO("script: " << path.string());
    // A tapset file may use its directory's macro libraries (*.stpm),
    // which every script sees first.
    std::stringstream text;
    if (path.extension() != ".stpm")
      for (const auto &entry : std::filesystem::directory_iterator(path.parent_path()))
        if (entry.path().extension() == ".stpm") text << std::ifstream(entry.path()).rdbuf() << "\n";
    std::ifstream in(path);
    text << in.rdbuf();
    check_round_trip(text.str());
  }
}

TEST_CASE("printer: try/catch, >>> and regex round trip", "[printer]") {
  check_round_trip("probe begin { try { x = 1 / 0 } catch (m) { println(m) } try { } catch { } }");
  check_round_trip("probe begin { if (s =~ \"^a(b|c)+$\" && t !~ \"x\") println(matched(1)) }");
}

TEST_CASE("printer: private declarations keep their keyword", "[printer]") {
  CHECK(printed("private x, y = 2\nprivate function f() { return x }\nprobe begin { f() }") ==
        "private global x\n\nprivate global y = 2\n\nprivate function f ()\n{\n    return x;\n}\n\n"
        "probe begin\n{\n    f();\n}\n");
  check_round_trip("private global a%[4]\nglobal b\nprivate function g(n) { a[n] = b }\nprobe begin { g(1) }");
}
