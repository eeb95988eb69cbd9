// stap's histogram table, as print(@hist_log(x)) / print(@hist_linear(...))
// show it:
//
//   value |-------------------------------------------------- count
//       0 |                                                    0
//       1 |@@@@                                                4
//       2 |@@@@@@@@                                            8
//       4 |                                                    0
//
// Rows run from two empty buckets before the first non-empty one to two
// after the last; longer runs of empty buckets collapse into a `~` row.
// Bars are scaled so the largest count fits 50 columns.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "abi/layout.h"

namespace ntap {

// Appends the table for `buckets` (one count per bucket of `spec`) to `out`,
// ending with the empty line stap prints after it.
void render_histogram(std::string &out, const HistogramSpec &spec, const std::vector<int64_t> &buckets);

}  // namespace ntap
