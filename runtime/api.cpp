// The C runtime API of abi/runtime_api.h: thin functions that convert the JIT's
// plain values and forward to the session's store and output. Builtins
// (ntap_fn_*) are in builtins_host.cpp.
#include "abi/runtime_api.h"

#include <cstring>
#include <memory>

#include "runtime/histogram.h"
#include "runtime/session.h"

using ntap::Key;
using ntap::KeyPart;

struct ntap_iter {
  ntap_rt *rt;
  std::vector<ntap::Entry> entries;
  size_t next = 0;
};

namespace {

std::string_view view(const char *s) { return s ? std::string_view(s) : std::string_view(); }

// The key tuple as the store wants it, typed by the global's key types.
Key make_key(ntap_rt *rt, uint32_t gid, const ntap_value *keys) {
  Key key;
  if (!keys) return key;
  const auto &types = rt->store->layout_of(gid).global->key_types;
  key.reserve(types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == ntap::ast::Type::String)
      key.emplace_back(std::string(rt->cut_string(view(keys[i].s))));
    else
      key.emplace_back(keys[i].l);
  }
  return key;
}

// The key tuple of a wildcard subscript; `*` positions hold a placeholder.
Key make_pattern(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint64_t wildcard_mask) {
  Key key;
  const auto &types = rt->store->layout_of(gid).global->key_types;
  for (size_t i = 0; i < types.size(); ++i) {
    if ((wildcard_mask >> i) & 1)
      key.emplace_back(int64_t{0});
    else if (types[i] == ntap::ast::Type::String)
      key.emplace_back(std::string(rt->cut_string(view(keys[i].s))));
    else
      key.emplace_back(keys[i].l);
  }
  return key;
}

// Format arguments from the JIT's values, one per conversion.
std::vector<ntap::Format::Arg> make_format_args(const ntap::Format &format, const ntap_value *args) {
  const auto &types = format.arg_types();
  std::vector<ntap::Format::Arg> out(types.size());
  for (size_t i = 0; i < types.size() && args; ++i) {
    if (types[i] == ntap::ArgType::String)
      out[i].s = view(args[i].s);
    else
      out[i].l = args[i].l;
  }
  return out;
}

// A write that did not fit: an error at its site (writes that cannot fail
// pass NTAP_NO_SITE).
void fail_unless_no_site(ntap_rt *rt, uint32_t site) {
  if (site != NTAP_NO_SITE) ntap_fail_at(rt, site);
}

const std::string &format_into_scratch(ntap_rt *rt, uint32_t format_id, const ntap_value *args) {
  const ntap::Format &format = rt->formats->at(format_id);
  const auto converted = make_format_args(format, args);
  rt->scratch.clear();
  format.format_to(rt->scratch, converted.data());
  return rt->scratch;
}

}  // namespace

extern "C" {

// ---------------------------------------------------------------- globals

int64_t ntap_get_long(ntap_rt *rt, uint32_t gid, const ntap_value *keys) {
  return rt->store->get_long(gid, make_key(rt, gid, keys));
}

const char *ntap_get_string(ntap_rt *rt, uint32_t gid, const ntap_value *keys) {
  // Kernel maps hold MAXSTRINGLEN rounded up to 8 bytes: cut to the script's limit.
  return rt->arena.keep(rt->cut_string(rt->store->get_string(gid, make_key(rt, gid, keys))));
}

void ntap_set_long(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t value, uint32_t site) {
  if (!rt->store->set_long(gid, make_key(rt, gid, keys), value)) fail_unless_no_site(rt, site);
}

void ntap_set_string(ntap_rt *rt, uint32_t gid, const ntap_value *keys, const char *value, uint32_t site) {
  if (!rt->store->set_string(gid, make_key(rt, gid, keys), std::string(rt->cut_string(view(value)))))
    fail_unless_no_site(rt, site);
}

void ntap_stats_add(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t value, uint32_t site) {
  if (!rt->store->stats_add(gid, make_key(rt, gid, keys), value)) fail_unless_no_site(rt, site);
}

int64_t ntap_stats_get(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint32_t fn, uint32_t site) {
  const auto stats_fn = static_cast<ntap::ast::StatsFn>(fn);
  const auto stats = rt->store->get_stats(gid, make_key(rt, gid, keys));
  if (!stats) {
    if (stats_fn != ntap::ast::StatsFn::Count) ntap_fail_at(rt, site);
    return 0;
  }
  return ntap::stats_extract(*stats, stats_fn, rt->store->layout_of(gid).variance_shift);
}

const char *ntap_stats_histogram(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint32_t site) {
  const ntap::GlobalLayout &layout = rt->store->layout_of(gid);
  std::vector<int64_t> buckets(layout.histogram.buckets, 0);
  if (auto agg = rt->store->get_aggregate(gid, make_key(rt, gid, keys))) {
    buckets = std::move(agg->buckets);
  } else if (keys) {
    ntap_fail_at(rt, site);
    return "";
  }
  std::string table;
  ntap::render_histogram(table, layout.histogram, buckets);
  return rt->arena.keep(table);
}

void ntap_print_histogram(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t newline, uint32_t site) {
  const ntap::GlobalLayout &layout = rt->store->layout_of(gid);
  ntap::HistogramPrint print;
  print.global = layout.global;
  print.key = make_key(rt, gid, keys);
  print.spec = &layout.histogram;
  print.newline = newline != 0;
  if (auto agg = rt->store->get_aggregate(gid, print.key)) {
    print.buckets = std::move(agg->buckets);
  } else if (keys) {
    ntap_fail_at(rt, site);
    return;
  }
  print.buckets.resize(layout.histogram.buckets, 0);
  rt->output->histogram(print);
}

int64_t ntap_stats_bucket(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t bucket, uint32_t site) {
  const ntap::GlobalLayout &layout = rt->store->layout_of(gid);
  if (bucket < 0 || bucket >= static_cast<int64_t>(layout.histogram.buckets)) {
    ntap_fail_at(rt, site);
    return 0;
  }
  const auto agg = rt->store->get_aggregate(gid, make_key(rt, gid, keys));
  return agg ? agg->buckets.at(static_cast<size_t>(bucket)) : 0;
}

int64_t ntap_exists(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint64_t wildcard_mask) {
  if (wildcard_mask)
    return rt->store->keys_matching(gid, make_pattern(rt, gid, keys, wildcard_mask), wildcard_mask).empty() ? 0 : 1;
  return rt->store->exists(gid, make_key(rt, gid, keys)) ? 1 : 0;
}

void ntap_delete(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint64_t wildcard_mask) {
  if (!keys) {
    rt->store->clear(gid);
  } else if (wildcard_mask) {
    for (const Key &key : rt->store->keys_matching(gid, make_pattern(rt, gid, keys, wildcard_mask), wildcard_mask))
      rt->store->erase(gid, key);
  } else {
    rt->store->erase(gid, make_key(rt, gid, keys));
  }
}

// ---------------------------------------------------------------- foreach

ntap_iter *ntap_foreach_begin(ntap_rt *rt, uint32_t gid, int32_t sort_column, int32_t sort_direction,
                              uint32_t sort_stat, int64_t limit, const ntap_value *slice_keys,
                              uint64_t wildcard_mask) {
  ntap::SortSpec spec;
  spec.column = sort_column;
  spec.direction = sort_direction;
  spec.stat = static_cast<ntap::ast::StatsFn>(sort_stat);
  spec.limit = slice_keys ? -1 : limit;  // a slice's limit counts matching elements only
  auto it = std::make_unique<ntap_iter>();
  it->rt = rt;
  it->entries = rt->store->snapshot(gid, spec);
  if (slice_keys) {
    const Key pattern = make_pattern(rt, gid, slice_keys, wildcard_mask);
    std::erase_if(it->entries,
                  [&](const ntap::Entry &e) { return !ntap::key_matches(e.key, pattern, wildcard_mask); });
    if (limit >= 0 && static_cast<uint64_t>(limit) < it->entries.size()) it->entries.resize(limit);
  }
  return it.release();
}

int64_t ntap_foreach_next(ntap_iter *it, ntap_value *keys_out) {
  if (!it || it->next >= it->entries.size()) return 0;
  const ntap::Entry &entry = it->entries[it->next++];
  for (size_t i = 0; i < entry.key.size(); ++i) {
    if (const auto *text = std::get_if<std::string>(&entry.key[i]))
      keys_out[i].s = it->rt->arena.keep(*text);  // may outlive the loop (key locals)
    else
      keys_out[i].l = std::get<int64_t>(entry.key[i]);
  }
  return 1;
}

void ntap_foreach_end(ntap_iter *it) { delete it; }

// ---------------------------------------------------------------- output

void ntap_printf(ntap_rt *rt, uint32_t format_id, const ntap_value *args) {
  rt->output->write(format_into_scratch(rt, format_id, args));
}

const char *ntap_sprintf(ntap_rt *rt, uint32_t format_id, const ntap_value *args) {
  return rt->arena.keep(rt->cut_string(format_into_scratch(rt, format_id, args)));
}

// ---------------------------------------------------------------- strings

const char *ntap_str_concat(ntap_rt *rt, const char *a, const char *b) {
  // Only what fits is joined, as stap's strlcat into a MAXSTRINGLEN buffer.
  const std::string_view left = rt->cut_string(view(a));
  std::string joined(left);
  joined.append(view(b).substr(0, rt->max_string_bytes() - left.size()));
  return rt->arena.keep(joined);
}

int64_t ntap_str_compare(const char *a, const char *b) { return view(a).compare(view(b)); }

// ---------------------------------------------------------------- errors

int64_t ntap_failed(ntap_rt *rt) { return rt->failed ? 1 : 0; }

uint32_t ntap_catch(ntap_rt *rt) {
  rt->failed = false;
  return rt->failed_site;
}

int64_t *ntap_action_counter(ntap_rt *rt) { return &rt->actions_remaining; }

int64_t *ntap_nesting_depth(ntap_rt *rt) { return &rt->nesting_depth; }

void ntap_fail_at(ntap_rt *rt, uint32_t site) {
  if (rt->failed) return;  // the first error is the one reported
  rt->failed = true;
  rt->failed_site = site;
  rt->failed_with_message = false;
}

void ntap_fail_with_message(ntap_rt *rt, uint32_t site, const char *message) {
  if (rt->failed) return;
  ntap_fail_at(rt, site);
  rt->failed_with_message = true;
  rt->failed_message = view(message);
}

const char *ntap_caught_message(ntap_rt *rt) {
  return rt->failed_with_message ? rt->arena.keep(rt->failed_message) : nullptr;
}

// Every function of abi/runtime_api.def, by name.
#define NTAP_API(result, name, ...) {#name, reinterpret_cast<void *>(&name)},
const ntap_symbol ntap_runtime_symbols[] = {
#include "abi/runtime_api.def"
    {nullptr, nullptr},
};
#undef NTAP_API

}  // extern "C"
