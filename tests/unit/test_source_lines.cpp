// Source lines from DWARF (kernel/dwarf_lines.h) and module symbol sizes
// from ELF files (kernel/module_elf.h), on small programs the test compiles
// with the system's C compiler and on synthetic kallsyms text.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "kernel/dwarf_lines.h"
#include "kernel/module_elf.h"
#include "kernel/symbols.h"

using namespace ntap;

namespace {

// A scratch directory removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ntap-lines-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string &name, const std::string &text) const {
    std::string file = path + "/" + name;
    std::ofstream(file) << text;
    return file;
  }
};

// Lines 1, 2 and 5 are where helper's, its body's and main's code starts.
constexpr const char *kProgram =
    "int helper(int x) {\n"
    "  return x * 2;\n"
    "}\n"
    "void _text(void) {}\n"
    "int main(void) { return helper(3); }\n";

std::string compile(const TempDir &dir, const std::string &source, const std::string &flags, const std::string &out) {
  std::string output = dir.path + "/" + out;
  std::string command = "cc " + flags + " -o '" + output + "' '" + source + "' 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  return output;
}

}  // namespace

TEST_CASE("DWARF gives the file and line of an address in any ELF", "[lines]") {
  TempDir dir;
  std::string source = dir.write("prog.c", kProgram);
  std::string program = compile(dir, source, "-g -O0 -no-pie", "prog");
  std::string error;
  std::unique_ptr<DwarfLines> lines = DwarfLines::open(program, error);
  REQUIRE(lines);
  CHECK(lines->has_debug_info());
  std::optional<uint64_t> helper = lines->symbol("helper");
  std::optional<uint64_t> main_fn = lines->symbol("main");
  REQUIRE(helper);
  REQUIRE(main_fn);
  std::optional<SourceLine> at_helper = lines->lookup(*helper);
  REQUIRE(at_helper);
  CHECK(at_helper->file == source);
  CHECK(at_helper->line == 1);
  CHECK(lines->lookup(*main_fn)->line == 5);
  CHECK_FALSE(lines->lookup(0x10));
  CHECK_FALSE(DwarfLines::open(dir.path + "/absent", error));
}

TEST_CASE("kernel source lines take off the KASLR offset and fall back to hex", "[lines]") {
  TempDir dir;
  std::string source = dir.write("prog.c", kProgram);
  std::string program = compile(dir, source, "-g -O0 -no-pie", "vmlinux");
  std::string error;
  auto lines = DwarfLines::open(program, error);
  REQUIRE(lines);
  const uint64_t linked_text = *lines->symbol("_text"), helper = *lines->symbol("helper");
  // The "running kernel" was loaded 0x10000000 higher than it was linked.
  const uint64_t running_text = linked_text + 0x10000000;
  char line[64];
  std::snprintf(line, sizeof line, "%016llx T _text\n", static_cast<unsigned long long>(running_text));
  std::string kallsyms = dir.write("kallsyms", std::string("0000000000001000 T _stext_before\n") + line);

  KernelSourceLines kernel(program, kallsyms);
  REQUIRE(kernel.available());
  const uint64_t running_helper = helper + 0x10000000;
  CHECK(kernel.symfileline(running_helper) == source + ":1");
  CHECK(kernel.symfile(running_helper) == source);
  CHECK(kernel.symline(running_helper) == "1");
  CHECK(kernel.symfileline(running_helper) == source + ":1");  // cached
  CHECK(kernel.symfileline(0x20) == "0x20");
  CHECK(kernel.symline(0x20) == "0x20");

  // No debug info: every answer is the address, and error() says what was tried.
  std::string stripped = compile(dir, source, "-O0 -no-pie -s", "stripped");
  KernelSourceLines none(stripped, kallsyms);
  CHECK_FALSE(none.available());
  CHECK(none.error() == "no kernel debug info: tried " + stripped + " (no debug info)");
  CHECK(none.symfileline(running_helper) == hex_address(running_helper));
  CHECK(none.symfile(running_helper) == hex_address(running_helper));
  KernelSourceLines absent(dir.path + "/nothing", kallsyms);
  CHECK(absent.error() == "no kernel debug info: tried " + dir.path + "/nothing (absent)");
}

TEST_CASE("a module's ELF gives its kallsyms symbols their sizes", "[lines][modules]") {
  TempDir dir;
  std::string source = dir.write("foo_mod.c",
                                 "int foo_init(int x) { return x + 1; }\n"
                                 "int foo_exit(int x) { return x * 3 + foo_init(x); }\n");
  std::string object = compile(dir, source, "-c -O0", "foo-mod.ko");
  CHECK(is_relocatable_elf(object));
  CHECK(module_name_of(object) == "foo_mod");
  std::string error;
  auto sizes = elf_symbol_sizes(object, error);
  REQUIRE(sizes);
  REQUIRE(sizes->count("foo_init"));
  REQUIRE(sizes->count("foo_exit"));
  const uint64_t init_size = sizes->at("foo_init"), exit_size = sizes->at("foo_exit");
  CHECK(init_size > 0);
  CHECK(init_size < 0x100);

  std::string kallsyms = dir.write("kallsyms",
                                   "ffffffff81000000 T _text\n"
                                   "ffffffff81000100 T kernel_fn\n"
                                   "ffffffffc0001000 t foo_init\t[foo_mod]\n"
                                   "ffffffffc0001100 t foo_exit\t[foo_mod]\n");
  auto hex = [](uint64_t v) { return hex_address(v); };
  {
    // kallsyms alone: sizes are distances, the module's last symbol has none.
    KernelSymbols symbols(kallsyms);
    CHECK(symbols.symdata(0xffffffffc0001004) == "foo_init+0x4/0x100 [foo_mod]");
    CHECK(symbols.symdata(0xffffffffc0001104) == "0xffffffffc0001104");
  }
  KernelSymbols symbols(kallsyms);
  symbols.use_module_elf("foo_mod", object);
  symbols.use_module_elf("not_loaded", object);
  CHECK(symbols.symdata(0xffffffffc0001004) == "foo_init+0x4/" + hex(init_size) + " [foo_mod]");
  CHECK(symbols.symdata(0xffffffffc0001104) == "foo_exit+0x4/" + hex(exit_size) + " [foo_mod]");
  CHECK(symbols.module_errors() ==
        std::vector<std::string>{"not_loaded: not loaded (no [not_loaded] symbols in " + kallsyms + ")"});

  // The module's file is found through modules.dep, by its name with - as _.
  std::string dep =
      dir.write("modules.dep", "kernel/net/bar.ko.xz:\nkernel/drivers/foo-mod.ko: kernel/net/bar.ko.xz\n");
  CHECK(find_module_elf("foo_mod", error, dep) == dir.path + "/kernel/drivers/foo-mod.ko");
  CHECK(find_module_elf("bar", error, dep) == dir.path + "/kernel/net/bar.ko.xz");
  CHECK(find_module_elf("baz", error, dep).empty());
  CHECK(error == "no module baz in " + dep);
  KernelSymbols all(kallsyms);
  all.use_all_module_elfs();
  CHECK(all.module_errors().size() == 1);  // foo_mod is not in this machine's modules.dep
}
