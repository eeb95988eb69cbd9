#include "kernel/symbols.h"

#include <bpf/btf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>

#include "kernel/module_elf.h"

namespace ntap {
namespace {

constexpr std::string_view kKernelModule = "kernel";

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Hex digit values, -1 for anything else: a table beats branches on the
// ~2 M digits of a real kallsyms.
constexpr auto kHexDigits = [] {
  std::array<int8_t, 256> table{};
  for (auto &v : table) v = -1;
  for (int c = '0'; c <= '9'; ++c) table[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) table[c] = static_cast<int8_t>(c - 'A' + 10);
  return table;
}();

int hex_value(char c) { return kHexDigits[static_cast<unsigned char>(c)]; }

// Code and data symbols; not absolute (a/A: per-CPU offsets and the like),
// undefined (U) or debugging ones.
bool keeps_type(char type) {
  switch (type) {
    case 't': case 'T': case 'w': case 'W':
    case 'd': case 'D': case 'b': case 'B': case 'r': case 'R': case 'v': case 'V':
      return true;
    default:
      return false;
  }
}

bool read_whole_file(const std::string &path, std::string &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // procfs reports size 0, so grow by chunks rather than trusting fstat.
  constexpr size_t kChunk = 1 << 20;
  out.clear();
  size_t used = 0;
  for (;;) {
    if (out.size() - used < kChunk) out.resize(used + 4 * kChunk);
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(used);
  return true;
}

}  // namespace

std::string hex_address(uint64_t address) {
  char buf[2 + 16];
  buf[0] = '0';
  buf[1] = 'x';
  auto [end, ec] = std::to_chars(buf + 2, buf + sizeof buf, address, 16);
  return std::string(buf, end);
}

KernelSymbols::KernelSymbols(std::string kallsyms_path) : path_(std::move(kallsyms_path)) {}

KernelSymbols::~KernelSymbols() {
  if (prefetcher_.joinable()) prefetcher_.join();
}

void KernelSymbols::prefetch() {
  std::lock_guard lock(mutex_);
  if (loaded_ || prefetcher_.joinable()) return;
  prefetcher_ = std::thread([this] { load(); });
}

size_t KernelSymbols::load() {
  std::lock_guard lock(mutex_);
  load_locked();
  return entries_.size();
}

void KernelSymbols::load_locked() {
  if (loaded_) return;
  loaded_ = true;
  auto start = std::chrono::steady_clock::now();
  bool readable = read_whole_file(path_, text_);
  read_ms_ = elapsed_ms(start);
  start = std::chrono::steady_clock::now();
  if (readable) parse_locked();
  apply_module_sizes_locked();
  parse_ms_ = elapsed_ms(start);
}

void KernelSymbols::use_module_elf(const std::string &module, const std::string &elf_path) {
  std::lock_guard lock(mutex_);
  module_elfs_.emplace_back(module, elf_path);
}

void KernelSymbols::use_all_module_elfs() {
  std::lock_guard lock(mutex_);
  all_module_elfs_ = true;
}

std::vector<std::string> KernelSymbols::module_errors() {
  std::lock_guard lock(mutex_);
  load_locked();
  return module_errors_;
}

// A module symbol's size becomes its ELF st_size: kallsyms has no sizes, and
// the distance to the next entry overstates functions followed by padding
// and leaves the module's last symbol without one.
void KernelSymbols::apply_module_sizes_locked() {
  std::vector<std::pair<std::string, std::string>> wanted = module_elfs_;
  if (all_module_elfs_)
    for (size_t m = 1; m < modules_.size(); ++m) {
      std::string name(modules_[m]);
      bool listed = std::any_of(wanted.begin(), wanted.end(), [&](const auto &w) { return w.first == name; });
      if (!listed) wanted.emplace_back(name, "");
    }
  for (const auto &[module, given_path] : wanted) {
    auto index = std::find(modules_.begin(), modules_.end(), module);
    if (index == modules_.end() || index == modules_.begin()) {
      module_errors_.push_back(module + ": not loaded (no [" + module + "] symbols in " + path_ + ")");
      continue;
    }
    std::string error;
    std::string path = given_path.empty() ? find_module_elf(module, error) : given_path;
    std::optional<std::unordered_map<std::string, uint64_t>> sizes;
    if (!path.empty()) sizes = elf_symbol_sizes(path, error);
    if (!sizes) {
      module_errors_.push_back(module + ": " + error);
      continue;
    }
    const uint16_t module_index = static_cast<uint16_t>(index - modules_.begin());
    for (Entry &e : entries_) {
      if (e.module != module_index) continue;
      auto size = sizes->find(std::string(text_.data() + e.name_offset, e.name_length));
      if (size != sizes->end()) e.size = size->second;
    }
  }
}

void KernelSymbols::parse_locked() {
  modules_.assign(1, kKernelModule);
  init_text_start_ = init_text_end_ = 0;
  init_functions_.clear();
  entries_.clear();
  entries_.reserve(text_.size() / 40);
  std::unordered_map<std::string_view, uint16_t> module_index;
  std::string_view last_module;
  uint16_t last_module_index = 0;

  const char *base = text_.data();
  const char *p = base;
  const char *end = base + text_.size();
  while (p < end) {
    const char *line_end = static_cast<const char *>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!line_end) line_end = end;
    const char *next_line = line_end + (line_end < end ? 1 : 0);

    // "ffffffff81000000 T _stext" or "... t name\t[module]"
    uint64_t address = 0;
    for (int digit; p < line_end && (digit = hex_value(*p)) >= 0; ++p)
      address = (address << 4) | static_cast<uint64_t>(digit);
    if (line_end - p < 4 || p[0] != ' ' || p[2] != ' ' || address == 0 || !keeps_type(p[1])) {
      p = next_line;
      continue;
    }
    const char *name = p + 3;
    const char *name_end = static_cast<const char *>(std::memchr(name, '\t', static_cast<size_t>(line_end - name)));
    uint16_t module = 0;
    if (name_end) {
      const char *m = name_end + 1;
      const char *m_end = line_end;
      if (m < m_end && *m == '[') ++m;
      if (m < m_end && m_end[-1] == ']') --m_end;
      std::string_view module_name(m, static_cast<size_t>(m_end - m));
      if (module_name != last_module) {
        auto [it, added] = module_index.try_emplace(module_name, static_cast<uint16_t>(modules_.size()));
        if (added) modules_.push_back(module_name);
        last_module = module_name;
        last_module_index = it->second;
      }
      module = last_module_index;
    } else {
      name_end = line_end;
    }
    size_t name_length = static_cast<size_t>(name_end - name);
    // Noted before aliases are dropped: other symbols share these addresses.
    if (module == 0 && name_length == 10) {
      std::string_view n(name, name_length);
      if (n == "_sinittext") init_text_start_ = address;
      if (n == "_einittext") init_text_end_ = address;
    }
    if (name_length > 0 && name_length <= UINT16_MAX)
      entries_.push_back(Entry{address, static_cast<uint32_t>(name - base), static_cast<uint16_t>(name_length),
                               module, 0});
    p = next_line;
  }

  auto by_address = [](const Entry &a, const Entry &b) { return a.address < b.address; };
  // The kernel lists its own symbols nearly sorted; modules follow.
  if (!std::is_sorted(entries_.begin(), entries_.end(), by_address))
    std::stable_sort(entries_.begin(), entries_.end(), by_address);
  // Before aliases go: the first init function shares _sinittext's address.
  auto init = std::lower_bound(entries_.begin(), entries_.end(), init_text_start_,
                               [](const Entry &e, uint64_t a) { return e.address < a; });
  for (; init != entries_.end() && init->address < init_text_end_; ++init)
    if (init->module == 0) init_functions_.emplace(base + init->name_offset, init->name_length);
  // Aliases at one address: keep the first listed.
  entries_.erase(std::unique(entries_.begin(), entries_.end(),
                             [](const Entry &a, const Entry &b) { return a.address == b.address; }),
                 entries_.end());
  for (size_t i = 0; i + 1 < entries_.size(); ++i)
    if (entries_[i + 1].module == entries_[i].module) entries_[i].size = entries_[i + 1].address - entries_[i].address;
}

std::optional<SymbolInfo> KernelSymbols::lookup_locked(uint64_t address) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), address,
                             [](uint64_t a, const Entry &e) { return a < e.address; });
  if (it == entries_.begin()) return std::nullopt;
  const Entry &e = *--it;
  uint64_t offset = address - e.address;
  if (offset != 0 && offset >= e.size) return std::nullopt;  // past the last symbol of its module
  return SymbolInfo{std::string_view(text_.data() + e.name_offset, e.name_length), offset, e.size,
                    modules_[e.module]};
}

std::optional<SymbolInfo> KernelSymbols::lookup(uint64_t address) {
  std::lock_guard lock(mutex_);
  load_locked();
  return lookup_locked(address);
}

bool KernelSymbols::is_init_function(std::string_view name) {
  std::lock_guard lock(mutex_);
  load_locked();
  return init_functions_.count(name) > 0;
}

// Past kMaxCachedAddresses distinct addresses the caches stop growing (a
// script rendering arbitrary addresses must not grow memory without bound);
// further results live in a small per-thread ring instead.
const std::string &KernelSymbols::remember(std::unordered_map<uint64_t, std::string> &cache, uint64_t address,
                                           std::string text) {
  if (cache.size() < kMaxCachedAddresses) return cache.emplace(address, std::move(text)).first->second;
  thread_local std::string ring[kUncachedSlots];
  thread_local size_t next = 0;
  std::string &slot = ring[next++ % kUncachedSlots];
  slot = std::move(text);
  return slot;
}

const std::string &KernelSymbols::symname(uint64_t address) {
  std::lock_guard lock(mutex_);
  if (auto it = symname_cache_.find(address); it != symname_cache_.end()) return it->second;
  load_locked();
  auto info = lookup_locked(address);
  return remember(symname_cache_, address, info ? std::string(info->name) : hex_address(address));
}

const std::string &KernelSymbols::symdata(uint64_t address) {
  std::lock_guard lock(mutex_);
  if (auto it = symdata_cache_.find(address); it != symdata_cache_.end()) return it->second;
  load_locked();
  auto info = lookup_locked(address);
  if (!info) return remember(symdata_cache_, address, hex_address(address));
  std::string text;
  text.reserve(info->name.size() + info->module.size() + 40);
  text.append(info->name);
  text.push_back('+');
  text.append(hex_address(info->offset));
  text.push_back('/');
  text.append(hex_address(info->size));
  text.append(" [");
  text.append(info->module);
  text.push_back(']');
  return remember(symdata_cache_, address, std::move(text));
}

// ---- drop reasons ----

DropReasons::DropReasons(const struct ::btf *btf) {
  if (!btf) return;
  int id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
  if (id < 0) id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM64);
  if (id < 0) return;
  const struct btf_type *type = btf__type_by_id(btf, static_cast<uint32_t>(id));
  constexpr std::string_view kPrefix = "SKB_DROP_REASON_";
  auto add = [&](uint32_t name_offset, int64_t value) {
    std::string_view name = btf__name_by_offset(btf, name_offset);
    if (name.substr(0, kPrefix.size()) == kPrefix) name.remove_prefix(kPrefix.size());
    names_.try_emplace(value, name);
  };
  uint16_t count = btf_vlen(type);
  if (btf_is_enum(type)) {
    const struct btf_enum *member = btf_enum(type);
    bool is_signed = btf_kflag(type);
    for (uint16_t i = 0; i < count; ++i, ++member)
      add(member->name_off, is_signed ? static_cast<int64_t>(member->val) : static_cast<int64_t>(static_cast<uint32_t>(member->val)));
  } else {
    const struct btf_enum64 *member = btf_enum64(type);
    for (uint16_t i = 0; i < count; ++i, ++member)
      add(member->name_off, static_cast<int64_t>(btf_enum64_value(member)));
  }
}

DropReasons DropReasons::from_file(const std::string &path) {
  struct btf *btf = btf__parse(path.c_str(), nullptr);
  if (!btf) return DropReasons();
  DropReasons reasons(btf);
  btf__free(btf);
  return reasons;
}

std::string DropReasons::name(int64_t reason) const {
  if (auto it = names_.find(reason); it != names_.end()) return it->second;
  return std::to_string(reason);
}

}  // namespace ntap
