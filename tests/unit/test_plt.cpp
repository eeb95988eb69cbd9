// process(...).plt probes: the PLT entries the ELF reader finds in programs
// the test compiles with the system's C compiler (with and without IBT
// entries, .plt.got included), checked against objdump's names for them, and
// the provider's probe points, $$name and errors.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "kernel/elf_symbols.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ntap-plt-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// getppid and getuid are called through entries; getuid's address is also
// taken, so its entry is in .plt.got (its GOT slot is a GLOB_DAT one), and
// the call through the pointer bypasses the PLT.
constexpr const char *kProgram =
    "#include <stdlib.h>\n"
    "#include <unistd.h>\n"
    "int main(int argc, char **argv) {\n"
    "  int n = argc > 1 ? atoi(argv[1]) : 3;\n"
    "  uid_t (*volatile taken)(void) = getuid;\n"
    "  for (int i = 0; i < n; ++i) getppid();\n"
    "  return getuid() + taken() == 1;\n"
    "}\n";

// The program built with `flags`, or empty when this compiler cannot.
std::string compile(const TempDir &dir, const std::string &flags, const std::string &name) {
  const std::string source = dir.path + "/plt.c", output = dir.path + "/" + name;
  std::ofstream(source) << kProgram;
  const std::string command = "cc -O0 " + flags + " -o '" + output + "' '" + source + "' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0 ? output : "";
}

// Lines of a command's output.
std::set<std::string> lines_of(const std::string &command) {
  std::set<std::string> lines;
  FILE *pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) {
    std::string line = buf;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    lines.insert(line);
  }
  ::pclose(pipe);
  return lines;
}

// "ADDR NAME" of each entry as objdump names them (`0000000000001040 <getppid@plt>:`).
std::set<std::string> objdump_entries(const std::string &program) {
  return lines_of("objdump -d -j .plt -j .plt.sec -j .plt.got '" + program +
                  "' | sed -n 's/^0*\\([0-9a-f][0-9a-f]*\\) <\\(.*\\)@plt>:$/\\1 \\2/p'");
}

std::set<std::string> our_entries(const elf::ElfFile &file) {
  std::set<std::string> entries;
  char address[24];
  for (const elf::PltEntry &entry : file.plt_entries()) {
    std::snprintf(address, sizeof address, "%llx", static_cast<unsigned long long>(entry.address));
    entries.insert(std::string(address) + " " + entry.name);
  }
  return entries;
}

bool has_section(const std::string &program, const std::string &section) {
  return !lines_of("objdump -h '" + program + "' | awk '$2 == \"" + section + "\"'").empty();
}

}  // namespace

TEST_CASE("PLT entries in each layout the linker writes", "[uprobe][plt]") {
  TempDir dir;
  const std::string plain = compile(dir, "", "plain");
  REQUIRE(!plain.empty());
  struct Layout {
    std::string program, entry_section;
  };
  std::vector<Layout> layouts{{plain, ".plt"}};
  // -z ibtplt: calls go to .plt.sec; the .plt holds the lazy-binding entries.
  const std::string ibt = compile(dir, "-fcf-protection -Wl,-z,ibtplt", "ibt");
  if (!ibt.empty() && has_section(ibt, ".plt.sec"))
    layouts.push_back({ibt, ".plt.sec"});
  else
    WARN("this toolchain does not write .plt.sec (-z ibtplt): that layout is not tested");
  for (const Layout &layout : layouts) {
    INFO(layout.program);
    std::string error;
    const std::unique_ptr<elf::ElfFile> file = elf::ElfFile::open(layout.program, error);
    REQUIRE(file);
    CHECK(our_entries(*file) == objdump_entries(layout.program));
    std::set<std::string> names;
    for (const elf::PltEntry &entry : file->plt_entries()) names.insert(entry.name);
    CHECK(names.count("getppid"));
    CHECK(names.count("getuid"));  // the .plt.got entry
    CHECK(names.count("atoi"));
    CHECK(has_section(layout.program, layout.entry_section));
  }
}

TEST_CASE("process provider: .plt probe points, $$name and errors", "[uprobe][plt]") {
  TempDir dir;
  const std::string program = compile(dir, "", "plain");
  REQUIRE(!program.empty());
  std::string error;
  const std::unique_ptr<elf::ElfFile> file = elf::ElfFile::open(program, error);
  REQUIRE(file);
  uint64_t getppid_entry = 0;
  for (const elf::PltEntry &entry : file->plt_entries())
    if (entry.name == "getppid") getppid_entry = entry.address;
  REQUIRE(getppid_entry);
  char hex[24];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(getppid_entry));
  const std::string process = "process(\"" + program + "\")";

  auto checked = test::check_script("probe " + process + ".plt(\"getp*\") { println($$name) }");
  const auto &probes = checked->program->probes.at(0)->resolved;
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].name == "getppid");
  CHECK(probes[0].plt_entry);
  CHECK(probes[0].address == getppid_entry);
  CHECK(probes[0].section == "uprobe");
  // As stap: pp() names the entry by address, pn() by its function.
  CHECK(probes[0].point == process + ".statement(" + hex + ")");
  CHECK(probes[0].script_point == process + ".plt(\"getppid\")");

  auto returns = test::check_script("probe " + process + ".plt(\"getppid\").return { println($$name) }");
  const ast::ResolvedProbe &ret = returns->program->probes.at(0)->resolved.at(0);
  CHECK(ret.retprobe);
  CHECK(ret.section == "uretprobe");
  CHECK(ret.point == process + ".statement(" + hex + ").return");
  CHECK(ret.script_point == process + ".plt(\"getppid\").return");

  // .plt is .plt("*"); semok/plt1's body: $$name, and @defined of what an entry lacks.
  auto all = test::check_script("probe " + process +
                                ".plt { println($$name)\n println(@defined($no_such_var) ? $no_such_var : 0) }");
  // (A body reading context variables is elaborated per process probe.)
  size_t entries = 0;
  for (const auto &probe : all->program->probes) entries += probe->resolved.size();
  CHECK(entries == file->plt_entries().size());

  CHECK(test::error_of("probe " + process + ".plt { println($no_such_var) }")
            .find("unable to find target variable $no_such_var") != std::string::npos);
  CHECK(test::error_of("probe " + process + ".plt(\"getppid\") { println($$name->x) }")
            .find("$$name is the name of the PLT entry's function") != std::string::npos);
  CHECK(test::error_of("probe " + process + ".plt(\"nothing_like_it\") { }") == "1:7 no match for probe point");
  CHECK(test::error_of("probe " + process + ".plt(\"getppid\").call { }") ==
        "1:7 unexpected '.call' after .plt (.return)");
  CHECK(test::error_of("probe " + process + ".plt(3) { }") ==
        "1:7 process probe component 'plt' needs a string argument");
  CHECK(test::error_of("probe process(\"/nonexistent/x\").plt { }") ==
        "1:7 cannot find '/nonexistent/x': No such file or directory");
  // The fixture kernel's run has no -c/-x target.
  CHECK(test::error_of("probe process.plt { }") ==
        "1:7 a process probe without a path or pid needs a target process (-c CMD or -x PID)");

  const std::string static_program = compile(dir, "-static", "static");
  if (static_program.empty()) {
    WARN("this toolchain cannot link a static program: the no-PLT error is not tested");
    return;
  }
  CHECK(test::error_of("probe process(\"" + static_program + "\").plt { }") ==
        "1:7 '" + static_program +
            "' has no PLT entries: it calls no shared library through one (a static program, or one built with "
            "-fno-plt)");
}
