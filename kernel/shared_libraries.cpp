// Finding a program's shared libraries as the dynamic linker does (see
// shared_libraries.h): its dynamic section read with libelf, the search of
// glibc's ld.so (DT_RPATH, LD_LIBRARY_PATH, DT_RUNPATH, then the system's
// directories), and the .library(...) names and patterns over the result.
#include "kernel/shared_libraries.h"

#include <elf.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <set>

namespace ntap::elf {
namespace {

// The directories glibc's ld.so searches last on x86-64: Debian's multiarch
// ones, then the lib64 and lib of other distributions.
constexpr const char *kDefaultDirectories[] = {
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
};

// ld.so.conf includes nest; a loop of includes must still end.
constexpr int kMaxConfDepth = 8;

std::string canonical(const std::string &path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
}

std::string directory_of(const std::string &path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string &path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool has_wildcard(const std::string &text) { return text.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> split(const std::string &text, const char *separators) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find_first_of(separators, at);
    if (end == std::string::npos) end = text.size();
    if (end > at) parts.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return parts;
}

void add_once(std::vector<std::string> &list, const std::string &item) {
  for (const std::string &have : list)
    if (have == item) return;
  list.push_back(item);
}

// A run path directory with ld.so's substitutions made: $ORIGIN (the
// directory of the object that names it) and $PLATFORM. Empty when it uses
// one ntap does not know ($LIB, whose value distributions patch).
std::string expand_run_path(const std::string &dir, const std::string &origin) {
  std::string out;
  for (size_t i = 0; i < dir.size();) {
    if (dir[i] != '$') {
      out += dir[i++];
      continue;
    }
    const bool braced = i + 1 < dir.size() && dir[i + 1] == '{';
    size_t start = i + (braced ? 2 : 1), end = start;
    while (end < dir.size() && (std::isalnum(static_cast<unsigned char>(dir[end])) || dir[end] == '_')) ++end;
    const std::string token = dir.substr(start, end - start);
    if (braced && (end >= dir.size() || dir[end] != '}')) return "";
    if (token == "ORIGIN")
      out += origin;
    else if (token == "PLATFORM")
      out += "x86_64";
    else
      return "";
    i = end + (braced ? 1 : 0);
  }
  return out;
}

// Whether ld.so would take `path` as an x86-64 shared object: a regular
// file whose ELF header says 64-bit, little-endian, x86-64, ET_DYN. It skips
// files of another class or machine found first (a 32-bit libc in /lib).
bool loadable(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr header;
  const bool whole = ::read(fd, &header, sizeof header) == static_cast<ssize_t>(sizeof header);
  ::close(fd);
  return whole && std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 && header.e_ident[EI_CLASS] == ELFCLASS64 &&
         header.e_ident[EI_DATA] == ELFDATA2LSB && header.e_machine == EM_X86_64 && header.e_type == ET_DYN;
}

void read_conf(const std::string &path, int depth, std::vector<std::string> &dirs) {
  if (depth > kMaxConfDepth) return;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::vector<std::string> words = split(line, " \t\r");
    if (words.empty() || words[0] == "hwcap") continue;
    if (words[0] == "include") {
      for (size_t i = 1; i < words.size(); ++i) {
        const std::string pattern = words[i][0] == '/' ? words[i] : directory_of(path) + "/" + words[i];
        glob_t found{};
        if (::glob(pattern.c_str(), 0, nullptr, &found) == 0)
          for (size_t j = 0; j < found.gl_pathc; ++j) read_conf(found.gl_pathv[j], depth + 1, dirs);
        ::globfree(&found);
      }
      continue;
    }
    // Directories, separated as ldconfig allows; an old "DIR=TYPE" names DIR.
    for (const std::string &word : split(line, " \t\r:,"))
      if (word[0] == '/') add_once(dirs, word.substr(0, word.find('=')));
  }
}

// "libselinux.so.1, libc.so.6, /lib64/ld-linux-x86-64.so.2", and the
// needed libraries found nowhere.
std::string loaded_names(const std::vector<LoadedLibrary> &libraries, const std::vector<std::string> &missing) {
  std::string text;
  for (const LoadedLibrary &library : libraries) text += (text.empty() ? "" : ", ") + library.name;
  if (text.empty()) text = "none";
  for (const std::string &name : missing) text += ", " + name + " (found nowhere)";
  return text;
}

std::string joined(const std::vector<std::string> &items) {
  std::string text;
  for (const std::string &item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

}  // namespace

bool read_dynamic_info(const std::string &path, DynamicInfo &info, std::string &error) {
  elf_version(EV_CURRENT);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  Elf *elf = elf_begin(fd, ELF_C_READ, nullptr);
  GElf_Ehdr ehdr;
  if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr)) {
    if (elf) elf_end(elf);
    ::close(fd);
    error = "'" + path + "' is not an ELF file";
    return false;
  }
  info = DynamicInfo{};
  size_t phnum = 0, raw_size = 0;
  elf_getphdrnum(elf, &phnum);
  const char *raw = elf_rawfile(elf, &raw_size);
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr phdr;
    if (!gelf_getphdr(elf, static_cast<int>(i), &phdr)) continue;
    if (phdr.p_type == PT_DYNAMIC) info.dynamic = true;
    if (phdr.p_type == PT_INTERP && raw && phdr.p_offset < raw_size)
      info.interpreter = std::string(raw + phdr.p_offset, strnlen(raw + phdr.p_offset, raw_size - phdr.p_offset));
  }
  for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNAMIC || !shdr.sh_entsize) continue;
    info.dynamic = true;
    Elf_Data *data = elf_getdata(scn, nullptr);
    for (size_t i = 0; data && i < shdr.sh_size / shdr.sh_entsize; ++i) {
      GElf_Dyn dyn;
      if (!gelf_getdyn(data, static_cast<int>(i), &dyn) || dyn.d_tag == DT_NULL) continue;
      if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE)) info.executable = true;
      if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH) continue;
      const char *text = elf_strptr(elf, shdr.sh_link, dyn.d_un.d_val);
      if (!text) continue;
      if (dyn.d_tag == DT_NEEDED) info.needed.push_back(text);
      if (dyn.d_tag == DT_RPATH) info.rpath = split(text, ":");
      if (dyn.d_tag == DT_RUNPATH) info.runpath = split(text, ":");
    }
  }
  if (ehdr.e_type == ET_EXEC || !info.interpreter.empty()) info.executable = true;
  // ld.so ignores an object's DT_RPATH when it has a DT_RUNPATH.
  if (!info.runpath.empty()) info.rpath.clear();
  elf_end(elf);
  ::close(fd);
  return true;
}

std::vector<std::string> ld_so_conf_directories(const std::string &conf_path) {
  std::vector<std::string> dirs;
  read_conf(conf_path, 0, dirs);
  return dirs;
}

LibrarySearchPath LibrarySearchPath::from_system() {
  LibrarySearchPath search;
  if (const char *env = std::getenv("LD_LIBRARY_PATH")) search.ld_library_path = split(env, ":;");
  search.system = ld_so_conf_directories("/etc/ld.so.conf");
  for (const char *dir : kDefaultDirectories) add_once(search.system, dir);
  return search;
}

std::string find_library(const std::string &name, const std::vector<Loader> &loaders, const LibrarySearchPath &search,
                         std::vector<std::string> &searched) {
  auto in = [&](const std::vector<std::string> &dirs, const std::string &origin) -> std::string {
    for (const std::string &written : dirs) {
      const std::string dir = expand_run_path(written, origin);
      if (dir.empty()) continue;
      add_once(searched, dir);
      const std::string candidate = dir + "/" + name;
      if (loadable(candidate)) return candidate;
    }
    return "";
  };
  std::string found;
  const bool has_runpath = !loaders.empty() && loaders.front().info && !loaders.front().info->runpath.empty();
  if (!has_runpath)
    for (const Loader &loader : loaders)
      if (loader.info && found.empty()) found = in(loader.info->rpath, directory_of(loader.path));
  if (found.empty()) found = in(search.ld_library_path, "");
  if (found.empty() && has_runpath) found = in(loaders.front().info->runpath, directory_of(loaders.front().path));
  if (found.empty()) found = in(search.system, "");
  return found;
}

bool libraries_of(const std::string &program, const LibrarySearchPath &search, ProgramLibraries &out,
                  std::string &error) {
  // Each object loaded, with the one that needed it (its loader).
  struct Node {
    std::string path;
    DynamicInfo info;
    size_t parent;
  };
  constexpr size_t kRoot = SIZE_MAX;
  std::deque<Node> nodes;
  nodes.push_back({program, {}, kRoot});
  if (!read_dynamic_info(program, nodes.front().info, error)) return false;
  out = ProgramLibraries{};
  out.dynamic = nodes.front().info.dynamic;
  std::set<std::string> files{canonical(program)}, names;
  for (size_t next = 0; next < nodes.size(); ++next) {
    std::vector<Loader> loaders;
    for (size_t at = next; at != kRoot; at = nodes[at].parent) loaders.push_back({nodes[at].path, &nodes[at].info});
    const std::vector<std::string> needed = nodes[next].info.needed;
    for (const std::string &name : needed) {
      // ld.so loads a name once, however many objects need it.
      if (!names.insert(name).second) continue;
      std::vector<std::string> searched;
      const std::string path =
          name.find('/') != std::string::npos ? name : find_library(name, loaders, search, searched);
      if (path.empty() || !loadable(path)) {
        add_once(out.missing, name);
        continue;
      }
      const std::string file = canonical(path);
      if (!files.insert(file).second) continue;
      out.loaded.push_back({name, path, file});
      Node node{path, {}, next};
      std::string ignored;
      read_dynamic_info(path, node.info, ignored);
      nodes.push_back(std::move(node));
    }
  }
  // ld.so itself, which the needed names only sometimes reach (libc's).
  const std::string &interpreter = nodes.front().info.interpreter;
  if (!interpreter.empty() && files.insert(canonical(interpreter)).second)
    out.loaded.push_back({interpreter, interpreter, canonical(interpreter)});
  return true;
}

std::vector<ProcessMapping> process_mappings(int64_t pid) {
  std::vector<ProcessMapping> mappings;
  std::ifstream file("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(file, line)) {
    // start-end perms offset dev inode path
    unsigned long long start = 0, end = 0, offset = 0;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &path_at) < 4)
      continue;
    if (path_at <= 0 || static_cast<size_t>(path_at) >= line.size() || line[static_cast<size_t>(path_at)] != '/')
      continue;
    mappings.push_back({start, end, offset, perms[2] == 'x', line.substr(static_cast<size_t>(path_at))});
  }
  return mappings;
}

std::vector<std::string> mapped_files(int64_t pid) {
  std::vector<std::string> files;
  for (const ProcessMapping &m : process_mappings(pid)) {
    const std::string &path = m.path;
    if (!m.executable || (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0)) continue;
    add_once(files, path);
  }
  return files;
}

std::vector<std::string> resolve_library(const std::string &written, const LibraryQuery &query, std::string &error) {
  const std::string &program = query.program;
  const std::string failed = "library '" + written + "' not found for " + program + ": ";
  const bool pattern = has_wildcard(written), path = written.find('/') != std::string::npos;
  DynamicInfo info;
  if (!read_dynamic_info(program, info, error)) return {};
  if (!info.executable) {
    // No process runs it: a probe filtered on its processes never fires.
    error = "'" + program + "' is a shared library, not a program: .library(\"" + written +
            "\") probes fire in the processes that run a program";
    return {};
  }
  if (path && !pattern) {
    struct stat st;
    if (::stat(written.c_str(), &st) != 0) {
      error = failed + std::strerror(errno);
      return {};
    }
    if (!S_ISREG(st.st_mode)) {
      error = failed + "'" + written + "' is not a regular file";
      return {};
    }
    return {canonical(written)};
  }

  ProgramLibraries libraries;
  if (!libraries_of(program, query.search, libraries, error)) {
    error = failed + error;
    return {};
  }
  // A running process's mappings add what it opened with dlopen.
  std::set<std::string> known;
  for (const LoadedLibrary &library : libraries.loaded) known.insert(library.canonical);
  for (const std::string &mapped : query.mapped) {
    const std::string file = canonical(mapped);
    if (file != program && known.insert(file).second) libraries.loaded.push_back({mapped, mapped, file});
  }
  if (!libraries.dynamic && libraries.loaded.empty()) {
    error = failed + "the program is statically linked (it loads no shared library)";
    return {};
  }

  std::vector<std::string> files;
  for (const LoadedLibrary &library : libraries.loaded) {
    auto matches = [&](const std::string &text) { return ::fnmatch(written.c_str(), text.c_str(), 0) == 0; };
    const bool match =
        path ? matches(library.path) || matches(library.canonical)
             : matches(library.name) || matches(base_name(library.path)) || matches(base_name(library.canonical));
    if (match) add_once(files, library.canonical);
  }
  if (!files.empty()) return files;

  if (pattern && path) {
    // As stap does last: the files the pattern names, loaded or not.
    glob_t found{};
    if (::glob(written.c_str(), 0, nullptr, &found) == 0)
      for (size_t i = 0; i < found.gl_pathc; ++i)
        if (loadable(found.gl_pathv[i])) add_once(files, canonical(found.gl_pathv[i]));
    ::globfree(&found);
    if (!files.empty()) return files;
  }
  if (pattern) {
    error = failed + "no library the program loads matches it (" + loaded_names(libraries.loaded, libraries.missing) +
            ")" + (path ? ", nor does any file" : "");
    return {};
  }
  // A name the program does not need: the file ld.so would open for it, as
  // for a dlopen of that name.
  std::vector<std::string> searched;
  const std::string found = find_library(written, {{program, &info}}, query.search, searched);
  if (!found.empty()) return {canonical(found)};
  error = failed + "searched " + joined(searched) + "; the program loads " +
          loaded_names(libraries.loaded, libraries.missing);
  return {};
}

}  // namespace ntap::elf
