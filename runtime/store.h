// Global storage: every script global, wherever the Layout placed it, behind
// one interface. Host globals live in ntap's memory; kernel scalars in the
// mmapped "globals" map; kernel arrays and statistics in BPF hash maps
// (per-CPU ones merged on read); double-buffered statistics in a host shadow
// that is refilled from the idle kernel buffer once per user probe run
// (docs/architecture.md, decisions 3 and 4).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abi/layout.h"
#include "runtime/maps.h"

namespace ntap {

// The value of one element. Only the member matching the global's value type
// is meaningful.
struct Value {
  int64_t l = 0;
  std::string s;
  StatsValue stats = kEmptyStats;
  std::vector<int64_t> buckets;  // a statistic's histogram (empty without one)
};

struct Entry {
  Key key;
  Value value;
};

// How to order a foreach snapshot. column 0 is the value (for statistics the
// `stat` extractor), 1..n the keys; direction +1/-1, 0 = key order.
struct SortSpec {
  int column = 0;
  int direction = 0;
  ast::StatsFn stat = ast::StatsFn::Count;
  int64_t limit = -1;  // < 0: all
};
void sort_entries(std::vector<Entry> &entries, ast::Type value_type, const SortSpec &spec);

// Wildcard subscripts (a[*, k]): whether `key` equals `pattern` at every
// position whose bit in `wildcard_mask` is clear.
bool key_matches(const Key &key, const Key &pattern, uint64_t wildcard_mask);

// Where one global's elements are kept. Scalars use the empty key.
class GlobalStorage {
 public:
  virtual ~GlobalStorage() = default;
  virtual std::optional<Value> lookup(const Key &key) = 0;
  // false when the element could not be stored (the map is full).
  virtual bool update(const Key &key, const Value &value) = 0;
  virtual bool stats_add(const Key &key, int64_t observation) = 0;
  virtual void erase(const Key &key) = 0;
  virtual void clear() = 0;
  virtual std::vector<Entry> entries() = 0;
};

// In ntap's memory: host globals and the shadows of double-buffered ones.
class HostStorage final : public GlobalStorage {
 public:
  // `stats_layout` describes how observations are folded in (histogram,
  // variance shift); null for a plain statistic.
  // `wrap`: when full, a new element evicts the oldest-inserted one (stap's
  // `global a%[N]`) instead of the update failing.
  HostStorage(ast::Type value_type, uint32_t max_entries, const GlobalLayout *stats_layout = nullptr,
              bool wrap = false)
      : value_type_(value_type), max_entries_(max_entries), stats_layout_(stats_layout), wrap_(wrap) {}
  std::optional<Value> lookup(const Key &key) override;
  bool update(const Key &key, const Value &value) override;
  bool stats_add(const Key &key, int64_t observation) override;
  void erase(const Key &key) override;
  void clear() override;
  std::vector<Entry> entries() override;
  // Folds a drained kernel aggregate into the element (creating it).
  bool merge_stats(const Key &key, const StatsValue &stats);
  bool merge_aggregate(const Key &key, const Aggregate &aggregate);

 private:
  Value *slot(const Key &key);  // null when full
  ast::Type value_type_;
  uint32_t max_entries_;  // 0 = unbounded
  const GlobalLayout *stats_layout_;
  bool wrap_;
  std::map<Key, Value> elements_;
  // Wrap-around arrays only: insertion order, to find the oldest element.
  uint64_t next_insertion_ = 0;
  std::map<uint64_t, Key> by_insertion_;
  std::map<Key, uint64_t> insertion_of_;
};

// What the store needs from a loaded BPF object.
struct KernelAccess {
  uint8_t *globals = nullptr;                    // the mmapped "globals" value
  std::function<int(const std::string &)> map_fd;  // by map name; < 0 if absent
  // Waits until no BPF program that may have read an old generation word is
  // still running. Replaceable for tests.
  std::function<void()> wait_for_programs;
};

// Waits out an RCU grace period (tp_btf/raw_tp programs run under
// rcu_read_lock), falling back to a sleep when membarrier is unavailable.
void wait_for_bpf_programs();

class Store {
 public:
  // `kernel` may be null when nothing is placed in the kernel; a kernel
  // global without it throws std::runtime_error.
  Store(const ast::Program &program, const Layout &layout, const KernelAccess *kernel);
  ~Store();

  int64_t get_long(uint32_t gid, const Key &key);
  std::string get_string(uint32_t gid, const Key &key);
  // false when a new element does not fit (the array is full): nothing is
  // stored and the caller reports it (user probes fail with stap's error).
  [[nodiscard]] bool set_long(uint32_t gid, const Key &key, int64_t value);
  [[nodiscard]] bool set_string(uint32_t gid, const Key &key, const std::string &value);
  [[nodiscard]] bool stats_add(uint32_t gid, const Key &key, int64_t observation);
  // nullopt for a missing element or an empty aggregate.
  std::optional<StatsValue> get_stats(uint32_t gid, const Key &key);
  // The statistic with its histogram buckets; nullopt when missing or empty.
  std::optional<Aggregate> get_aggregate(uint32_t gid, const Key &key);
  bool exists(uint32_t gid, const Key &key);
  void erase(uint32_t gid, const Key &key);
  void clear(uint32_t gid);  // a whole array, or a scalar back to 0 / ""
  // Wildcard subscripts (a[*, k]): the keys of the elements equal to
  // `pattern` at every position whose bit in `wildcard_mask` is clear.
  std::vector<Key> keys_matching(uint32_t gid, const Key &pattern, uint64_t wildcard_mask);
  std::vector<Entry> snapshot(uint32_t gid, const SortSpec &spec);

  const GlobalLayout &layout_of(uint32_t gid) const { return layout_.globals.at(gid); }
  const Layout &layout() const { return layout_; }
  ast::Type value_type(uint32_t gid) const;

  // A user probe run begins: double-buffered globals are drained again on
  // their first access in this run.
  void begin_probe_run() { drained_this_run_ = false; }
  // Flips and drains every double-buffered global now (used before end probes).
  void drain_double_buffered();

  // Updates kernel probes lost because a map was full, per global, only
  // those with losses (user probes fail at the write instead).
  struct Loss {
    const ast::Global *global;
    uint64_t lost;
    uint32_t max_entries;
  };
  std::vector<Loss> losses() const;

 private:
  GlobalStorage &storage(uint32_t gid);
  void apply_initializers(const ast::Program &program);

  const Layout &layout_;
  const KernelAccess *kernel_;
  std::vector<std::unique_ptr<GlobalStorage>> storages_;
  std::vector<uint32_t> double_buffered_;  // gids
  bool drained_this_run_ = false;
};

}  // namespace ntap
