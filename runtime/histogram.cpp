#include "runtime/histogram.h"

#include <algorithm>

#include <fmt/format.h>

namespace ntap {
namespace {

constexpr int kBarWidth = 50;   // columns of the widest bar
constexpr int kElision = 2;     // empty rows kept around data before eliding

// Characters needed to print `v` in decimal (with its minus sign).
int decimal_width(int64_t v) {
  if (v == 0) return 1;
  int width = v < 0 ? 1 : 0;
  uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  for (; magnitude; magnitude /= 10) ++width;
  return width;
}

// A row is elided when it and every row within kElision of it (inside the
// shown range) are empty.
bool elided(const std::vector<int64_t> &buckets, int row, int first, int last) {
  const int from = std::max(first, row - kElision), to = std::min(last, row + kElision);
  for (int k = from; k <= to; ++k)
    if (buckets[k] != 0) return false;
  return true;
}

}  // namespace

void render_histogram(std::string &out, const HistogramSpec &spec, const std::vector<int64_t> &buckets) {
  const int count = static_cast<int>(std::min<size_t>(buckets.size(), spec.buckets));
  if (count == 0) return;
  const bool linear = spec.kind == HistogramSpec::Kind::Linear;

  int first = -1, last = 0;
  int64_t largest = 0;
  for (int i = 0; i < count; ++i) {
    if (buckets[i] > 0 && first < 0) first = i;
    if (buckets[i] > 0) last = i;
    largest = std::max(largest, buckets[i]);
  }
  if (first < 0) {
    // Nothing observed: the header alone.
    fmt::format_to(std::back_inserter(out), "{:>5} |{:-<{}} count\n\n", "value", "", kBarWidth);
    return;
  }

  // Two empty rows of margin on each side; a log histogram does not reach
  // below 0 unless there are negative observations.
  for (int i = 0; i < 2; ++i) {
    if (first > 0 && (linear || first != static_cast<int>(HistogramSpec::kLogZeroBucket))) --first;
    if (last < count - 1) ++last;
  }
  bool underflow = false, overflow = false;
  if (linear) {
    // The underflow and overflow rows only show when they count something.
    if (first == 0 && buckets[0] == 0) ++first;
    if (last == count - 1 && buckets[last] == 0) --last;
    underflow = first == 0;
    overflow = last == count - 1;
  }

  const int64_t scale = largest <= kBarWidth ? 1 : (largest + kBarWidth - 1) / kBarWidth;
  const int count_width = decimal_width(largest);
  int value_width;
  if (linear)
    value_width = std::max(decimal_width(spec.low) + underflow,
                           decimal_width(spec.low + spec.width * last) + overflow);
  else
    value_width = std::max(decimal_width(spec.bucket_label(static_cast<uint32_t>(last))),
                           decimal_width(spec.bucket_label(static_cast<uint32_t>(first))));
  value_width = std::max(value_width, 5);  // "value"

  fmt::format_to(std::back_inserter(out), "{:>{}} |{:-<{}} count\n", "value", value_width, "", kBarWidth);
  bool eliding = false;
  for (int i = first; i <= last; ++i) {
    if (elided(buckets, i, first, last)) {
      eliding = true;
      continue;
    }
    if (eliding) {
      fmt::format_to(std::back_inserter(out), "{:>{}} ~\n", "", value_width);
      eliding = false;
    }
    const char *prefix = "";
    if (linear && i == 0) prefix = "<";
    if (linear && i == count - 1) prefix = ">";
    const int64_t label = spec.bucket_label(static_cast<uint32_t>(i));
    const int64_t bar = buckets[i] / scale;
    fmt::format_to(std::back_inserter(out), "{:>{}}{} |{:@<{}}{:>{}}\n", prefix, value_width - decimal_width(label),
                   label, "", bar, buckets[i], static_cast<int>(kBarWidth - bar + 1 + count_width));
  }
  out += '\n';
}

}  // namespace ntap
