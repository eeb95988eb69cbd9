// Kernel addresses and enum values rendered as names, in user space
// (docs/architecture.md, decision 6): symname(), symdata() and the kernel's drop reasons.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct btf;

namespace ntap {

struct SymbolInfo {
  std::string_view name;
  uint64_t offset = 0;  // address - symbol start
  uint64_t size = 0;    // distance to the next symbol; 0 when unknown (last of its module)
  std::string_view module;  // "kernel" for the kernel image itself
};

// A kernel's symbol table from its kallsyms file (/proc/kallsyms for the
// running kernel, KernelInfo::symbols()), read on the first lookup.
//
// Parsing is one read of the whole file and a hand-written scan (no
// iostreams): ~122 k lines take a few ms. Code and data symbols are kept,
// absolute (a/A, e.g. per-CPU offsets) and undefined ones are not. A symbol
// covers the addresses up to the next symbol of the same module; addresses
// below the first symbol or past the last symbol of a module are unknown.
// Lookups are cached per address (drop locations repeat) and safe to call
// from several threads.
class KernelSymbols {
 public:
  explicit KernelSymbols(std::string kallsyms_path = "/proc/kallsyms");
  ~KernelSymbols();
  KernelSymbols(const KernelSymbols &) = delete;
  KernelSymbols &operator=(const KernelSymbols &) = delete;

  std::optional<SymbolInfo> lookup(uint64_t address);
  // "tcp_v4_rcv", or "0x..." (lowercase hex) when unknown. The reference
  // stays valid for the life of this object, except past kMaxCachedAddresses
  // distinct addresses: then until kUncachedSlots more uncached results on
  // the same thread.
  const std::string &symname(uint64_t address);
  // "tcp_v4_rcv+0xaa/0x8d0 [kernel]", or "0x..." when unknown.
  const std::string &symdata(uint64_t address);

  // Loads now (otherwise the first lookup does). Returns the number of
  // symbols kept; 0 when the file is unreadable or shows only zero addresses
  // (not root), in which case every lookup answers "unknown".
  size_t load();
  // Starts load() on a background thread, so that reading kallsyms (~25 ms
  // of kernel time for 122 k lines) overlaps the run instead of delaying the
  // first symname()/symdata(). Lookups wait for it. Idempotent.
  void prefetch();
  // Wall time the last load took, split into reading and parsing.
  double read_ms() const { return read_ms_; }
  double parse_ms() const { return parse_ms_; }

  // Whether a kernel function lies in the kernel's init text (between
  // _sinittext and _einittext): the code that runs once at boot and is freed
  // after it, which no probe can reach (stap skips such functions). false
  // when kallsyms is unreadable or has no init text.
  bool is_init_function(std::string_view name);

  // Sizes of a module's symbols from its ELF file (the .ko) rather than the
  // distance to the next kallsyms entry, as stap's -d MODULE gives them: exact
  // function sizes in symdata(), and the module's last symbol gets a size.
  // Call before the table loads. `elf_path` empty: the module's file from
  // modules.dep (find_module_elf). Failures are kept in module_errors().
  void use_module_elf(const std::string &module, const std::string &elf_path = "");
  // The same for every module kallsyms lists (--all-modules).
  void use_all_module_elfs();
  // Why a module's sizes could not be read ("foo: not in modules.dep"),
  // once the table has loaded.
  std::vector<std::string> module_errors();

  static constexpr size_t kMaxCachedAddresses = 1 << 16;
  static constexpr size_t kUncachedSlots = 16;

 private:
  struct Entry {
    uint64_t address;
    uint32_t name_offset;  // into text_
    uint16_t name_length;
    uint16_t module;       // index into modules_
    uint64_t size;         // 0 = unknown
  };

  void load_locked();
  void parse_locked();
  void apply_module_sizes_locked();
  std::optional<SymbolInfo> lookup_locked(uint64_t address) const;
  const std::string &remember(std::unordered_map<uint64_t, std::string> &cache, uint64_t address,
                              std::string text);

  std::string path_;
  std::mutex mutex_;
  std::thread prefetcher_;
  bool loaded_ = false;
  std::string text_;  // the whole file; names point into it
  std::vector<Entry> entries_;
  std::vector<std::string_view> modules_;  // modules_[0] = "kernel"
  uint64_t init_text_start_ = 0, init_text_end_ = 0;  // _sinittext, _einittext
  std::unordered_set<std::string_view> init_functions_;  // names into text_
  std::unordered_map<uint64_t, std::string> symname_cache_;
  std::unordered_map<uint64_t, std::string> symdata_cache_;
  std::vector<std::pair<std::string, std::string>> module_elfs_;  // module, path ("" = find it)
  bool all_module_elfs_ = false;
  std::vector<std::string> module_errors_;
  double read_ms_ = 0;
  double parse_ms_ = 0;
};

// "0x" + lowercase hex, as symname/symdata print unknown addresses.
std::string hex_address(uint64_t address);

// Names of `enum skb_drop_reason` values from BTF, without the
// "SKB_DROP_REASON_" prefix: 2 -> "NOT_SPECIFIED", 3 -> "NO_SOCKET".
class DropReasons {
 public:
  // Reads the enum from `btf` (not kept). A BTF without the enum gives an
  // empty table.
  explicit DropReasons(const struct ::btf *btf);
  // From a BTF file (e.g. /sys/kernel/btf/vmlinux); unreadable = empty table.
  static DropReasons from_file(const std::string &path);

  // The name, or the number as decimal text when the kernel has no name for it.
  std::string name(int64_t reason) const;
  size_t size() const { return names_.size(); }

 private:
  DropReasons() = default;
  std::unordered_map<int64_t, std::string> names_;
};

}  // namespace ntap
