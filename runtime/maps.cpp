#include "runtime/maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace ntap {

// ---------------------------------------------------------------- keys

Bytes pack_key(const GlobalLayout &layout, const Key &key) {
  Bytes packed(layout.key_size, 0);
  const size_t n = std::min(key.size(), layout.key_fields.size());
  for (size_t i = 0; i < n; ++i) {
    const KeyField &field = layout.key_fields[i];
    uint8_t *dst = packed.data() + field.offset;
    if (field.type == ast::Type::String) {
      const std::string *text = std::get_if<std::string>(&key[i]);
      if (!text || field.size == 0) continue;
      // Leave room for the terminating NUL: the BPF side compares whole
      // buffers, so a truncated string must be padded exactly the same way.
      std::memcpy(dst, text->data(), std::min<size_t>(text->size(), field.size - 1));
    } else {
      const int64_t *number = std::get_if<int64_t>(&key[i]);
      if (!number) continue;
      const uint64_t v = static_cast<uint64_t>(*number);
      for (uint32_t b = 0; b < 8 && b < field.size; ++b) dst[b] = static_cast<uint8_t>(v >> (8 * b));
    }
  }
  return packed;
}

Key unpack_key(const GlobalLayout &layout, const uint8_t *packed) {
  Key key;
  key.reserve(layout.key_fields.size());
  for (const KeyField &field : layout.key_fields) {
    const uint8_t *src = packed + field.offset;
    if (field.type == ast::Type::String) {
      const void *nul = std::memchr(src, 0, field.size);
      const size_t len = nul ? static_cast<const uint8_t *>(nul) - src : field.size;
      key.emplace_back(std::string(reinterpret_cast<const char *>(src), len));
    } else {
      uint64_t v = 0;
      for (uint32_t b = 0; b < 8 && b < field.size; ++b) v |= static_cast<uint64_t>(src[b]) << (8 * b);
      key.emplace_back(static_cast<int64_t>(v));
    }
  }
  return key;
}

// ---------------------------------------------------------------- statistics

namespace {
// Script arithmetic wraps around (stap's does); unsigned math keeps it defined.
int64_t wrapping_add(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
int64_t wrapping_sub(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)); }
int64_t wrapping_mul(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b)); }
}  // namespace

void stats_observe(StatsValue &stats, int64_t value, int64_t variance_shift) {
  const int64_t shifted = static_cast<int64_t>(static_cast<uint64_t>(value) << (variance_shift & 63));
  if (stats.count == 0) {
    stats.min = value;
    stats.max = value;
    stats.avg_s = shifted;
    stats.m2 = 0;
  } else {
    stats.min = std::min(stats.min, value);
    stats.max = std::max(stats.max, value);
    // stap keeps the difference in an `int`: the truncation is part of its
    // result, so it is kept here too.
    const int64_t delta = static_cast<int32_t>(wrapping_sub(shifted, stats.avg_s));
    stats.avg_s = wrapping_add(stats.avg_s, delta / (stats.count + 1));
    stats.m2 = wrapping_add(stats.m2, wrapping_mul(delta, wrapping_sub(shifted, stats.avg_s)));
    stats.variance_s = stats.m2 / stats.count;  // count + 1 observations, minus one
  }
  stats.count += 1;
  stats.sum = wrapping_add(stats.sum, value);
  stats.sum_sq = wrapping_add(stats.sum_sq, wrapping_mul(value, value));
}

StatsValue stats_combine_all(const std::vector<StatsValue> &parts, int64_t variance_shift) {
  StatsValue agg = kEmptyStats;
  for (const StatsValue &part : parts) {
    if (part.count == 0) continue;
    if (agg.count == 0) {
      agg.min = part.min;
      agg.max = part.max;
    } else {
      agg.min = std::min(agg.min, part.min);
      agg.max = std::max(agg.max, part.max);
    }
    agg.count += part.count;
    agg.sum = wrapping_add(agg.sum, part.sum);
    agg.sum_sq = wrapping_add(agg.sum_sq, part.sum_sq);
  }
  if (agg.count == 0) return agg;
  // The total-variance formula stap applies when it reads a statistic:
  // spread of the parts' means plus the parts' own variances.
  agg.avg_s = static_cast<int64_t>(static_cast<uint64_t>(agg.sum) << (variance_shift & 63)) / agg.count;
  int64_t between = 0, within = 0;
  for (const StatsValue &part : parts) {
    if (part.count == 0) continue;
    const int64_t d = wrapping_sub(part.avg_s, agg.avg_s);
    between = wrapping_add(between, wrapping_mul(part.count, wrapping_mul(d, d)));
    within = wrapping_add(within, wrapping_mul(part.count - 1, part.variance_s));
  }
  agg.variance_s = agg.count > 1 ? wrapping_add(between, within) / (agg.count - 1) : 0;
  agg.m2 = wrapping_mul(agg.variance_s, agg.count - 1);
  return agg;
}

void stats_combine(StatsValue &into, const StatsValue &other, int64_t variance_shift) {
  if (other.count == 0) return;
  if (into.count == 0) {
    into = other;
    return;
  }
  into = stats_combine_all({into, other}, variance_shift);
}

int64_t stats_extract(const StatsValue &stats, ast::StatsFn fn, int64_t variance_shift) {
  switch (fn) {
    case ast::StatsFn::Count: return stats.count;
    case ast::StatsFn::Sum: return stats.sum;
    case ast::StatsFn::Min: return stats.min;
    case ast::StatsFn::Max: return stats.max;
    case ast::StatsFn::Avg: return stats.count ? stats.sum / stats.count : 0;
    case ast::StatsFn::Variance:
      // A value that is still one CPU's running state goes through the
      // same combination step stap applies on every read.
      return stats_combine_all({stats}, variance_shift).variance_s >> ((2 * variance_shift) & 63);
    case ast::StatsFn::HistLog:
    case ast::StatsFn::HistLinear: break;
  }
  return 0;
}

void aggregate_observe(Aggregate &agg, const GlobalLayout &layout, int64_t value) {
  stats_observe(agg.stats, value, layout.variance_shift);
  if (layout.histogram.buckets == 0) return;
  agg.buckets.resize(layout.histogram.buckets, 0);
  agg.buckets[layout.histogram.bucket_of(value)] += 1;
}

void aggregate_combine(Aggregate &into, const Aggregate &other, const GlobalLayout &layout) {
  stats_combine(into.stats, other.stats, layout.variance_shift);
  if (other.buckets.empty()) return;
  into.buckets.resize(std::max(into.buckets.size(), other.buckets.size()), 0);
  for (size_t i = 0; i < other.buckets.size(); ++i) into.buckets[i] += other.buckets[i];
}

Aggregate merge_percpu_aggregate(std::span<const uint8_t> raw, unsigned ncpus, const GlobalLayout &layout) {
  Aggregate agg;
  const uint32_t stride = percpu_stride(layout.value_size);
  const size_t stats_bytes = std::min<size_t>(sizeof(StatsValue), layout.value_size);
  const uint32_t buckets = layout.histogram.buckets;
  std::vector<StatsValue> parts;
  parts.reserve(ncpus);
  agg.buckets.assign(buckets, 0);
  for (unsigned cpu = 0; cpu < ncpus; ++cpu) {
    const size_t at = static_cast<size_t>(cpu) * stride;
    if (at + stats_bytes > raw.size()) break;
    StatsValue one = kEmptyStats;
    std::memcpy(&one, raw.data() + at, stats_bytes);
    parts.push_back(one);
    for (uint32_t b = 0; b < buckets; ++b) {
      const size_t offset = at + sizeof(StatsValue) + 8 * static_cast<size_t>(b);
      if (offset + 8 > raw.size()) break;
      int64_t count = 0;
      std::memcpy(&count, raw.data() + offset, 8);
      agg.buckets[b] += count;
    }
  }
  agg.stats = stats_combine_all(parts, layout.variance_shift);
  return agg;
}

StatsValue merge_percpu_stats(std::span<const uint8_t> raw, unsigned ncpus, uint32_t value_size) {
  GlobalLayout plain;
  plain.value_size = value_size;
  return merge_percpu_aggregate(raw, ncpus, plain).stats;
}

unsigned possible_cpus() {
  static const unsigned count = [] {
    const int n = libbpf_num_possible_cpus();
    return n > 0 ? static_cast<unsigned>(n) : 1u;
  }();
  return count;
}

// ---------------------------------------------------------------- raw maps

BpfMap::BpfMap(int fd, uint32_t key_size, uint32_t value_size, bool per_cpu)
    : fd_(fd),
      key_size_(key_size),
      value_buffer_size_(per_cpu ? percpu_stride(value_size) * possible_cpus() : value_size) {}

bool BpfMap::lookup(const uint8_t *key, uint8_t *value) const {
  return bpf_map_lookup_elem(fd_, key, value) == 0;
}

int BpfMap::update(const uint8_t *key, const uint8_t *value) const {
  const int rc = bpf_map_update_elem(fd_, key, value, BPF_ANY);
  return rc < 0 ? -errno : 0;
}

void BpfMap::erase(const uint8_t *key) const { bpf_map_delete_elem(fd_, key); }

std::vector<Bytes> BpfMap::keys() const {
  std::vector<Bytes> result;
  Bytes current(key_size_), next(key_size_);
  const void *previous = nullptr;  // null asks for the first key
  while (bpf_map_get_next_key(fd_, previous, next.data()) == 0) {
    result.push_back(next);
    current.swap(next);
    previous = current.data();
  }
  return result;
}

void BpfMap::clear() const {
  for (const Bytes &key : keys()) erase(key.data());
}

void BpfMap::drain(uint32_t max_entries, const Sink &sink) const {
  if (!drain_batched(max_entries, sink)) drain_one_by_one(sink);
}

// One syscall for the whole map when the kernel supports batch operations on
// this map type; false (nothing removed) when it does not.
bool BpfMap::drain_batched(uint32_t max_entries, const Sink &sink) const {
  const uint32_t capacity = std::max<uint32_t>(max_entries, 1);
  std::vector<uint8_t> keys(static_cast<size_t>(capacity) * key_size_);
  std::vector<uint8_t> values(static_cast<size_t>(capacity) * value_buffer_size_);
  // Hash maps use a u32 bucket cursor; 8 bytes covers every map type.
  uint64_t cursor_in = 0, cursor_out = 0;
  bool first = true;
  for (;;) {
    uint32_t count = capacity;
    const int rc = bpf_map_lookup_and_delete_batch(fd_, first ? nullptr : &cursor_in, &cursor_out, keys.data(),
                                                   values.data(), &count, nullptr);
    const int err = rc < 0 ? errno : 0;
    if (rc < 0 && err != ENOENT) {
      // Unsupported on the first call: let the caller fall back. Later: the
      // remaining elements are picked up one by one.
      if (first && count == 0) return false;
      drain_one_by_one(sink);
      return true;
    }
    for (uint32_t i = 0; i < count; ++i)
      sink(keys.data() + static_cast<size_t>(i) * key_size_, values.data() + static_cast<size_t>(i) * value_buffer_size_);
    if (err == ENOENT) return true;  // the last batch
    cursor_in = cursor_out;
    first = false;
  }
}

void BpfMap::drain_one_by_one(const Sink &sink) const {
  std::vector<uint8_t> value(value_buffer_size_);
  for (const Bytes &key : keys()) {
    if (lookup(key.data(), value.data())) sink(key.data(), value.data());
    erase(key.data());
  }
}

}  // namespace ntap
