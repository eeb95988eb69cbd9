#include "abi/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace ntap {
namespace {

uint32_t align8(uint32_t n) { return (n + 7) & ~7u; }

uint32_t parse_define(const std::map<std::string, std::string> &defines, const char *name, uint32_t fallback,
                      uint32_t min, uint32_t max) {
  auto it = defines.find(name);
  if (it == defines.end()) return fallback;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || v < min || v > max)
    throw std::invalid_argument(
        fmt::format("-D {}={}: expected a number between {} and {}", name, it->second, min, max));
  return static_cast<uint32_t>(v);
}

}  // namespace

LayoutOptions LayoutOptions::from_defines(const std::map<std::string, std::string> &defines) {
  LayoutOptions o;
  o.max_map_entries = parse_define(defines, "MAXMAPENTRIES", o.max_map_entries, 1, 1u << 24);
  o.string_limit = parse_define(defines, "MAXSTRINGLEN", o.string_limit, 8, 4096);
  o.max_string_len = align8(o.string_limit);
  o.max_nesting = parse_define(defines, "MAXNESTING", o.max_nesting, 1, 4096);
  o.max_action = parse_define(defines, "MAXACTION", o.max_action, 1, 1u << 30);
  o.max_action_interruptible =
      parse_define(defines, "MAXACTION_INTERRUPTIBLE", static_cast<uint32_t>(std::min<uint64_t>(uint64_t{o.max_action} * 10, 1u << 30)), 1,
                   1u << 30);
  o.ringbuf_size = parse_define(defines, "RINGBUF_SIZE", o.ringbuf_size, 4096, 1u << 30);
  // The kernel's perf callchains stop at 127 frames (sysctl kernel.perf_event_max_stack).
  o.max_backtrace = parse_define(defines, "MAXBACKTRACE", o.max_backtrace, 1, 127);
  o.max_stacks = parse_define(defines, "MAXSTACKS", o.max_stacks, 1, 1u << 20);
  o.max_probes = parse_define(defines, "MAXPROBES", o.max_probes, 1, 1u << 20);
  // The ring buffer size must be a power of two multiple of the page size.
  uint32_t rb = 4096;
  while (rb < o.ringbuf_size) rb <<= 1;
  o.ringbuf_size = rb;
  return o;
}

uint32_t Layout::frame_bytes() const {
  return std::min<uint32_t>(32768, std::max<uint32_t>(16384, scratch_bytes() + 32 * options.max_string_len));
}

Layout Layout::build(const ast::Program &program, const LayoutOptions &options) {
  Layout layout;
  layout.options = options;
  layout.perf_counters = program.perf_counters;
  uint32_t next = 0;  // next free byte in the shared "globals" map value
  auto take = [&](uint32_t size) {
    uint32_t at = next;
    next += align8(size);
    return at;
  };
  layout.ringbuf_lost_offset = take(8);
  layout.exit_request_offset = take(8);
  layout.realtime_offset_offset = take(8);
  layout.target_pid_offset = take(8);
  layout.nesting_skipped_offset = take(8);
  layout.stacks_lost_offset = take(8);
  layout.running_at_start_offset = take(8);

  for (const auto &gp : program.globals) {
    const ast::Global &g = *gp;
    GlobalLayout gl;
    gl.global = &g;
    bool in_kernel = g.read_in_kernel || g.written_in_kernel;
    gl.placement = in_kernel ? Placement::Kernel : Placement::Host;
    bool stats = g.value_type == ast::Type::Stats;
    gl.is_map = g.is_array || stats;
    gl.value_size = stats ? sizeof(StatsValue)
                    : g.value_type == ast::Type::String ? options.max_string_len
                                                        : 8;
    uint32_t offset = 0;
    for (ast::Type t : g.key_types) {
      uint32_t size = t == ast::Type::String ? options.max_string_len : 8;
      gl.key_fields.push_back(KeyField{t, offset, size});
      offset += size;
    }
    gl.key_size = gl.key_fields.empty() ? 8 : offset;
    if (stats) {
      if (g.histogram == ast::StatsFn::HistLog) gl.histogram = HistogramSpec::log();
      if (g.histogram == ast::StatsFn::HistLinear && g.histogram_params.size() == 3)
        gl.histogram = HistogramSpec::linear(g.histogram_params[0], g.histogram_params[1], g.histogram_params[2]);
      gl.value_size += gl.histogram.buckets * 8;
      gl.tracks_variance = g.uses_variance;
      gl.variance_shift = g.variance_shift;
    }
    gl.max_entries = g.max_entries ? g.max_entries : options.max_map_entries;
    if (!gl.is_map) gl.max_entries = 1;
    gl.per_cpu = stats;

    if (in_kernel) {
      if (!gl.is_map) {
        gl.scalar_size = gl.value_size;
        gl.scalar_offset = take(gl.value_size);
      } else {
        // Kernel-written statistics that user probes read or delete are
        // double-buffered (decision 4); kernel reads of a statistic would
        // need both buffers, so those keep one map.
        gl.double_buffered = stats && g.written_in_kernel && !g.read_in_kernel &&
                             (g.read_in_user || g.deleted_in_user);
        // Private globals of different files may share a name; their maps may not.
        std::string base = "g_" + g.name + (g.private_to ? "_p" + std::to_string(g.id) : "");
        if (gl.double_buffered) {
          gl.map_names = {base + "_0", base + "_1"};
          gl.generation_offset = take(8);
        } else {
          gl.map_names = {base};
        }
        gl.overflow_offset = take(8);
      }
    }
    layout.globals.push_back(std::move(gl));
  }
  layout.globals_size = align8(next);
  return layout;
}

}  // namespace ntap
