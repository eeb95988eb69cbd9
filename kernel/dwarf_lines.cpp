// Address → source line through libdw's dwfl, for one ELF file and for the
// running kernel's vmlinux.
#include "kernel/dwarf_lines.h"

#include <elfutils/libdwfl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "kernel/symbols.h"

namespace ntap {
namespace {

char *no_debuginfo_path = nullptr;

// Offline reporting: the file is laid out at its link-time addresses (an
// ET_REL file's sections one after another), nothing is read from a process.
const Dwfl_Callbacks kOfflineCallbacks = {
    .find_elf = nullptr,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &no_debuginfo_path,
};

Dwfl_Module *only_module(Dwfl *dwfl) {
  Dwfl_Module *found = nullptr;
  dwfl_getmodules(
      dwfl,
      [](Dwfl_Module *mod, void **, const char *, Dwarf_Addr, void *arg) -> int {
        *static_cast<Dwfl_Module **>(arg) = mod;
        return DWARF_CB_ABORT;
      },
      &found, 0);
  return found;
}

// The running address of `_text` from kallsyms, or nullopt (unreadable, or
// zeros because we are not root).
std::optional<uint64_t> running_text_address(const std::string &kallsyms) {
  FILE *f = std::fopen(kallsyms.c_str(), "re");
  if (!f) return std::nullopt;
  char line[512];
  std::optional<uint64_t> found;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long long address = 0;
    char type = 0;
    char name[256];
    if (std::sscanf(line, "%llx %c %255s", &address, &type, name) == 3 && std::strcmp(name, "_text") == 0) {
      if (address != 0) found = address;
      break;
    }
  }
  std::fclose(f);
  return found;
}

std::vector<std::string> default_vmlinux_paths() {
  utsname uts{};
  if (uname(&uts) != 0) return {};
  const std::string release = uts.release;
  return {"/usr/lib/debug/boot/vmlinux-" + release, "/usr/lib/debug/lib/modules/" + release + "/vmlinux",
          "/boot/vmlinux-" + release, "/lib/modules/" + release + "/build/vmlinux"};
}

}  // namespace

std::unique_ptr<DwarfLines> DwarfLines::open(const std::string &path, std::string &error) {
  std::unique_ptr<DwarfLines> lines(new DwarfLines());
  lines->dwfl_ = dwfl_begin(&kOfflineCallbacks);
  if (!lines->dwfl_) {
    error = dwfl_errmsg(-1);
    return nullptr;
  }
  dwfl_report_begin(lines->dwfl_);
  Dwfl_Module *mod = dwfl_report_offline(lines->dwfl_, "main", path.c_str(), -1);
  dwfl_report_end(lines->dwfl_, nullptr, nullptr);
  if (!mod) {
    error = path + ": " + dwfl_errmsg(-1);
    return nullptr;
  }
  return lines;
}

DwarfLines::~DwarfLines() {
  if (dwfl_) dwfl_end(dwfl_);
}

bool DwarfLines::has_debug_info() const {
  Dwfl_Module *mod = only_module(dwfl_);
  Dwarf_Addr bias = 0;
  return mod && dwfl_module_getdwarf(mod, &bias) != nullptr;
}

std::optional<SourceLine> DwarfLines::lookup(uint64_t address) const {
  Dwfl_Module *mod = dwfl_addrmodule(dwfl_, address);
  if (!mod) return std::nullopt;
  Dwfl_Line *line = dwfl_module_getsrc(mod, address);
  if (!line) return std::nullopt;
  int lineno = 0;
  const char *file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
  if (!file || lineno <= 0) return std::nullopt;
  return SourceLine{file, lineno};
}

std::optional<uint64_t> DwarfLines::symbol(const std::string &name) const {
  Dwfl_Module *mod = only_module(dwfl_);
  if (!mod) return std::nullopt;
  int count = dwfl_module_getsymtab(mod);
  for (int i = 0; i < count; ++i) {
    GElf_Sym sym;
    GElf_Addr value = 0;
    const char *n = dwfl_module_getsym_info(mod, i, &sym, &value, nullptr, nullptr, nullptr);
    if (n && name == n) return value;
  }
  return std::nullopt;
}

KernelSourceLines::KernelSourceLines(std::string vmlinux, std::string kallsyms)
    : vmlinux_(std::move(vmlinux)), kallsyms_(std::move(kallsyms)) {}

void KernelSourceLines::open_locked() {
  if (opened_) return;
  opened_ = true;
  std::vector<std::string> candidates = vmlinux_.empty() ? default_vmlinux_paths() : std::vector{vmlinux_};
  std::string tried;
  for (const std::string &path : candidates) {
    if (::access(path.c_str(), R_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path + " (absent)";
      continue;
    }
    std::string why;
    std::unique_ptr<DwarfLines> lines = DwarfLines::open(path, why);
    if (!lines || !lines->has_debug_info()) {
      tried += (tried.empty() ? "" : ", ") + path + (lines ? " (no debug info)" : " (" + why + ")");
      continue;
    }
    // KASLR moves the whole image: one offset, from `_text` in both.
    std::optional<uint64_t> linked = lines->symbol("_text");
    std::optional<uint64_t> running = running_text_address(kallsyms_);
    if (linked && running)
      bias_ = static_cast<int64_t>(*running - *linked);
    else if (linked) {
      tried += (tried.empty() ? "" : ", ") + path + " (" + kallsyms_ + " shows no _text address)";
      continue;
    }
    lines_ = std::move(lines);
    return;
  }
  error_ = "no kernel debug info: tried " + tried;
}

bool KernelSourceLines::available() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_locked();
  return lines_ != nullptr;
}

const std::string &KernelSourceLines::error() {
  std::lock_guard<std::mutex> lock(mutex_);
  open_locked();
  return error_;
}

std::optional<SourceLine> KernelSourceLines::lookup(uint64_t address) {
  std::lock_guard<std::mutex> lock(mutex_);
  open_locked();
  if (!lines_) return std::nullopt;
  auto cached = cache_.find(address);
  if (cached != cache_.end()) return cached->second;
  std::optional<SourceLine> found = lines_->lookup(address - static_cast<uint64_t>(bias_));
  if (cache_.size() < KernelSymbols::kMaxCachedAddresses) cache_.emplace(address, found);
  return found;
}

std::string KernelSourceLines::symfileline(uint64_t address) {
  std::optional<SourceLine> line = lookup(address);
  return line ? line->file + ":" + std::to_string(line->line) : hex_address(address);
}

std::string KernelSourceLines::symfile(uint64_t address) {
  std::optional<SourceLine> line = lookup(address);
  return line ? line->file : hex_address(address);
}

std::string KernelSourceLines::symline(uint64_t address) {
  std::optional<SourceLine> line = lookup(address);
  return line ? std::to_string(line->line) : hex_address(address);
}

}  // namespace ntap
