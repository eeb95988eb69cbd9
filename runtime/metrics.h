// --metrics: the script's globals in the Prometheus text exposition format
// (docs/output.md): one metric family per global, named ntap_<global>;
// array keys as labels key1..keyN; statistics as _count/_sum/_min/_max;
// @hist_log/@hist_linear statistics as histograms with cumulative `le`
// buckets; and the ntap_lost_* counters.
#pragma once
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "runtime/report.h"

namespace ntap {

// Appends the families of one global.
void render_global_metrics(std::string &out, const GlobalSnapshot &global);
// Appends the ntap_lost_* counter families (`losses`: the non-zero ones).
void render_lost_metrics(std::string &out, const std::vector<LostCount> &losses);

}  // namespace ntap
