// The layout: where every global lives and how its keys and values are
// encoded. Both code generators and the runtime read this one description,
// so the BPF side and the user side can never disagree about a byte.
//
// Placement rules (DESIGN.md decision 3):
//   * globals no kernel probe touches live in ntap's own memory (Host);
//   * kernel scalars (long/string) share one mmap-able array map "globals";
//   * kernel arrays are hash maps keyed by the packed key tuple;
//   * statistics are per-CPU hash maps of StatsValue, merged when read;
//     a stats global with no keys uses one element keyed by 0;
//   * a stats global that kernel probes write (and never read) while user
//     probes read or delete it is double-buffered (decision 4): kernel code
//     writes buffer `generation & 1`; before a user probe touches it, the
//     runtime flips the generation, waits out in-flight BPF programs and
//     drains the idle buffer into a user-side shadow, so a delete after a
//     foreach can never lose an event.
#pragma once
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "frontend/ast.h"

namespace ntap {

// The per-CPU value of a statistic. count/sum are added atomically; min/max
// are per CPU so they need no atomics. A histogram's bucket counts follow it
// (GlobalLayout::histogram), one int64 per bucket.
struct StatsValue {
  int64_t count;
  int64_t sum;
  int64_t min;
  int64_t max;
  int64_t sum_sq;
  // @variance as stap computes it: Welford's algorithm per CPU on values
  // shifted left by the bit shift, in integers, combined over CPUs with the
  // total-variance formula (runtime/maps.h). The truncations are stap's, so
  // results match it exactly rather than the exact sample variance.
  int64_t avg_s;       // running mean << shift
  int64_t m2;          // sum of squared differences << 2*shift
  int64_t variance_s;  // m2 / (count - 1)
};

// The histogram of an aggregate (@hist_log / @hist_linear), the same for
// every element of a global. Bucket numbering is stap's, so `@hist_log(x)[i]`
// means what it means there.
struct HistogramSpec {
  enum class Kind : uint8_t { None, Log, Linear };
  static constexpr uint32_t kLogBuckets = 128;      // bucket 64 holds 0
  static constexpr uint32_t kLogZeroBucket = 64;
  static constexpr uint32_t kMaxLinearBuckets = 128;  // stap's STP_MAX_BUCKETS

  Kind kind = Kind::None;
  int64_t low = 0, high = 0, width = 0;  // linear only
  uint32_t buckets = 0;  // linear: (high - low) / width + 3 (underflow, overflow)

  static HistogramSpec log() {
    HistogramSpec h;
    h.kind = Kind::Log;
    h.buckets = kLogBuckets;
    return h;
  }
  // Throws std::invalid_argument with stap's reason when the range is unusable.
  static HistogramSpec linear(int64_t low, int64_t high, int64_t width) {
    if (width <= 0) throw std::invalid_argument("histogram: interval must be positive");
    if (high <= low) throw std::invalid_argument("histogram: the stop value must be greater than the start value");
    const int64_t count = (high - low) / width + 3;
    if (count > kMaxLinearBuckets)
      throw std::invalid_argument("histogram: number of buckets must be between 1 and " +
                                  std::to_string(kMaxLinearBuckets - 2) + "; (stop - start) / interval is " +
                                  std::to_string(count - 3));
    HistogramSpec h;
    h.kind = Kind::Linear;
    h.low = low;
    h.high = high;
    h.width = width;
    h.buckets = static_cast<uint32_t>(count);
    return h;
  }
  // The bucket an observation is counted in.
  uint32_t bucket_of(int64_t value) const {
    if (kind == Kind::Log) {
      if (value == 0) return kLogZeroBucket;
      // 1 + the index of the highest set bit of |value| (INT64_MIN's
      // magnitude is 2^63), up from bucket 64 for positive values and down
      // from it for negative ones.
      const uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
      const uint32_t bits = 64 - static_cast<uint32_t>(__builtin_clzll(magnitude));
      const uint32_t bucket = value < 0 ? kLogZeroBucket - bits : kLogZeroBucket + bits;
      return bucket < kLogBuckets ? bucket : kLogBuckets - 1;
    }
    if (kind == Kind::Linear) {
      if (value < low) return 0;
      const uint64_t index =
          (static_cast<uint64_t>(value) - static_cast<uint64_t>(low)) / static_cast<uint64_t>(width) + 1;
      return index < buckets - 1 ? static_cast<uint32_t>(index) : buckets - 1;
    }
    return 0;
  }
  // The value printed on the bucket's row (a log bucket's lower bound; for
  // linear ones the start of the range, and `low` for the underflow row).
  int64_t bucket_label(uint32_t bucket) const {
    if (kind == Kind::Log) {
      if (bucket == kLogZeroBucket) return 0;
      if (bucket < kLogZeroBucket) return INT64_MIN >> bucket;
      return static_cast<int64_t>(uint64_t{1} << (bucket - kLogZeroBucket - 1));
    }
    if (bucket == 0) return low;
    if (bucket == buckets - 1) return low + static_cast<int64_t>(bucket - 2) * width;
    return low + static_cast<int64_t>(bucket - 1) * width;
  }
};

struct LayoutOptions {
  uint32_t max_map_entries = 2048;  // -D MAXMAPENTRIES
  uint32_t max_string_len = 128;    // -D MAXSTRINGLEN
  uint32_t ringbuf_size = 1 << 20;  // output records from kernel probes
  // Parsed -D NAME=VALUE options (the ones above are taken from here).
  static LayoutOptions from_defines(const std::map<std::string, std::string> &defines);
};

enum class Placement : uint8_t { Host, Kernel };

struct KeyField {
  ast::Type type;   // Long or String
  uint32_t offset;  // within the packed key
  uint32_t size;    // 8 for long, max_string_len for string
};

struct GlobalLayout {
  const ast::Global *global = nullptr;
  Placement placement = Placement::Host;
  bool is_map = false;  // arrays and stats; false for long/string scalars

  // Kernel scalars: byte range inside the shared "globals" array map value.
  uint32_t scalar_offset = 0;
  uint32_t scalar_size = 0;

  // Maps (kernel placement): BPF map name per buffer, e.g. "g_locations" or
  // "g_locations_0"/"g_locations_1" when double-buffered.
  std::vector<std::string> map_names;
  bool per_cpu = false;       // stats
  bool double_buffered = false;
  uint32_t generation_offset = 0;  // in "globals": u64 generation (double-buffered)
  std::vector<KeyField> key_fields;
  uint32_t key_size = 0;      // packed; 8 (a zero) for a stats scalar
  uint32_t value_size = 0;    // 8 long, max_string_len string, sizeof(StatsValue)
  uint32_t max_entries = 0;
  // In "globals": u64 count of inserts that failed because the map was full.
  uint32_t overflow_offset = 0;
  // Statistics: the histogram (its buckets start at sizeof(StatsValue) in
  // the value) and whether/how @variance is tracked.
  HistogramSpec histogram;
  bool tracks_variance = false;
  int64_t variance_shift = 0;
};

struct Layout {
  LayoutOptions options;
  std::vector<GlobalLayout> globals;  // indexed by ast::Global::id
  // The shared "globals" array map (one element of globals_size bytes).
  uint32_t globals_size = 0;
  // Status words in "globals" written by kernel probes, read by the runtime:
  uint32_t ringbuf_lost_offset = 0;   // u64: output records dropped (ring buffer full)
  uint32_t exit_request_offset = 0;   // u64: set by exit() in a kernel probe
  uint32_t realtime_offset_offset = 0;  // u64: CLOCK_REALTIME - CLOCK_BOOTTIME, set at start
  static constexpr const char *kGlobalsMap = "globals";
  static constexpr const char *kEventsMap = "events";  // BPF ring buffer

  static Layout build(const ast::Program &program, const LayoutOptions &options);
  const GlobalLayout &of(const ast::Global &g) const { return globals.at(g.id); }
};

}  // namespace ntap
