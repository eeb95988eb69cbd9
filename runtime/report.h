// What the runtime reports besides printf text, as data: a global's elements
// (shown at exit, served as metrics), a printed histogram, and the counters
// of things kernel probes could not do ("nothing lost silently"). Each
// Output (runtime/output.h) renders them its own way; metrics.h serves them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "abi/layout.h"
#include "frontend/ast.h"
#include "runtime/store.h"

namespace ntap {

// One global's elements at one moment. A scalar has one entry with the empty
// key; an array one per element (ordered as the caller asked).
struct GlobalSnapshot {
  const ast::Global *global = nullptr;
  const GlobalLayout *layout = nullptr;
  std::vector<Entry> entries;
};

// Reads `global` through the store (the same reads probes make, so
// double-buffered globals are drained first). Arrays are ordered by
// decreasing value (statistics by decreasing @count), as stap shows them.
GlobalSnapshot snapshot_global(const ast::Global &global, Store &store);

// print(@hist_log(x)) / print(@hist_linear(...)).
struct HistogramPrint {
  const ast::Global *global = nullptr;
  Key key;  // empty for a scalar aggregate
  const HistogramSpec *spec = nullptr;
  std::vector<int64_t> buckets;  // one count per bucket of spec
  bool newline = false;  // println: a line break follows the table
};

// A counter of what was lost or skipped, reported at the end of a run.
struct LostCount {
  std::string kind;     // "ringbuf_records", "nesting_skipped", "map_full", "recursion_skipped"
  uint64_t count = 0;
  std::string message;  // the text stap-style WARNING line (without "WARNING: ")
  std::string global;   // map_full: the global's name
  uint64_t limit = 0;   // map_full: its size limit; ringbuf_records: the ring buffer's bytes
  std::string probe;    // recursion_skipped: the probe point
};

}  // namespace ntap
