// The fields of a trace event's record, from tracefs'
// events/<subsys>/<event>/format: what bpftrace calls args->field and what
// perf-event tracepoint programs see as their context. ntap offers them as
// $field where the TP_PROTO arguments have no such name (langref, "Target
// variables"; docs/architecture.md, decision 13).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ntap {

struct TraceField {
  std::string name;    // "sport"
  std::string c_type;  // "__u16", "__u8[4]", "const void *"
  uint32_t offset = 0;
  uint32_t size = 0;
  bool is_signed = false;
  bool is_array = false;     // "__u8 saddr[4]": the value is its address in the record
  bool is_data_loc = false;  // "__data_loc char[] name": a variable-length field
};

// The event's own fields (not the common_* header), in record order, from
// the first of `tracefs_roots` that has events/<subsystem>/<event>/format.
// Empty when no format can be read. KernelInfo::trace_event_fields() caches it.
std::vector<TraceField> read_trace_event_fields(const std::vector<std::string> &tracefs_roots,
                                                std::string_view subsystem, std::string_view event);

// Parses the text of a format file (exposed for tests).
std::vector<TraceField> parse_trace_format(std::string_view text);

}  // namespace ntap
