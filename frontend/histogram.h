// The bucket layout of @hist_log / @hist_linear. It is a fact of the language
// (the frontend checks the parameters with it) that the layout, both code
// generators and the runtime's table printer all share.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ntap {

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

}  // namespace ntap
