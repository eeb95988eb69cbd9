// Diagnostics: source files, locations and the exact stap-style reports.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "frontend/diagnostics.h"

using namespace ntap;

TEST_CASE("diagnostics: source lines", "[diagnostics]") {
  SourceFile file("f.ntp", "first\nsecond\r\n\nlast");
  REQUIRE(file.line_starts.size() == 4);
  CHECK(file.line(1) == "first");
  CHECK(file.line(2) == "second");
  CHECK(file.line(3) == "");
  CHECK(file.line(4) == "last");
  CHECK(file.line(0) == "");
  CHECK(file.line(5) == "");
  SourceFile trailing("g.ntp", "a\n");
  CHECK(trailing.line_starts.size() == 2);
  CHECK(trailing.line(2) == "");
}

TEST_CASE("diagnostics: location text", "[diagnostics]") {
  SourceFile file("dir/f.ntp", "x\n");
  CHECK(Location{&file, 3, 7}.str() == "dir/f.ntp:3:7");
  CHECK_FALSE(Location{}.known());
  CHECK(Location{&file, 1, 1}.known());
}

TEST_CASE("diagnostics: parse error report with saw line and caret", "[diagnostics]") {
  SourceFile file("dropwatch.ntp", "probe begin {\n  foo(1 }\n}\n");
  CompileError error(ErrorKind::Parse, "expected ')'", Location{&file, 2, 9}, "operator '}'");
  CHECK(error.format() ==
        "parse error: expected ')'\n"
        "        saw: operator '}' at dropwatch.ntp:2:9\n"
        "     source:   foo(1 }\n"
        "                     ^\n");
  CHECK(std::string(error.what()) == error.format());
  CHECK(error.kind() == ErrorKind::Parse);
  CHECK(error.message() == "expected ')'");
  CHECK(error.location().line == 2);
}

TEST_CASE("diagnostics: semantic error names the identifier on the first line", "[diagnostics]") {
  SourceFile file("t.ntp", "probe begin {\n  x = \"a\" + 1\n}\n");
  CompileError error(ErrorKind::Semantic, "type mismatch (long vs. string)", Location{&file, 2, 3}, "identifier 'x'");
  CHECK(error.format() ==
        "semantic error: type mismatch (long vs. string): identifier 'x' at t.ntp:2:3\n"
        "     source:   x = \"a\" + 1\n"
        "               ^\n");
}

TEST_CASE("diagnostics: without saw the location goes on the first line", "[diagnostics]") {
  SourceFile file("f.ntp", "\n\nprobe kernel.trace(\"nope\") { }\n");
  CompileError error(ErrorKind::Probe, "unknown probe point kernel.trace(\"nope\")", Location{&file, 3, 7});
  CHECK(error.format() ==
        "semantic error: unknown probe point kernel.trace(\"nope\") at f.ntp:3:7\n"
        "     source: probe kernel.trace(\"nope\") { }\n"
        "                   ^\n");
}

TEST_CASE("diagnostics: prefixes of every error kind", "[diagnostics]") {
  auto first_line = [](ErrorKind kind) {
    std::string text = CompileError(kind, "m", Location{}).format();
    return text;
  };
  CHECK(first_line(ErrorKind::Parse) == "parse error: m\n");
  CHECK(first_line(ErrorKind::Semantic) == "semantic error: m\n");
  CHECK(first_line(ErrorKind::Probe) == "semantic error: m\n");
  CHECK(first_line(ErrorKind::Codegen) == "compile error: m\n");
  CHECK(first_line(ErrorKind::Runtime) == "ERROR: m\n");
}

TEST_CASE("diagnostics: tabs in the source line keep the caret aligned", "[diagnostics]") {
  SourceFile file("t.ntp", "\tx = 1;\ty = )\n");
  CompileError error(ErrorKind::Parse, "expected expression", Location{&file, 1, 13}, "operator ')'");
  // The tab at byte column 1 expands to 8 spaces, the one at byte column 8
  // pads to the next stop (display column 16); ')' is then display column 20.
  CHECK(error.format() ==
        "parse error: expected expression\n"
        "        saw: operator ')' at t.ntp:1:13\n"
        "     source:         x = 1;  y = )\n"
        "                                 ^\n");
}

TEST_CASE("diagnostics: multi-byte characters count as one column", "[diagnostics]") {
  SourceFile file("u.ntp", "s = \"\xc3\xa9\" x\n");  // "é" is two bytes
  CompileError error(ErrorKind::Parse, "expected statement", Location{&file, 1, 10}, "identifier 'x'");
  CHECK(error.format() ==
        "parse error: expected statement\n"
        "        saw: identifier 'x' at u.ntp:1:10\n"
        "     source: s = \"\xc3\xa9\" x\n"
        "                     ^\n");
}

TEST_CASE("diagnostics: an empty source line prints no caret", "[diagnostics]") {
  SourceFile file("e.ntp", "probe begin {\n");
  CompileError error(ErrorKind::Parse, "unexpected end of file, expected '}'", Location{&file, 2, 1});
  CHECK(error.format() == "parse error: unexpected end of file, expected '}' at e.ntp:2:1\n");
}

TEST_CASE("diagnostics: source manager loads files and reports unreadable ones", "[diagnostics]") {
  SourceManager sources;
  const SourceFile &added = sources.add("<input>", "probe begin {}");
  CHECK(added.name == "<input>");
  CHECK(added.line(1) == "probe begin {}");

  std::string path = "/tmp/ntap_test_diagnostics_" + std::to_string(::getpid()) + ".ntp";
  {
    std::ofstream out(path);
    out << "global x\nprobe end {}\n";
  }
  const SourceFile &loaded = sources.load(path);
  CHECK(loaded.name == path);
  CHECK(loaded.line(2) == "probe end {}");
  CHECK(&added != &loaded);
  CHECK(added.text == "probe begin {}");  // earlier files stay valid
  std::remove(path.c_str());

  try {
    sources.load("/nonexistent/dir/x.ntp");
    FAIL("expected an error");
  } catch (const CompileError &e) {
    CHECK(e.kind() == ErrorKind::Runtime);
    CHECK(e.format() == "ERROR: cannot read script file '/nonexistent/dir/x.ntp': No such file or directory\n");
  }
}

TEST_CASE("diagnostics: warnings go to stderr unless disabled", "[diagnostics]") {
  SourceFile file("w.ntp", "x\n");
  // Redirect stderr into a temporary file to check the exact text.
  std::FILE *capture = std::tmpfile();
  REQUIRE(capture);
  std::fflush(stderr);
  int saved = ::dup(2);
  ::dup2(::fileno(capture), 2);
  warn(Location{&file, 1, 1}, "unused variable 'x'");
  set_warnings_enabled(false);
  warn(Location{&file, 1, 1}, "this one is silent");
  set_warnings_enabled(true);
  warn(Location{}, "no location");
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::rewind(capture);
  std::string text;
  char buffer[256];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, capture)) > 0) text.append(buffer, got);
  std::fclose(capture);
  CHECK(text == "WARNING: unused variable 'x' at w.ntp:1:1\nWARNING: no location\n");
}

TEST_CASE("diagnostics: hints are shown under the caret", "[diagnostics]") {
  SourceFile file("h.ntp", "probe begin { tcp_v4_rvc() }\n");
  CompileError error(ErrorKind::Semantic, "unresolved function", Location{&file, 1, 15}, "identifier 'tcp_v4_rvc'",
                     {"did you mean `tcp_v4_rcv`?"});
  CHECK(error.format() ==
        "semantic error: unresolved function: identifier 'tcp_v4_rvc' at h.ntp:1:15\n"
        "     source: probe begin { tcp_v4_rvc() }\n"
        "                           ^\n"
        "       hint: did you mean `tcp_v4_rcv`?\n");
  CHECK(error.with_hints({"more"}).hints().size() == 2);
}

TEST_CASE("diagnostics: several errors sorted by position, duplicates once", "[diagnostics]") {
  SourceFile file("m.ntp", "a\nb\nc\n");
  Diagnostics sink;
  CHECK_NOTHROW(sink.raise());
  sink.report(CompileError(ErrorKind::Semantic, "third", Location{&file, 3, 1}));
  sink.report(CompileError(ErrorKind::Semantic, "first", Location{&file, 1, 1}));
  CHECK_FALSE(sink.guard([&] { throw CompileError(ErrorKind::Semantic, "second", Location{&file, 2, 1}); }));
  CHECK(sink.guard([] {}));
  sink.report(CompileError(ErrorKind::Semantic, "first", Location{&file, 1, 1}));  // repeated
  CHECK(sink.error_count() == 3);
  try {
    sink.raise();
    FAIL("expected the errors");
  } catch (const CompileErrors &errors) {
    CHECK(errors.count() == 3);
    CHECK(errors.message() == "first");
    CHECK(errors.location().line == 1);
    const std::string text = errors.format();
    CHECK(text.find("first") < text.find("second"));
    CHECK(text.find("second") < text.find("third"));
    CHECK(std::string(errors.what()) == text);
  }
}

TEST_CASE("diagnostics: at most 20 errors are shown, the rest counted", "[diagnostics]") {
  SourceFile file("c.ntp", std::string(30, '\n'));
  Diagnostics sink;
  for (uint32_t line = 1; line <= 25; ++line)
    sink.report(CompileError(ErrorKind::Semantic, "e" + std::to_string(line), Location{&file, line, 1}));
  const std::string text = sink.format();
  CHECK(text.find("e20 at") != std::string::npos);
  CHECK(text.find("e21 at") == std::string::npos);
  CHECK(text.ends_with("5 more errors not shown (25 in all)\n"));
}

TEST_CASE("diagnostics: nearest names by edit distance", "[diagnostics]") {
  const std::vector<std::string> names = {"tcp_v4_rcv", "tcp_v6_rcv", "udp_rcv", "x", "count"};
  CHECK(nearest_names("tcp_v4_rvc", names) == std::vector<std::string>{"tcp_v4_rcv"});
  CHECK(nearest_names("tcp_v4_rvc", names, 2) == std::vector<std::string>{"tcp_v4_rcv", "tcp_v6_rcv"});
  CHECK(nearest_names("cuont", names) == std::vector<std::string>{"count"});
  CHECK(nearest_names("y", names).empty());           // a different short name is no typo
  CHECK(nearest_names("count", names).empty());       // the name itself is not a suggestion
  CHECK(nearest_names("completely_else", names).empty());
  CHECK(did_you_mean({"a", "b"}, "$") == "did you mean `$a` or `$b`?");
  CHECK(did_you_mean({}).empty());
}
