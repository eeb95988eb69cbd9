// Reading a program's ELF file with libelf: symbols, segments, SDT notes,
// PLT entries.
#include "kernel/elf_symbols.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "kernel/file_cache.h"

namespace ntap::elf {
namespace {

constexpr uint32_t kSdtNoteType = 3;  // NT_STAPSDT
constexpr std::string_view kSdtNoteName = "stapsdt";

struct RegisterName {
  const char *names[4];
  int dwarf;
};
// x86-64 general registers in their 64/32/16/8-bit spellings, with the
// DWARF numbers of the System V psABI.
constexpr RegisterName kRegisters[] = {
    {{"rax", "eax", "ax", "al"}, 0},        {{"rdx", "edx", "dx", "dl"}, 1},
    {{"rcx", "ecx", "cx", "cl"}, 2},        {{"rbx", "ebx", "bx", "bl"}, 3},
    {{"rsi", "esi", "si", "sil"}, 4},       {{"rdi", "edi", "di", "dil"}, 5},
    {{"rbp", "ebp", "bp", "bpl"}, 6},       {{"rsp", "esp", "sp", "spl"}, 7},
    {{"r8", "r8d", "r8w", "r8b"}, 8},       {{"r9", "r9d", "r9w", "r9b"}, 9},
    {{"r10", "r10d", "r10w", "r10b"}, 10},  {{"r11", "r11d", "r11w", "r11b"}, 11},
    {{"r12", "r12d", "r12w", "r12b"}, 12},  {{"r13", "r13d", "r13w", "r13b"}, 13},
    {{"r14", "r14d", "r14w", "r14b"}, 14},  {{"r15", "r15d", "r15w", "r15b"}, 15},
    {{"rip", "eip", nullptr, nullptr}, 16},
};

bool parse_integer(std::string_view text, int64_t &out) {
  if (text.empty()) return false;
  std::string copy(text);
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(copy.c_str(), &end, 0);
  if (errno || *end) return false;
  out = v;
  return true;
}

// "%reg" → its DWARF number, or -1.
int parse_register(std::string_view text) {
  if (text.size() < 2 || text[0] != '%') return -1;
  return dwarf_register_of(text.substr(1));
}

bool parse_one_arg(std::string_view text, SdtArg &arg) {
  const size_t at = text.find('@');
  if (at == std::string_view::npos) return false;
  int64_t size = 0;
  if (!parse_integer(text.substr(0, at), size) || size == 0 || size < -8 || size > 8) return false;
  arg.is_signed = size < 0;
  arg.size = static_cast<int>(size < 0 ? -size : size);
  std::string_view operand = text.substr(at + 1);
  if (!operand.empty() && operand[0] == '$') {
    arg.kind = SdtArg::Kind::Constant;
    return parse_integer(operand.substr(1), arg.value);
  }
  if (!operand.empty() && operand[0] == '%') {
    arg.kind = SdtArg::Kind::Register;
    arg.dwarf_register = parse_register(operand);
    return arg.dwarf_register >= 0 && arg.dwarf_register != 16;
  }
  // DISP(%reg): an index register ("(%rax,%rbx,4)") or a symbol displacement
  // ("counter(%rip)") is not understood.
  const size_t open = operand.find('(');
  if (open == std::string_view::npos || operand.back() != ')') return false;
  std::string_view inside = operand.substr(open + 1, operand.size() - open - 2);
  if (inside.find(',') != std::string_view::npos) return false;
  arg.kind = SdtArg::Kind::Memory;
  arg.dwarf_register = parse_register(inside);
  arg.value = 0;
  if (open > 0 && !parse_integer(operand.substr(0, open), arg.value)) return false;
  return arg.dwarf_register >= 0 && arg.dwarf_register != 16;
}

// The imported function each GOT slot receives the address of, from the
// dynamic relocations: R_X86_64_JUMP_SLOT (.rela.plt, the slots of PLT
// entries) and R_X86_64_GLOB_DAT (.rela.dyn: a function the program also takes
// the address of is called through a .plt.got entry and such a slot).
std::map<uint64_t, std::string> imported_got_slots(Elf *elf) {
  std::map<uint64_t, std::string> slots;
  for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr, symbols_shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA || !shdr.sh_entsize) continue;
    Elf_Scn *symbols = elf_getscn(elf, shdr.sh_link);
    if (!symbols || !gelf_getshdr(symbols, &symbols_shdr) || symbols_shdr.sh_type != SHT_DYNSYM) continue;
    Elf_Data *relocations = elf_getdata(scn, nullptr);
    Elf_Data *symbol_data = elf_getdata(symbols, nullptr);
    if (!relocations || !symbol_data) continue;
    for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; ++i) {
      GElf_Rela rela;
      GElf_Sym sym;
      if (!gelf_getrela(relocations, static_cast<int>(i), &rela)) continue;
      const uint64_t type = GELF_R_TYPE(rela.r_info), symbol = GELF_R_SYM(rela.r_info);
      if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || symbol == 0) continue;
      if (!gelf_getsym(symbol_data, static_cast<int>(symbol), &sym)) continue;
      const char *name = elf_strptr(elf, symbols_shdr.sh_link, sym.st_name);
      if (name && *name) slots.emplace(rela.r_offset, name);
    }
  }
  return slots;
}

// The GOT slot the PLT entry at `address` jumps through: the entry is
// `jmp *DISP(%rip)` (ff 25 disp32), after an endbr64 (f3 0f 1e fa) in entries
// built for IBT and a bnd prefix (f2) where there is one. Nothing for other
// code: PLT0, and the lazy-binding entries of an IBT .plt, which push an index
// and jump to PLT0 (calls go to their .plt.sec twins).
std::optional<uint64_t> got_slot_of_entry(const uint8_t *entry, size_t size, uint64_t address) {
  constexpr uint8_t kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
  size_t at = 0;
  if (size >= sizeof kEndbr64 && std::memcmp(entry, kEndbr64, sizeof kEndbr64) == 0) at = sizeof kEndbr64;
  if (at < size && entry[at] == 0xf2) ++at;
  if (at + 6 > size || entry[at] != 0xff || entry[at + 1] != 0x25) return std::nullopt;
  int32_t displacement;
  std::memcpy(&displacement, entry + at + 2, sizeof displacement);
  return address + at + 6 + static_cast<int64_t>(displacement);  // rip-relative: from the next instruction
}

// Every PLT entry of an imported function, by address. Which slot an entry
// uses is read from its own jump rather than from its position: that holds
// for each layout the linker writes (.plt entries after the 16-byte PLT0;
// .plt.sec beside a lazy-binding .plt with -z ibtplt; .plt.got for
// functions whose address is also taken), whatever order .rela.plt lists
// the slots in and whatever other relocations (IRELATIVE) it holds.
std::vector<PltEntry> read_plt_entries(Elf *elf, size_t shstrndx) {
  const std::map<uint64_t, std::string> slots = imported_got_slots(elf);
  std::vector<PltEntry> entries;
  if (slots.empty()) return entries;
  for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS) continue;
    const char *name = elf_strptr(elf, shstrndx, shdr.sh_name);
    const std::string_view section = name ? name : "";
    if (section != ".plt" && section != ".plt.sec" && section != ".plt.got") continue;
    Elf_Data *data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) continue;
    const auto *bytes = static_cast<const uint8_t *>(data->d_buf);
    const size_t entry_size = shdr.sh_entsize ? shdr.sh_entsize : 16;
    const size_t first = section == ".plt" ? 16 : 0;  // PLT0, which calls the dynamic linker
    for (size_t at = first; at + entry_size <= data->d_size; at += entry_size) {
      std::optional<uint64_t> slot = got_slot_of_entry(bytes + at, entry_size, shdr.sh_addr + at);
      auto imported = slot ? slots.find(*slot) : slots.end();
      if (imported != slots.end()) entries.push_back({imported->second, shdr.sh_addr + at});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const PltEntry &a, const PltEntry &b) { return a.address < b.address; });
  return entries;
}

struct ElfHandle {
  int fd = -1;
  Elf *elf = nullptr;
  ~ElfHandle() {
    if (elf) elf_end(elf);
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

int dwarf_register_of(std::string_view name) {
  for (const RegisterName &r : kRegisters)
    for (const char *spelling : r.names)
      if (spelling && name == spelling) return r.dwarf;
  return -1;
}

bool parse_sdt_args(std::string_view text, std::vector<SdtArg> &args, std::string &error) {
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos >= text.size()) break;
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view one = text.substr(pos, end - pos);
    SdtArg arg;
    if (!parse_one_arg(one, arg)) {
      error = "cannot read SDT operand '" + std::string(one) + "'";
      return false;
    }
    args.push_back(arg);
    pos = end;
  }
  return true;
}

std::unique_ptr<ElfFile> ElfFile::open(const std::string &path, std::string &error) {
  elf_version(EV_CURRENT);
  ElfHandle h;
  h.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (h.fd < 0) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return nullptr;
  }
  h.elf = elf_begin(h.fd, ELF_C_READ, nullptr);
  GElf_Ehdr ehdr;
  if (!h.elf || elf_kind(h.elf) != ELF_K_ELF || !gelf_getehdr(h.elf, &ehdr)) {
    error = "'" + path + "' is not an ELF file";
    return nullptr;
  }
  if (ehdr.e_machine != EM_X86_64) {
    error = "'" + path + "' is not an x86-64 program (process probes read x86-64 registers)";
    return nullptr;
  }
  std::unique_ptr<ElfFile> file(new ElfFile());
  file->path_ = path;
  file->position_independent_ = ehdr.e_type == ET_DYN;

  size_t phnum = 0;
  elf_getphdrnum(h.elf, &phnum);
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(h.elf, static_cast<int>(i), &phdr) && phdr.p_type == PT_LOAD)
      file->segments_.push_back({phdr.p_vaddr, phdr.p_memsz, phdr.p_offset, phdr.p_filesz});
  }

  size_t shstrndx = 0;
  elf_getshdrstrndx(h.elf, &shstrndx);
  Elf_Scn *symtab = nullptr, *dynsym = nullptr, *notes = nullptr;
  uint64_t sdt_base = 0;
  bool has_sdt_base = false;
  for (Elf_Scn *scn = elf_nextscn(h.elf, nullptr); scn; scn = elf_nextscn(h.elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    const char *name = elf_strptr(h.elf, shstrndx, shdr.sh_name);
    std::string_view section = name ? name : "";
    if (shdr.sh_type == SHT_SYMTAB) symtab = scn;
    if (shdr.sh_type == SHT_DYNSYM) dynsym = scn;
    if (shdr.sh_type == SHT_NOTE && section == ".note.stapsdt") notes = scn;
    if (section == ".stapsdt.base") {
      sdt_base = shdr.sh_addr;
      has_sdt_base = true;
    }
    if (section == ".debug_info") file->has_debug_info_ = true;
  }

  // .symtab is the full table; a stripped program has only .dynsym.
  if (Elf_Scn *scn = symtab ? symtab : dynsym) {
    GElf_Shdr shdr;
    gelf_getshdr(scn, &shdr);
    Elf_Data *data = elf_getdata(scn, nullptr);
    const size_t count = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
    for (size_t i = 0; data && i < count; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
      if (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC) continue;
      if (sym.st_value == 0 || sym.st_shndx == SHN_UNDEF) continue;
      const char *name = elf_strptr(h.elf, shdr.sh_link, sym.st_name);
      if (!name || !*name) continue;
      file->functions_.push_back({name, sym.st_value, sym.st_size});
    }
  }
  std::sort(file->functions_.begin(), file->functions_.end(), [](const Symbol &a, const Symbol &b) {
    return a.address != b.address ? a.address < b.address : a.name < b.name;
  });

  file->plt_ = read_plt_entries(h.elf, shstrndx);

  if (notes) {
    Elf_Data *data = elf_getdata(notes, nullptr);
    size_t offset = 0, name_offset = 0, desc_offset = 0;
    GElf_Nhdr nhdr;
    while (data && (offset = gelf_getnote(data, offset, &nhdr, &name_offset, &desc_offset)) > 0) {
      const char *base = static_cast<const char *>(data->d_buf);
      if (nhdr.n_type != kSdtNoteType || nhdr.n_namesz != kSdtNoteName.size() + 1 ||
          std::string_view(base + name_offset, kSdtNoteName.size()) != kSdtNoteName || nhdr.n_descsz < 24)
        continue;
      const char *desc = base + desc_offset;
      uint64_t words[3];
      std::memcpy(words, desc, sizeof words);
      const char *strings = desc + 24, *end = desc + nhdr.n_descsz;
      SdtNote note;
      auto next_string = [&](std::string &out) {
        const void *nul = std::memchr(strings, 0, static_cast<size_t>(end - strings));
        if (!nul) return false;
        out.assign(strings, static_cast<const char *>(nul));
        strings = static_cast<const char *>(nul) + 1;
        return true;
      };
      if (!next_string(note.provider) || !next_string(note.name)) continue;
      next_string(note.arg_text);
      // Prelinking moves .stapsdt.base; the note records where it was.
      note.address = has_sdt_base ? words[0] + (sdt_base - words[1]) : words[0];
      note.semaphore = words[2] ? (has_sdt_base ? words[2] + (sdt_base - words[1]) : words[2]) : 0;
      if (!parse_sdt_args(note.arg_text, note.args, note.arg_error)) note.args.clear();
      file->notes_.push_back(std::move(note));
    }
  }
  return file;
}

std::vector<Symbol> ElfFile::match_functions(std::string_view pattern) const {
  std::string glob(pattern);
  std::map<std::string, Symbol> by_name;
  for (const Symbol &s : functions_)
    if (::fnmatch(glob.c_str(), s.name.c_str(), 0) == 0) by_name.emplace(s.name, s);
  std::vector<Symbol> out;
  for (auto &[name, symbol] : by_name) out.push_back(symbol);
  return out;
}

const Symbol *ElfFile::function_at(uint64_t address) const {
  auto it = std::upper_bound(functions_.begin(), functions_.end(), address,
                             [](uint64_t a, const Symbol &s) { return a < s.address; });
  while (it != functions_.begin()) {
    --it;
    if (address < it->address + std::max<uint64_t>(it->size, 1)) return &*it;
    if (it->size) break;
  }
  return nullptr;
}

std::optional<uint64_t> ElfFile::file_offset(uint64_t address) const {
  for (const Segment &s : segments_)
    if (address >= s.vaddr && address < s.vaddr + s.filesz) return address - s.vaddr + s.offset;
  return std::nullopt;
}

std::optional<uint64_t> ElfFile::address_of_offset(uint64_t offset) const {
  for (const Segment &s : segments_)
    if (offset >= s.offset && offset < s.offset + s.filesz) return offset - s.offset + s.vaddr;
  return std::nullopt;
}

const ElfFile *cached_elf(const std::string &path, std::string &error) { return open_cached<ElfFile>(path, error); }

namespace {

bool is_executable_file(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string canonical(const std::string &path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
}

}  // namespace

std::string resolve_program_path(const std::string &name, std::string &error) {
  if (name.empty()) {
    error = "empty program name";
    return "";
  }
  if (name.find('/') != std::string::npos) {
    struct stat st;
    if (::stat(name.c_str(), &st) != 0) {
      error = "cannot find '" + name + "': " + std::strerror(errno);
      return "";
    }
    if (!S_ISREG(st.st_mode)) {
      error = "'" + name + "' is not a regular file";
      return "";
    }
    return canonical(name);
  }
  const char *env = std::getenv("PATH");
  std::string path_list = env ? env : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= path_list.size()) {
    size_t end = path_list.find(':', pos);
    if (end == std::string::npos) end = path_list.size();
    std::string dir = path_list.substr(pos, end - pos);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return canonical(candidate);
    pos = end + 1;
  }
  error = "cannot find '" + name + "' on $PATH";
  return "";
}

std::string executable_of_pid(int64_t pid, std::string &error) {
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  char buf[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0) {
    error = "cannot find the program of process " + std::to_string(pid) + ": " + std::strerror(errno);
    return "";
  }
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace ntap::elf
