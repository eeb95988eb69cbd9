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
    default: fmt::format_to(std::back_inserter(out), "={}", value.l); break;  // decimal, as stap 5 prints
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

GlobalSnapshot snapshot_global(const ast::Global &g, Store &store) {
  GlobalSnapshot snapshot{&g, &store.layout_of(g.id), {}};
  const ast::Type type = g.value_type;
  if (g.is_array) {
    SortSpec by_value_descending;
    by_value_descending.direction = -1;
    snapshot.entries = store.snapshot(g.id, by_value_descending);
    return snapshot;
  }
  Value value;
  if (type == ast::Type::Stats) {
    if (auto aggregate = store.get_aggregate(g.id, {})) {
      value.stats = aggregate->stats;
      value.buckets = std::move(aggregate->buckets);
    }
  } else if (type == ast::Type::String) {
    value.s = store.get_string(g.id, {});
  } else {
    value.l = store.get_long(g.id, {});
  }
  snapshot.entries.push_back({Key{}, std::move(value)});
  return snapshot;
}

void render_global_text(std::string &out, const GlobalSnapshot &snapshot) {
  const ast::Global &g = *snapshot.global;
  for (const Entry &entry : snapshot.entries) {
    out += g.name;
    if (g.is_array) append_key(out, entry.key);
    append_value(out, g.value_type, entry.value);
    out += '\n';
  }
}

std::vector<GlobalSnapshot> unread_globals(const ast::Program &program, Store &store) {
  std::vector<GlobalSnapshot> out;
  for (const auto &g : program.globals)
    if (g->display_at_exit) out.push_back(snapshot_global(*g, store));
  return out;
}

void render_unread_globals(const ast::Program &program, Store &store, std::string &out) {
  for (const GlobalSnapshot &snapshot : unread_globals(program, store)) render_global_text(out, snapshot);
}

}  // namespace ntap
