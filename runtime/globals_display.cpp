#include "runtime/globals_display.h"

#include <fmt/format.h>

namespace ntap {
namespace {

void append_value(std::string &out, ast::Type type, const Value &value) {
  switch (type) {
    case ast::Type::String: fmt::format_to(std::back_inserter(out), "=\"{}\"", value.s); break;
    case ast::Type::Stats: {
      const StatsValue &s = value.stats;
      if (s.count == 0) {
        out += " @count=0x0";  // what stap prints for an empty aggregate
        break;
      }
      fmt::format_to(std::back_inserter(out), " @count={} @min={} @max={} @sum={} @avg={}", s.count, s.min, s.max,
                     s.sum, stats_extract(s, ast::StatsFn::Avg));
      break;
    }
    default: fmt::format_to(std::back_inserter(out), "=0x{:x}", static_cast<uint64_t>(value.l)); break;
  }
}

void append_key(std::string &out, const Key &key) {
  out += '[';
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) out += ',';
    if (const auto *text = std::get_if<std::string>(&key[i]))
      fmt::format_to(std::back_inserter(out), "\"{}\"", *text);
    else
      fmt::format_to(std::back_inserter(out), "{}", std::get<int64_t>(key[i]));
  }
  out += ']';
}

}  // namespace

void render_unread_globals(const ast::Program &program, Store &store, std::string &out) {
  for (const auto &g : program.globals) {
    if (!g->display_at_exit) continue;
    const ast::Type type = g->value_type;
    if (g->is_array) {
      SortSpec by_value_descending;
      by_value_descending.direction = -1;
      for (const Entry &entry : store.snapshot(g->id, by_value_descending)) {
        out += g->name;
        append_key(out, entry.key);
        append_value(out, type, entry.value);
        out += '\n';
      }
      continue;
    }
    Value value;
    if (type == ast::Type::Stats) {
      if (auto stats = store.get_stats(g->id, {})) value.stats = *stats;
    } else if (type == ast::Type::String) {
      value.s = store.get_string(g->id, {});
    } else {
      value.l = store.get_long(g->id, {});
    }
    out += g->name;
    append_value(out, type, value);
    out += '\n';
  }
}

}  // namespace ntap
