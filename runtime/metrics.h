// --metrics: the script's globals in the Prometheus text exposition format
// (docs/output.md): one metric family per global, named ntap_<global>;
// array keys as labels key1..keyN; statistics as _count/_sum/_min/_max;
// @hist_log/@hist_linear statistics as histograms with cumulative `le`
// buckets; and the ntap_lost_* counters.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/ast.h"
#include "runtime/report.h"

namespace ntap {

// The family name of a global: "ntap_" + its name, every character a metric
// name cannot hold ([a-zA-Z0-9_:] only) replaced by '_'.
std::string metric_name(std::string_view global);

// The globals --metrics serves (not the tapsets', and only typed ones).
bool serves_metrics(const ast::Global &global);

// Empty when every served global and the ntap_lost_* counters have family
// names of their own; else an error naming the two globals (FILE:LINE:COL of
// each) that would share one (a statistic `x` takes ntap_x, ntap_x_min and
// ntap_x_max; `private` globals of two files may have one name): Prometheus
// rejects a whole scrape with a family given twice.
std::string metric_name_clash(const std::vector<std::unique_ptr<ast::Global>> &globals);

// Appends the families of one global.
void render_global_metrics(std::string &out, const GlobalSnapshot &global);
// Appends the ntap_lost_* counter families (`losses`: the non-zero ones).
void render_lost_metrics(std::string &out, const std::vector<LostCount> &losses);

}  // namespace ntap
