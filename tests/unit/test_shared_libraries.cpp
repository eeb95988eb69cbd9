// process(...).library(...) probes: finding a program's shared libraries as
// the dynamic linker does (checked against the programs really running, and
// against ldd), the names and patterns .library takes, and the provider's
// probes: in the library's file, fired only in the program's processes,
// named as stap names them.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "kernel/elf_symbols.h"
#include "kernel/shared_libraries.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

// An SDT probe with one operand (tests/e2e/uprobe/sdt_note.h), so the test
// needs no systemtap-sdt-dev.
constexpr const char *kLibraryB =
    "#include \"sdt_note.h\"\n"
    "int ntapb_value(int x) { SDT_PROBE1(ntaptest, added, x); return x + 1; }\n";
// Where sdt_note.h is.
const std::string kSdtHeaderDir = std::string(NTAP_TEST_DATA) + "/../../e2e/uprobe";
constexpr const char *kLibraryA = "int ntapb_value(int);\nint ntapa_call(int n) { return ntapb_value(n) * 2; }\n";
constexpr const char *kLibraryC = "int ntapc_unused(int n) { return n; }\n";
constexpr const char *kProgram =
    "int ntapa_call(int);\nint main(int argc, char **argv) { return ntapa_call(argc) != 4; }\n";

std::string run_output(const std::string &command) {
  std::string out;
  FILE *pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  ::pclose(pipe);
  return out;
}

std::string real(const std::string &path) {
  char buf[PATH_MAX];
  REQUIRE(::realpath(path.c_str(), buf));
  return buf;
}

// Three installs of one program and its libraries, each finding libntapb
// (which libntapa needs) another way:
//   run/: the program's DT_RUNPATH finds lib/libntapa.so, whose own
//         DT_RUNPATH finds deep/libntapb.so;
//   rp/:  the program's DT_RPATH names both directories; libntapa has no
//         run path, and ld.so searches its loader's DT_RPATH;
//   bad/: as rp/ with a DT_RUNPATH, which only serves the program's own
//         needs: libntapb is found nowhere and the program cannot start.
// other/libntapc.so is needed by none.
struct Installs {
  std::string root, run, rpath, broken, other_lib, script;
  bool built = false;

  Installs() {
    char tmpl[] = "/tmp/ntap-libs-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    root = real(tmpl);
    for (const char *name : {"b.c", "a.c", "c.c", "prog.c"}) {
      std::ofstream source(root + "/" + name);
      source << (name[0] == 'b' ? kLibraryB : name[0] == 'a' ? kLibraryA : name[0] == 'c' ? kLibraryC : kProgram);
    }
    const std::string r = root;
    const std::string commands =
        "cd '" + r +
        "' && mkdir -p run/bin run/lib run/deep rp/bin rp/lib rp/deep bad/bin bad/lib bad/deep other && "
        "for d in run rp bad; do cc -g -shared -fPIC -I'" + kSdtHeaderDir + "' -o $d/deep/libntapb.so b.c || exit 1; done && "
        "cc -g -shared -fPIC -o run/lib/libntapa.so a.c -Lrun/deep -lntapb -Wl,--enable-new-dtags "
        "'-Wl,-rpath,$ORIGIN/../deep' && "
        "cc -shared -fPIC -o rp/lib/libntapa.so a.c -Lrp/deep -lntapb && "
        "cc -shared -fPIC -o bad/lib/libntapa.so a.c -Lbad/deep -lntapb && "
        "cc -shared -fPIC -o other/libntapc.so c.c && "
        "cc -o run/bin/prog prog.c -Lrun/lib -lntapa -Wl,--enable-new-dtags '-Wl,-rpath,$ORIGIN/../lib' && "
        "cc -o rp/bin/prog prog.c -Lrp/lib -lntapa -Wl,-rpath-link,rp/deep -Wl,--disable-new-dtags "
        "'-Wl,-rpath,$ORIGIN/../lib:$ORIGIN/../deep' && "
        "cc -o bad/bin/prog prog.c -Lbad/lib -lntapa -Wl,-rpath-link,bad/deep -Wl,--enable-new-dtags "
        "'-Wl,-rpath,$ORIGIN/../lib:$ORIGIN/../deep' && "
        "printf '#!/bin/sh\\n' > script && chmod +x script";
    built = std::system(("(" + commands + ") >/dev/null 2>&1").c_str()) == 0;
    run = root + "/run/bin/prog";
    rpath = root + "/rp/bin/prog";
    broken = root + "/bad/bin/prog";
    other_lib = root + "/other/libntapc.so";
    script = root + "/script";
  }
  ~Installs() { std::system(("rm -rf '" + root + "'").c_str()); }
};

const Installs &installs() {
  static Installs built;
  REQUIRE(built.built);
  return built;
}

// The system's directories, without the environment's LD_LIBRARY_PATH.
elf::LibrarySearchPath system_search() {
  elf::LibrarySearchPath search = elf::LibrarySearchPath::from_system();
  search.ld_library_path.clear();
  return search;
}

std::vector<std::string> names_of(const elf::ProgramLibraries &libraries) {
  std::vector<std::string> names;
  for (const elf::LoadedLibrary &library : libraries.loaded) names.push_back(library.name);
  return names;
}

const elf::LoadedLibrary *loaded(const elf::ProgramLibraries &libraries, const std::string &name) {
  for (const elf::LoadedLibrary &library : libraries.loaded)
    if (library.name == name) return &library;
  return nullptr;
}

// The canonical paths ldd lists for `program` (it runs ld.so in its
// tracing mode, which loads the libraries without running the program).
std::set<std::string> ldd_files(const std::string &program) {
  std::set<std::string> files;
  const std::string out = run_output("env -u LD_LIBRARY_PATH ldd '" + program + "' 2>/dev/null");
  size_t at = 0;
  while (at < out.size()) {
    const size_t end = std::min(out.find('\n', at), out.size());
    const std::string line = out.substr(at, end - at);
    at = end + 1;
    const size_t arrow = line.find("=> /"), slash = line.find_first_not_of(" \t");
    std::string path;
    if (arrow != std::string::npos)
      path = line.substr(arrow + 3);
    else if (slash != std::string::npos && line[slash] == '/')
      path = line.substr(slash);
    if (path.empty()) continue;
    path = path.substr(0, path.find(" ("));
    files.insert(real(path));
  }
  return files;
}

}  // namespace

TEST_CASE("the dynamic section: needed libraries, run paths, the interpreter", "[uprobe][library]") {
  const Installs &in = installs();
  elf::DynamicInfo info;
  std::string error;
  REQUIRE(elf::read_dynamic_info(in.run, info, error));
  CHECK(info.dynamic);
  CHECK(info.executable);
  CHECK(info.needed.front() == "libntapa.so");
  CHECK(std::find(info.needed.begin(), info.needed.end(), "libc.so.6") != info.needed.end());
  CHECK(info.runpath == std::vector<std::string>{"$ORIGIN/../lib"});
  CHECK(info.rpath.empty());
  CHECK(info.interpreter.find("ld-linux-x86-64.so.2") != std::string::npos);
  REQUIRE(elf::read_dynamic_info(in.rpath, info, error));
  CHECK(info.rpath == std::vector<std::string>{"$ORIGIN/../lib", "$ORIGIN/../deep"});
  CHECK(info.runpath.empty());
  REQUIRE(elf::read_dynamic_info(in.root + "/run/lib/libntapa.so", info, error));
  CHECK_FALSE(info.executable);
  CHECK(info.interpreter.empty());
  CHECK(info.needed.front() == "libntapb.so");
  CHECK_FALSE(elf::read_dynamic_info(in.script, info, error));
  CHECK(error == "'" + in.script + "' is not an ELF file");
}

TEST_CASE("a program's libraries are found as ld.so finds them", "[uprobe][library]") {
  const Installs &in = installs();
  const elf::LibrarySearchPath search = system_search();
  std::string error;
  elf::ProgramLibraries libraries;

  // DT_RUNPATH of each object for its own needs.
  REQUIRE(elf::libraries_of(in.run, search, libraries, error));
  CHECK(libraries.dynamic);
  CHECK(libraries.missing.empty());
  std::vector<std::string> names = names_of(libraries);
  REQUIRE(names.size() >= 4);
  CHECK(names[0] == "libntapa.so");  // breadth first: the program's needs, then theirs
  CHECK(names[1] == "libc.so.6");
  REQUIRE(loaded(libraries, "libntapb.so"));
  // $ORIGIN is the directory the object was found in.
  CHECK(loaded(libraries, "libntapb.so")->path == in.root + "/run/bin/../lib/../deep/libntapb.so");
  CHECK(loaded(libraries, "libntapb.so")->canonical == in.root + "/run/deep/libntapb.so");
  CHECK(std::system(("env -u LD_LIBRARY_PATH '" + in.run + "'").c_str()) == 0);

  // The program's DT_RPATH serves the libraries it loads too.
  REQUIRE(elf::libraries_of(in.rpath, search, libraries, error));
  CHECK(libraries.missing.empty());
  REQUIRE(loaded(libraries, "libntapb.so"));
  CHECK(loaded(libraries, "libntapb.so")->canonical == in.root + "/rp/deep/libntapb.so");
  CHECK(std::system(("env -u LD_LIBRARY_PATH '" + in.rpath + "'").c_str()) == 0);

  // Its DT_RUNPATH does not: ld.so refuses to start it.
  REQUIRE(elf::libraries_of(in.broken, search, libraries, error));
  CHECK(libraries.missing == std::vector<std::string>{"libntapb.so"});
  CHECK(std::system(("env -u LD_LIBRARY_PATH '" + in.broken + "' 2>/dev/null").c_str()) != 0);

  // LD_LIBRARY_PATH comes before a DT_RUNPATH.
  elf::LibrarySearchPath with_env = search;
  with_env.ld_library_path = {in.root + "/rp/deep"};
  REQUIRE(elf::libraries_of(in.broken, with_env, libraries, error));
  CHECK(libraries.missing.empty());
  CHECK(loaded(libraries, "libntapb.so")->canonical == in.root + "/rp/deep/libntapb.so");
  REQUIRE(elf::libraries_of(in.run, with_env, libraries, error));
  CHECK(loaded(libraries, "libntapb.so")->canonical == in.root + "/rp/deep/libntapb.so");

  CHECK_FALSE(elf::libraries_of(in.script, search, libraries, error));
}

TEST_CASE("a program's libraries are those ldd lists", "[uprobe][library]") {
  const Installs &in = installs();
  std::string error;
  for (const std::string &program : {in.run, in.rpath, real("/bin/sh")}) {
    INFO(program);
    const std::set<std::string> listed = ldd_files(program);
    if (listed.empty()) {
      WARN("ldd lists nothing for " + program + ": not compared");
      continue;
    }
    elf::ProgramLibraries libraries;
    REQUIRE(elf::libraries_of(program, system_search(), libraries, error));
    std::set<std::string> ours;
    for (const elf::LoadedLibrary &library : libraries.loaded) ours.insert(library.canonical);
    CHECK(ours == listed);
  }
}

TEST_CASE(".library names, patterns and paths", "[uprobe][library]") {
  const Installs &in = installs();
  elf::LibraryQuery query{in.run, {}, system_search()};
  std::string error;
  const std::string a = in.root + "/run/lib/libntapa.so", b = in.root + "/run/deep/libntapb.so";
  using Files = std::vector<std::string>;

  CHECK(elf::resolve_library("libntapb.so", query, error) == Files{b});
  CHECK(elf::resolve_library("libntap*", query, error) == Files{a, b});
  const Files all = elf::resolve_library("*", query, error);
  CHECK(all.size() >= 4);
  CHECK(std::count_if(all.begin(), all.end(), [](const std::string &f) { return f.find("/libc.so.6") != f.npos; }));
  CHECK(elf::resolve_library(in.root + "/run/deep/libntapb.so", query, error) == Files{b});
  CHECK(elf::resolve_library(in.root + "/run/*/libntapb.so", query, error) == Files{b});
  // A pattern with a directory that no loaded library matches: the files it names.
  CHECK(elf::resolve_library(in.root + "/other/*.so", query, error) == Files{in.other_lib});
  // A path need not be one the program loads.
  CHECK(elf::resolve_library(in.other_lib, query, error) == Files{in.other_lib});

  CHECK(elf::resolve_library("libntapc.so", query, error).empty());
  CHECK(error.rfind("library 'libntapc.so' not found for " + in.run + ": searched " + in.root + "/run/bin/../lib, ",
                    0) == 0);
  CHECK(error.find("; the program loads libntapa.so, libc.so.6, libntapb.so") != std::string::npos);
  // A name the program does not need, in the directories ld.so searches (a dlopen).
  elf::LibraryQuery dlopen = query;
  dlopen.search.system.insert(dlopen.search.system.begin(), in.root + "/other");
  CHECK(elf::resolve_library("libntapc.so", dlopen, error) == Files{in.other_lib});
  // A process's mappings name what it opened.
  elf::LibraryQuery running = query;
  running.mapped = {in.run, in.other_lib};
  CHECK(elf::resolve_library("libntapc*", running, error) == Files{in.other_lib});

  CHECK(elf::resolve_library("libnothing*", query, error).empty());
  CHECK(error.rfind("library 'libnothing*' not found for " + in.run +
                        ": no library the program loads matches it (libntapa.so, libc.so.6, libntapb.so",
                    0) == 0);
  CHECK(elf::resolve_library("/nonexistent/libx.so", query, error).empty());
  CHECK(error == "library '/nonexistent/libx.so' not found for " + in.run + ": No such file or directory");
  elf::LibraryQuery broken{in.broken, {}, system_search()};
  CHECK(elf::resolve_library("libnothing*", broken, error).empty());
  CHECK(error.find("libntapb.so (found nowhere)") != std::string::npos);

  elf::LibraryQuery script{in.script, {}, system_search()};
  CHECK(elf::resolve_library("libc.so.6", script, error).empty());
  CHECK(error == "'" + in.script + "' is not an ELF file");
  elf::LibraryQuery library{a, {}, system_search()};
  CHECK(elf::resolve_library("libntapb.so", library, error).empty());
  CHECK(error == "'" + a +
                     "' is a shared library, not a program: .library(\"libntapb.so\") probes fire in the processes "
                     "that run a program");
  const std::string static_program = in.root + "/static";
  const std::string link_static =
      "cc -static -nostdlib -e ntapc_unused -o '" + static_program + "' '" + in.root + "/c.c' >/dev/null 2>&1";
  if (std::system(link_static.c_str()) != 0) {
    WARN("this toolchain cannot link a static program: that error is not tested");
    return;
  }
  elf::LibraryQuery static_query{static_program, {}, system_search()};
  CHECK(elf::resolve_library("libc.so.6", static_query, error).empty());
  CHECK(error == "library 'libc.so.6' not found for " + static_program +
                     ": the program is statically linked (it loads no shared library)");
}

TEST_CASE("ld.so.conf directories and includes", "[uprobe][library]") {
  const Installs &in = installs();
  const std::string conf = in.root + "/ld.so.conf";
  std::system(("mkdir -p '" + in.root + "/conf.d'").c_str());
  std::ofstream(conf) << "# the system's\n/opt/a\ninclude conf.d/*.conf\n  /opt/b:/opt/c, /opt/d  # more\nhwcap 0 x\n";
  std::ofstream(in.root + "/conf.d/2.conf") << "/opt/f\n";
  std::ofstream(in.root + "/conf.d/1.conf") << "/opt/e=libc6\ninclude " + conf + "\n";  // a loop ends
  const std::vector<std::string> dirs = elf::ld_so_conf_directories(conf);
  CHECK(dirs == std::vector<std::string>{"/opt/a", "/opt/e", "/opt/b", "/opt/c", "/opt/d", "/opt/f"});
  const elf::LibrarySearchPath system = elf::LibrarySearchPath::from_system();
  CHECK(std::find(system.system.begin(), system.system.end(), "/usr/lib") != system.system.end());
}

TEST_CASE("process provider: .library probes, their filter, pp() and errors", "[uprobe][library]") {
  const Installs &in = installs();
  const std::string lib_a = in.root + "/run/lib/libntapa.so", lib_b = in.root + "/run/deep/libntapb.so";
  const std::string process = "process(\"" + in.run + "\")";
  struct stat program {};
  REQUIRE(::stat(in.run.c_str(), &program) == 0);

  auto checked = test::check_script("probe " + process + ".library(\"libntapb.so\").function(\"ntapb_*\") { }");
  const ast::ResolvedProbe &call = test::only_probe(checked);
  CHECK(call.binary == lib_b);
  CHECK(call.name == "ntapb_value");
  CHECK(call.section == "uprobe");
  // As stap: the probe is named by the library's file alone.
  CHECK(call.point == "process(\"" + lib_b + "\").function(\"ntapb_value\")");
  CHECK(call.script_point == call.point);
  // It fires in the processes running the program, not wherever the library is.
  CHECK(call.pid == 0);
  CHECK(call.exe_inode == program.st_ino);
  CHECK(call.exe_dev != 0);

  auto returns = test::check_script("probe " + process + ".library(\"libntap*\").function(\"ntap*\").return { }");
  const auto &both = returns->program->probes.at(0)->resolved;
  REQUIRE(both.size() == 2);
  CHECK(both[0].point == "process(\"" + lib_a + "\").function(\"ntapa_call\").return");
  CHECK(both[1].point == "process(\"" + lib_b + "\").function(\"ntapb_value\").return");
  CHECK((both[0].retprobe && both[1].retprobe && both[1].exe_inode == program.st_ino));

  // $param from the library's DWARF; @entry's companion probe keeps the filter.
  auto entry = test::check_script("probe " + process +
                                  ".library(\"libntapb.so\").function(\"ntapb_value\").return {"
                                  " println(@entry($x) + $return) }");
  REQUIRE(entry->program->probes.size() == 2);
  const ast::ResolvedProbe &at_entry = entry->program->probes[1]->resolved.at(0);
  CHECK_FALSE(at_entry.retprobe);
  CHECK(at_entry.binary == lib_b);
  CHECK(at_entry.exe_inode == program.st_ino);
  CHECK(test::error_of("probe " + process + ".library(\"libntapb.so\").function(\"ntapb_value\") { println($x) }") ==
        "no error");

  // Marks and PLT entries are named in the program's terms for pn() and -l.
  auto mark = test::check_script("probe " + process + ".library(\"libntapb.so\").mark(\"added\") { println($arg1) }");
  const ast::ResolvedProbe &added = test::only_probe(mark);
  CHECK(added.point == process + ".library(\"" + lib_b + "\").mark(\"added\")");
  CHECK(added.exe_inode == program.st_ino);
  auto plt = test::check_script("probe " + process + ".library(\"libntapa.so\").plt(\"ntapb_*\") { println($$name) }");
  const ast::ResolvedProbe &entry_b = test::only_probe(plt);
  CHECK(entry_b.plt_entry);
  CHECK(entry_b.point.rfind("process(\"" + lib_a + "\").statement(0x", 0) == 0);
  CHECK(entry_b.script_point == process + ".library(\"" + lib_a + "\").plt(\"ntapb_value\")");
  // A pattern over libraries passes over those where the form cannot be:
  // the system's have no debug info for a source line.
  const std::string source_b = kLibraryB;
  const std::string line_b =
      std::to_string(std::count(source_b.begin(), source_b.begin() + source_b.find("int ntapb_value"), '\n') + 1);
  auto statements =
      test::check_script("probe " + process + ".library(\"*\").statement(\"ntapb_value@b.c:" + line_b + "\") { }");
  CHECK(test::only_probe(statements).binary == lib_b);

  // process(PID): that process's libraries, attached to it.
  const std::string self = "process(" + std::to_string(::getpid()) + ")";
  auto pid = test::check_script("probe " + self + ".library(\"libc.so*\").function(\"malloc\") { }");
  const ast::ResolvedProbe &malloc_probe = test::only_probe(pid);
  CHECK(malloc_probe.pid == ::getpid());
  CHECK(malloc_probe.exe_inode == 0);
  CHECK(malloc_probe.binary.find("/libc.so") != std::string::npos);

  const std::string error = test::error_of("probe " + process + ".library(\"libnope.so\").function(\"f\") { }");
  CHECK(error.rfind("1:7 library 'libnope.so' not found for " + in.run + ": searched ", 0) == 0);
  CHECK(test::error_of("probe " + process + ".library(\"libntapb.so\").function(\"nothing_like_it\") { }") ==
        "1:7 no match for probe point");
  CHECK(test::error_of("probe " + process + ".library(\"libntapb.so\").begin { }") ==
        "1:7 expected .function, .statement, .mark, .provider or .plt after .library(\"libntapb.so\")");
  CHECK(test::error_of("probe " + process + ".library.function(\"f\") { }") ==
        "1:7 process probe component 'library' needs a string argument");
  CHECK(test::error_of("probe " + process + ".library(\"libntapb.so\").function(\"f\").entry { }") ==
        "1:7 unexpected '.entry' after .function (.call, .return or .inline)");
  CHECK(test::error_of("probe process(\"" + in.script + "\").library(\"libc.so.6\").function(\"f\") { }") ==
        "1:7 '" + in.script + "' is not an ELF file");
  // The fixture kernel's run has no -c/-x target.
  CHECK(test::error_of("probe process.library(\"libc.so.6\").function(\"malloc\") { }") ==
        "1:7 a process probe without a path or pid needs a target process (-c CMD or -x PID)");
}
