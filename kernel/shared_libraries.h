// The shared libraries a program loads, found as the dynamic linker finds
// them, for process("PATH").library("LIB") probes: LIB is a library's path,
// its file name ("libc.so.6") or a pattern ("*", "libssl*"), and names files
// by what PATH needs (DT_NEEDED, through its run paths and the system's
// library directories).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ntap::elf {

// What the dynamic linker reads of one ELF file.
struct DynamicInfo {
  bool dynamic = false;  // has a dynamic section (false: a static program)
  // A program rather than a shared library: ET_EXEC, or ET_DYN with an
  // interpreter (a PIE) or flagged DF_1_PIE (a static PIE).
  bool executable = false;
  std::string interpreter;           // PT_INTERP: the dynamic linker a program names
  std::vector<std::string> needed;   // DT_NEEDED, in order
  std::vector<std::string> rpath;    // DT_RPATH directories, as written ($ORIGIN kept)
  std::vector<std::string> runpath;  // DT_RUNPATH directories, as written
};

// Reads `path`'s dynamic section and program headers; false with `error`
// set when it is not an ELF file.
bool read_dynamic_info(const std::string &path, DynamicInfo &info, std::string &error);

// Where libraries are looked for besides an object's own run paths: the
// directories of LD_LIBRARY_PATH, then those of the system. ntap reads no
// /etc/ld.so.cache (a binary format that changes between glibc versions);
// it lists the directories ldconfig builds it from instead.
struct LibrarySearchPath {
  std::vector<std::string> ld_library_path;
  // /etc/ld.so.conf's directories (with its includes), then the default
  // ones: the x86-64 multiarch directories, lib64, lib.
  std::vector<std::string> system;
  // This machine's: ntap's LD_LIBRARY_PATH and /etc/ld.so.conf.
  static LibrarySearchPath from_system();
};

// The directories of an ld.so.conf file (its `include` patterns followed,
// relative ones from the file's directory), in order.
std::vector<std::string> ld_so_conf_directories(const std::string &conf_path);

// A library a program loads.
struct LoadedLibrary {
  std::string name;       // as it is needed (DT_NEEDED), or the interpreter's path
  std::string path;       // where it was found
  std::string canonical;  // its canonical path, which probes name
};

struct ProgramLibraries {
  bool dynamic = false;  // false: a static program loads no library
  // Breadth first, as the dynamic linker loads them, then the interpreter;
  // each file once.
  std::vector<LoadedLibrary> loaded;
  std::vector<std::string> missing;  // needed names found nowhere
};

// The libraries `program` (a canonical path) needs, directly and through
// each other. False with `error` set when the program is not an ELF file.
bool libraries_of(const std::string &program, const LibrarySearchPath &search, ProgramLibraries &out,
                  std::string &error);

// Where the dynamic linker would find `name` (no '/') for an object that
// needs it: the first file for this machine in the object's DT_RPATH (and
// those of the objects that loaded it, `loaders`, innermost first, when it
// has no DT_RUNPATH), LD_LIBRARY_PATH, its DT_RUNPATH, the system's
// directories. Empty when none; `searched` gets each directory tried.
struct Loader {
  std::string path;  // where the object was found ($ORIGIN is its directory)
  const DynamicInfo *info = nullptr;
};
std::string find_library(const std::string &name, const std::vector<Loader> &loaders, const LibrarySearchPath &search,
                         std::vector<std::string> &searched);

// One file-backed mapping of a process (a line of /proc/PID/maps whose path
// is a file: not [heap], [stack] or anonymous).
struct ProcessMapping {
  uint64_t start = 0, end = 0, offset = 0;
  bool executable = false;
  std::string path;  // as the kernel shows it, " (deleted)" included
};
// The file-backed mappings of process `pid`, in address order; empty when
// it is gone (the runtime's user symbols read them too).
std::vector<ProcessMapping> process_mappings(int64_t pid);

// The files a running process has mapped executable, in address order, each
// once: its program, its libraries (those it opened with dlopen too) and its
// interpreter.
std::vector<std::string> mapped_files(int64_t pid);

// What a .library(...) probe point is about.
struct LibraryQuery {
  std::string program;  // the canonical path of the program
  // The files a process of it maps (process(PID) and -x PID), which also
  // name the libraries it opened with dlopen; empty otherwise.
  std::vector<std::string> mapped;
  LibrarySearchPath search;
};

// The library files (canonical paths) `written` names for `query.program`:
//  - a path (a '/', no wildcard): that file;
//  - a pattern with a '/': the program's libraries whose path matches it,
//    else the files it matches;
//  - a file name or a pattern of one: the program's libraries of that name
//    (as needed, or the file's), else, for a name, the file the dynamic
//    linker would find for the program (one it may open with dlopen).
// Empty with `error` set when none ("library 'LIB' not found for PROGRAM:
// ..."), or when the program is not an ELF program.
std::vector<std::string> resolve_library(const std::string &written, const LibraryQuery &query, std::string &error);

}  // namespace ntap::elf
