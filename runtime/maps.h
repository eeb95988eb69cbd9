// BPF map access for the runtime: the key tuple encoding shared with the BPF
// side, per-CPU statistics merging, and raw map operations (lookup, update,
// delete, iterate, drain).
//
// Key encoding (identical to what codegen/bpf emits): a zeroed buffer of
// GlobalLayout::key_size bytes; a long field is 8 bytes little-endian at its
// offset, a string field is max_string_len bytes, NUL-padded (truncated so
// a NUL always ends it).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "abi/layout.h"

namespace ntap {

// One element of a key tuple and the tuple itself (empty for scalars).
using KeyPart = std::variant<int64_t, std::string>;
using Key = std::vector<KeyPart>;

using Bytes = std::vector<uint8_t>;

Bytes pack_key(const GlobalLayout &layout, const Key &key);
Key unpack_key(const GlobalLayout &layout, const uint8_t *packed);

// ---------------------------------------------------------------- statistics
// An aggregate with nothing in it: count 0, min/max undefined (0).
constexpr StatsValue kEmptyStats{0, 0, 0, 0, 0, 0, 0, 0};

// Adds one observation (what `x <<< v` does); `variance_shift` is
// @variance's bit shift (0 unless the script asks for one).
void stats_observe(StatsValue &stats, int64_t value, int64_t variance_shift = 0);
// Combines two aggregates: counts and sums add, min/max only over non-empty
// ones, the variance state by stap's total-variance formula.
void stats_combine(StatsValue &into, const StatsValue &other, int64_t variance_shift = 0);
// Combines several partial aggregates (one per CPU) at once, as stap does
// when it reads a statistic; the result's avg_s/variance_s are the combined ones.
StatsValue stats_combine_all(const std::vector<StatsValue> &parts, int64_t variance_shift = 0);
// The value of @count/@sum/@min/@max/@avg/@variance (ast::StatsFn). Callers
// check emptiness first: on an empty aggregate everything but @count is an error.
int64_t stats_extract(const StatsValue &stats, ast::StatsFn fn, int64_t variance_shift = 0);

// A statistic with its histogram buckets (empty when it has no histogram).
struct Aggregate {
  StatsValue stats = kEmptyStats;
  std::vector<int64_t> buckets;
};
// Adds one observation to an aggregate of `layout`'s global.
void aggregate_observe(Aggregate &agg, const GlobalLayout &layout, int64_t value);
void aggregate_combine(Aggregate &into, const Aggregate &other, const GlobalLayout &layout);
// Merges the per-CPU values of one element of `layout`'s global as the
// kernel returns them (StatsValue, then the buckets, in each CPU's slot).
Aggregate merge_percpu_aggregate(std::span<const uint8_t> raw, unsigned ncpus, const GlobalLayout &layout);

// Bytes one CPU's slot takes in a per-CPU map value buffer.
inline uint32_t percpu_stride(uint32_t value_size) { return (value_size + 7u) & ~7u; }
// Merges the per-CPU values of one element as the kernel returns them:
// `ncpus` slots of percpu_stride(value_size) bytes, each a StatsValue.
StatsValue merge_percpu_stats(std::span<const uint8_t> raw, unsigned ncpus, uint32_t value_size);

// Number of possible CPUs (the per-CPU slot count), cached.
unsigned possible_cpus();

// ---------------------------------------------------------------- raw maps
// A loaded BPF map addressed by fd. Does not own the fd: the bpf_object does.
// Values of per-CPU maps are buffers of value_buffer_size() bytes.
class BpfMap {
 public:
  BpfMap(int fd, uint32_t key_size, uint32_t value_size, bool per_cpu);

  int fd() const { return fd_; }
  uint32_t key_size() const { return key_size_; }
  uint32_t value_buffer_size() const { return value_buffer_size_; }

  // false when the key is absent.
  bool lookup(const uint8_t *key, uint8_t *value) const;
  // Returns 0 or -errno (-E2BIG when the map is full).
  int update(const uint8_t *key, const uint8_t *value) const;
  void erase(const uint8_t *key) const;
  // Every key currently present (values may change under a running program).
  std::vector<Bytes> keys() const;
  void clear() const;
  // Removes every element, handing each (key, value buffer) to `sink`. Meant
  // for a map no BPF program writes any more (the idle half of a double
  // buffer): nothing can arrive between the read and the delete.
  using Sink = std::function<void(const uint8_t *key, const uint8_t *value)>;
  void drain(uint32_t max_entries, const Sink &sink) const;

 private:
  bool drain_batched(uint32_t max_entries, const Sink &sink) const;
  void drain_one_by_one(const Sink &sink) const;

  int fd_;
  uint32_t key_size_;
  uint32_t value_buffer_size_;
};

}  // namespace ntap
