// Reading kernel modules' ELF symbol tables with libelf.
#include "kernel/module_elf.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace ntap {
namespace {

// An open ELF file, closed with its descriptor.
struct ElfFile {
  int fd = -1;
  Elf *elf = nullptr;
  explicit ElfFile(const std::string &path) {
    elf_version(EV_CURRENT);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) elf = elf_begin(fd, ELF_C_READ, nullptr);
  }
  ~ElfFile() {
    if (elf) elf_end(elf);
    if (fd >= 0) ::close(fd);
  }
  ElfFile(const ElfFile &) = delete;
  ElfFile &operator=(const ElfFile &) = delete;
};

}  // namespace

std::optional<std::unordered_map<std::string, uint64_t>> elf_symbol_sizes(const std::string &path, std::string &error) {
  ElfFile file(path);
  if (file.fd < 0) {
    error = path + ": cannot open";
    return std::nullopt;
  }
  if (!file.elf || elf_kind(file.elf) != ELF_K_ELF) {
    error = path + ": not an ELF file (compressed modules are not read)";
    return std::nullopt;
  }
  std::unordered_map<std::string, uint64_t> sizes;
  bool has_symtab = false;
  for (Elf_Scn *scn = elf_nextscn(file.elf, nullptr); scn; scn = elf_nextscn(file.elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB || shdr.sh_entsize == 0) continue;
    has_symtab = true;
    Elf_Data *data = elf_getdata(scn, nullptr);
    if (!data) continue;
    size_t count = shdr.sh_size / shdr.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym) || sym.st_size == 0) continue;
      int type = GELF_ST_TYPE(sym.st_info);
      if (type != STT_FUNC && type != STT_OBJECT) continue;
      const char *name = elf_strptr(file.elf, shdr.sh_link, sym.st_name);
      if (name && *name) sizes.emplace(name, sym.st_size);
    }
  }
  if (!has_symtab) {
    error = path + ": no symbol table";
    return std::nullopt;
  }
  return sizes;
}

std::string find_module_elf(const std::string &module, std::string &error, const std::string &modules_dep) {
  std::string dep_path = modules_dep;
  std::string base;
  if (dep_path.empty()) {
    utsname uts{};
    if (uname(&uts) != 0) {
      error = "uname failed";
      return {};
    }
    base = std::string("/lib/modules/") + uts.release + "/";
    dep_path = base + "modules.dep";
  } else {
    base = dep_path.substr(0, dep_path.rfind('/') + 1);
  }
  std::ifstream in(dep_path);
  if (!in) {
    error = "cannot read " + dep_path;
    return {};
  }
  std::string wanted = module;
  std::replace(wanted.begin(), wanted.end(), '-', '_');
  for (std::string line; std::getline(in, line);) {
    std::string path = line.substr(0, line.find(':'));
    if (module_name_of(path) != wanted) continue;
    return path.empty() || path[0] == '/' ? path : base + path;
  }
  error = "no module " + module + " in " + dep_path;
  return {};
}

std::string module_name_of(std::string path) {
  path = path.substr(path.rfind('/') + 1);
  for (const char *suffix : {".ko.xz", ".ko.zst", ".ko.gz", ".ko"}) {
    std::string s(suffix);
    if (path.size() > s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0) {
      path.resize(path.size() - s.size());
      std::replace(path.begin(), path.end(), '-', '_');
      return path;
    }
  }
  return {};
}

bool is_relocatable_elf(const std::string &path) {
  ElfFile file(path);
  if (!file.elf || elf_kind(file.elf) != ELF_K_ELF) return false;
  GElf_Ehdr ehdr;
  return gelf_getehdr(file.elf, &ehdr) && ehdr.e_type == ET_REL;
}

}  // namespace ntap
