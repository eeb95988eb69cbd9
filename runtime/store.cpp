#include "runtime/store.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace ntap {

namespace {

int compare_values(const Value &a, const Value &b, ast::Type type, ast::StatsFn stat) {
  switch (type) {
    case ast::Type::String: return a.s.compare(b.s);
    case ast::Type::Stats: {
      const int64_t x = stats_extract(a.stats, stat), y = stats_extract(b.stats, stat);
      return x < y ? -1 : x > y;
    }
    default: return a.l < b.l ? -1 : a.l > b.l;
  }
}

int compare_parts(const KeyPart &a, const KeyPart &b) { return a < b ? -1 : (b < a ? 1 : 0); }

int64_t read_le64(const uint8_t *p) {
  uint64_t v = 0;
  std::memcpy(&v, p, 8);  // BPF maps are host-endian; bpfel matches x86/arm64 LE hosts
  return static_cast<int64_t>(v);
}

std::string read_c_string(const uint8_t *p, uint32_t size) {
  const void *nul = std::memchr(p, 0, size);
  return std::string(reinterpret_cast<const char *>(p), nul ? static_cast<const uint8_t *>(nul) - p : size);
}

void write_c_string(uint8_t *p, uint32_t size, const std::string &text) {
  if (size == 0) return;
  std::memset(p, 0, size);
  std::memcpy(p, text.data(), std::min<size_t>(text.size(), size - 1));
}

}  // namespace

void sort_entries(std::vector<Entry> &entries, ast::Type value_type, const SortSpec &spec) {
  auto by_key = [](const Entry &a, const Entry &b) { return a.key < b.key; };
  if (spec.direction == 0) {
    std::sort(entries.begin(), entries.end(), by_key);
  } else {
    std::sort(entries.begin(), entries.end(), [&](const Entry &a, const Entry &b) {
      int c = 0;
      if (spec.column == 0) {
        c = compare_values(a.value, b.value, value_type, spec.stat);
      } else {
        const size_t i = static_cast<size_t>(spec.column - 1);
        if (i < a.key.size() && i < b.key.size()) c = compare_parts(a.key[i], b.key[i]);
      }
      if (c != 0) return spec.direction > 0 ? c < 0 : c > 0;
      return a.key < b.key;  // ties: key order, so output is stable run to run
    });
  }
  if (spec.limit >= 0 && static_cast<uint64_t>(spec.limit) < entries.size()) entries.resize(spec.limit);
}

// ---------------------------------------------------------------- host

Value *HostStorage::slot(const Key &key) {
  auto it = elements_.find(key);
  if (it != elements_.end()) return &it->second;
  if (max_entries_ && elements_.size() >= max_entries_) {
    if (!wrap_ || by_insertion_.empty()) return nullptr;
    erase(Key(by_insertion_.begin()->second));  // a copy: erase() frees the original
  }
  if (wrap_) {
    by_insertion_.emplace(next_insertion_, key);
    insertion_of_.emplace(key, next_insertion_);
    ++next_insertion_;
  }
  return &elements_[key];
}

void HostStorage::erase(const Key &key) {
  elements_.erase(key);
  auto it = insertion_of_.find(key);
  if (it == insertion_of_.end()) return;
  by_insertion_.erase(it->second);
  insertion_of_.erase(it);
}

void HostStorage::clear() {
  elements_.clear();
  by_insertion_.clear();
  insertion_of_.clear();
}

std::optional<Value> HostStorage::lookup(const Key &key) {
  auto it = elements_.find(key);
  if (it == elements_.end()) return std::nullopt;
  return it->second;
}

bool HostStorage::update(const Key &key, const Value &value) {
  Value *v = slot(key);
  if (!v) return false;
  *v = value;
  return true;
}

bool HostStorage::stats_add(const Key &key, int64_t observation) {
  Value *v = slot(key);
  if (!v) return false;
  if (!stats_layout_) {
    stats_observe(v->stats, observation);
    return true;
  }
  Aggregate agg{v->stats, std::move(v->buckets)};
  aggregate_observe(agg, *stats_layout_, observation);
  v->stats = agg.stats;
  v->buckets = std::move(agg.buckets);
  return true;
}

bool HostStorage::merge_stats(const Key &key, const StatsValue &stats) {
  return merge_aggregate(key, Aggregate{stats, {}});
}

bool HostStorage::merge_aggregate(const Key &key, const Aggregate &aggregate) {
  if (aggregate.stats.count == 0) return true;
  Value *v = slot(key);
  if (!v) return false;
  GlobalLayout plain;
  Aggregate agg{v->stats, std::move(v->buckets)};
  aggregate_combine(agg, aggregate, stats_layout_ ? *stats_layout_ : plain);
  v->stats = agg.stats;
  v->buckets = std::move(agg.buckets);
  return true;
}

std::vector<Entry> HostStorage::entries() {
  std::vector<Entry> out;
  out.reserve(elements_.size());
  for (const auto &[key, value] : elements_) out.push_back({key, value});
  return out;
}

// ---------------------------------------------------------------- kernel

namespace {

// A long or string scalar inside the mmapped "globals" map value. Kernel
// probes read and write it directly; 8-byte loads/stores are atomic.
class KernelScalarStorage final : public GlobalStorage {
 public:
  KernelScalarStorage(uint8_t *at, uint32_t size, ast::Type type) : at_(at), size_(size), type_(type) {}
  std::optional<Value> lookup(const Key &) override {
    Value v;
    if (type_ == ast::Type::String)
      v.s = read_c_string(at_, size_);
    else
      v.l = std::atomic_ref<int64_t>(*reinterpret_cast<int64_t *>(at_)).load(std::memory_order_relaxed);
    return v;
  }
  bool update(const Key &, const Value &value) override {
    if (type_ == ast::Type::String)
      write_c_string(at_, size_, value.s);
    else
      std::atomic_ref<int64_t>(*reinterpret_cast<int64_t *>(at_)).store(value.l, std::memory_order_relaxed);
    return true;
  }
  bool stats_add(const Key &, int64_t) override { return false; }
  void erase(const Key &key) override { update(key, Value{}); }
  void clear() override { update({}, Value{}); }
  std::vector<Entry> entries() override { return {{Key{}, *lookup({})}}; }

 private:
  uint8_t *at_;
  uint32_t size_;
  ast::Type type_;
};

// Decodes / encodes one element's value buffer as the BPF side lays it out.
class ValueCodec {
 public:
  ValueCodec(const GlobalLayout &layout, ast::Type type) : layout_(layout), type_(type) {}
  // nullopt for an aggregate with nothing in it.
  std::optional<Value> decode(const uint8_t *buffer) const {
    Value v;
    if (type_ == ast::Type::Stats) {
      if (layout_.per_cpu) {
        Aggregate agg = merge_percpu_aggregate({buffer, buffer_size()}, possible_cpus(), layout_);
        v.stats = agg.stats;
        v.buckets = std::move(agg.buckets);
      } else {
        std::memcpy(&v.stats, buffer, std::min<size_t>(sizeof(StatsValue), layout_.value_size));
      }
      if (v.stats.count == 0) return std::nullopt;
    } else if (type_ == ast::Type::String) {
      v.s = read_c_string(buffer, layout_.value_size);
    } else {
      v.l = read_le64(buffer);
    }
    return v;
  }
  void encode(const Value &v, uint8_t *buffer) const {
    std::memset(buffer, 0, buffer_size());
    if (type_ == ast::Type::String)
      write_c_string(buffer, layout_.value_size, v.s);
    else if (type_ == ast::Type::Stats)
      encode_stats(v.stats, v.buckets, buffer);
    else
      std::memcpy(buffer, &v.l, 8);
  }
  // One CPU's slot (or the whole value of a non-per-CPU map).
  void encode_stats(const StatsValue &stats, const std::vector<int64_t> &buckets, uint8_t *slot) const {
    std::memcpy(slot, &stats, std::min<size_t>(sizeof(StatsValue), layout_.value_size));
    for (size_t b = 0; b < buckets.size() && sizeof(StatsValue) + 8 * (b + 1) <= layout_.value_size; ++b)
      std::memcpy(slot + sizeof(StatsValue) + 8 * b, &buckets[b], 8);
  }
  void decode_slot(const uint8_t *slot, Aggregate &agg) const {
    std::memcpy(&agg.stats, slot, std::min<size_t>(sizeof(StatsValue), layout_.value_size));
    agg.buckets.assign(layout_.histogram.buckets, 0);
    for (size_t b = 0; b < agg.buckets.size() && sizeof(StatsValue) + 8 * (b + 1) <= layout_.value_size; ++b)
      std::memcpy(&agg.buckets[b], slot + sizeof(StatsValue) + 8 * b, 8);
  }
  size_t buffer_size() const {
    return layout_.per_cpu ? static_cast<size_t>(percpu_stride(layout_.value_size)) * possible_cpus()
                           : layout_.value_size;
  }

 private:
  const GlobalLayout &layout_;
  ast::Type type_;
};

// A BPF hash map (per-CPU for statistics) that kernel probes and user probes
// share directly.
class KernelMapStorage final : public GlobalStorage {
 public:
  KernelMapStorage(const GlobalLayout &layout, ast::Type type, int fd)
      : layout_(layout), codec_(layout, type), map_(fd, layout.key_size, layout.value_size, layout.per_cpu) {}

  std::optional<Value> lookup(const Key &key) override {
    std::vector<uint8_t> buffer(codec_.buffer_size());
    if (!map_.lookup(pack_key(layout_, key).data(), buffer.data())) return std::nullopt;
    return codec_.decode(buffer.data());
  }
  bool update(const Key &key, const Value &value) override {
    std::vector<uint8_t> buffer(codec_.buffer_size());
    codec_.encode(value, buffer.data());
    return map_.update(pack_key(layout_, key).data(), buffer.data()) == 0;
  }
  // A user-side observation goes into CPU 0's slot; the other CPUs' slots
  // are written back as read.
  bool stats_add(const Key &key, int64_t observation) override {
    const Bytes packed = pack_key(layout_, key);
    std::vector<uint8_t> buffer(codec_.buffer_size(), 0);
    map_.lookup(packed.data(), buffer.data());
    Aggregate first;
    codec_.decode_slot(buffer.data(), first);
    aggregate_observe(first, layout_, observation);
    codec_.encode_stats(first.stats, first.buckets, buffer.data());
    return map_.update(packed.data(), buffer.data()) == 0;
  }
  void erase(const Key &key) override { map_.erase(pack_key(layout_, key).data()); }
  void clear() override { map_.clear(); }
  std::vector<Entry> entries() override {
    std::vector<Entry> out;
    std::vector<uint8_t> buffer(codec_.buffer_size());
    for (const Bytes &packed : map_.keys()) {
      if (!map_.lookup(packed.data(), buffer.data())) continue;  // deleted meanwhile
      if (auto value = codec_.decode(buffer.data())) out.push_back({unpack_key(layout_, packed.data()), *value});
    }
    return out;
  }

 private:
  const GlobalLayout &layout_;
  ValueCodec codec_;
  BpfMap map_;
};

// A statistic kernel probes write into buffer `generation & 1` while user
// probes read a host shadow. flip() makes the kernel switch buffers; once
// in-flight programs are done, drain_idle() moves the old buffer's counts into
// the shadow. Every observation ends up in the shadow exactly once.
class DoubleBufferedStorage final : public GlobalStorage {
 public:
  DoubleBufferedStorage(const GlobalLayout &layout, const ast::Global &global, uint8_t *globals, int fd0, int fd1,
                        uint32_t max_entries)
      : layout_(layout),
        codec_(layout, ast::Type::Stats),
        generation_(*reinterpret_cast<uint64_t *>(globals + layout.generation_offset)),
        buffers_{BpfMap(fd0, layout.key_size, layout.value_size, layout.per_cpu),
                 BpfMap(fd1, layout.key_size, layout.value_size, layout.per_cpu)},
        shadow_(ast::Type::Stats, max_entries, &layout) {}

  // Returns the generation the kernel was writing before the flip.
  uint64_t flip() { return generation_.fetch_add(1, std::memory_order_seq_cst); }
  void drain_idle(uint64_t old_generation) {
    buffers_[old_generation & 1].drain(layout_.max_entries, [&](const uint8_t *key, const uint8_t *value) {
      if (auto decoded = codec_.decode(value))
        if (!shadow_.merge_aggregate(unpack_key(layout_, key), Aggregate{decoded->stats, std::move(decoded->buckets)}))
          ++lost_;
    });
  }
  uint64_t lost() const { return lost_; }

  std::optional<Value> lookup(const Key &key) override { return shadow_.lookup(key); }
  bool update(const Key &key, const Value &value) override { return shadow_.update(key, value); }
  bool stats_add(const Key &key, int64_t observation) override { return shadow_.stats_add(key, observation); }
  void erase(const Key &key) override { shadow_.erase(key); }
  void clear() override { shadow_.clear(); }
  std::vector<Entry> entries() override { return shadow_.entries(); }

 private:
  const GlobalLayout &layout_;
  ValueCodec codec_;
  std::atomic_ref<uint64_t> generation_;
  BpfMap buffers_[2];
  HostStorage shadow_;
  uint64_t lost_ = 0;
};

int64_t initial_number(const ast::Expr &e) {
  if (e.kind == ast::ExprKind::Number) return ast::cast<ast::NumberExpr>(e).value;
  if (e.kind == ast::ExprKind::Unary) {
    const auto &u = ast::cast<ast::UnaryExpr>(e);
    const int64_t v = initial_number(*u.operand);
    switch (u.op) {
      case ast::UnaryOp::Neg: return -v;
      case ast::UnaryOp::Not: return !v;
      case ast::UnaryOp::BitNot: return ~v;
      case ast::UnaryOp::Plus: return v;
    }
  }
  return 0;
}

}  // namespace

void wait_for_bpf_programs() {
  // MEMBARRIER_CMD_GLOBAL waits for an RCU grace period (synchronize_rcu).
  // tp_btf and raw_tp programs run inside rcu_read_lock, so afterwards no
  // program that read the old generation word is still running.
  if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0) return;
  // membarrier can be refused (nohz_full kernels): BPF programs run for
  // microseconds, so a pause far longer than any program is a safe stand-in.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// ---------------------------------------------------------------- store

Store::Store(const ast::Program &program, const Layout &layout, const KernelAccess *kernel)
    : layout_(layout), kernel_(kernel) {
  for (const GlobalLayout &gl : layout.globals) {
    const ast::Global &g = *gl.global;
    const ast::Type type = g.value_type;
    uint32_t max_entries = gl.max_entries ? gl.max_entries : g.max_entries;
    if (!max_entries) max_entries = layout.options.max_map_entries;
    if (gl.placement == Placement::Host) {
      storages_.push_back(std::make_unique<HostStorage>(type, gl.is_map ? max_entries : 0,
                                                        type == ast::Type::Stats ? &gl : nullptr, g.wrap));
      continue;
    }
    if (!kernel || !kernel->globals)
      throw std::runtime_error("global '" + g.name + "' is placed in the kernel but no BPF object is loaded");
    if (!gl.is_map) {
      storages_.push_back(std::make_unique<KernelScalarStorage>(kernel->globals + gl.scalar_offset, gl.scalar_size, type));
      continue;
    }
    std::vector<int> fds;
    for (const std::string &name : gl.map_names) {
      const int fd = kernel->map_fd(name);
      if (fd < 0) throw std::runtime_error("BPF map '" + name + "' of global '" + g.name + "' is missing");
      fds.push_back(fd);
    }
    if (gl.double_buffered && fds.size() == 2) {
      storages_.push_back(
          std::make_unique<DoubleBufferedStorage>(gl, g, kernel->globals, fds[0], fds[1], max_entries));
      double_buffered_.push_back(g.id);
    } else if (!fds.empty()) {
      storages_.push_back(std::make_unique<KernelMapStorage>(gl, type, fds[0]));
    } else {
      throw std::runtime_error("global '" + g.name + "' has no BPF map");
    }
  }
  apply_initializers(program);
}

Store::~Store() = default;

void Store::apply_initializers(const ast::Program &program) {
  for (const auto &g : program.globals) {
    if (!g->init || g->is_array || g->id >= storages_.size()) continue;
    Value v;
    if (g->init->kind == ast::ExprKind::String)
      v.s = ast::cast<ast::StringExpr>(*g->init).value;
    else
      v.l = initial_number(*g->init);
    storages_[g->id]->update({}, v);
  }
}

ast::Type Store::value_type(uint32_t gid) const { return layout_.globals.at(gid).global->value_type; }

GlobalStorage &Store::storage(uint32_t gid) {
  GlobalStorage &s = *storages_.at(gid);
  if (!drained_this_run_ && layout_.globals[gid].double_buffered) drain_double_buffered();
  return s;
}

void Store::drain_double_buffered() {
  drained_this_run_ = true;
  if (double_buffered_.empty()) return;
  // Flip every double-buffered global first so one grace period covers all.
  std::vector<uint64_t> old_generations;
  for (uint32_t gid : double_buffered_)
    old_generations.push_back(static_cast<DoubleBufferedStorage &>(*storages_[gid]).flip());
  if (kernel_ && kernel_->wait_for_programs)
    kernel_->wait_for_programs();
  else
    wait_for_bpf_programs();
  for (size_t i = 0; i < double_buffered_.size(); ++i)
    static_cast<DoubleBufferedStorage &>(*storages_[double_buffered_[i]]).drain_idle(old_generations[i]);
}

int64_t Store::get_long(uint32_t gid, const Key &key) {
  auto v = storage(gid).lookup(key);
  return v ? v->l : 0;
}

std::string Store::get_string(uint32_t gid, const Key &key) {
  auto v = storage(gid).lookup(key);
  return v ? v->s : std::string();
}

bool Store::set_long(uint32_t gid, const Key &key, int64_t value) {
  Value v;
  v.l = value;
  return storage(gid).update(key, v);
}

bool Store::set_string(uint32_t gid, const Key &key, const std::string &value) {
  Value v;
  v.s = value;
  return storage(gid).update(key, v);
}

bool Store::stats_add(uint32_t gid, const Key &key, int64_t observation) {
  return storage(gid).stats_add(key, observation);
}

std::optional<StatsValue> Store::get_stats(uint32_t gid, const Key &key) {
  auto v = storage(gid).lookup(key);
  if (!v || v->stats.count == 0) return std::nullopt;
  return v->stats;
}

std::optional<Aggregate> Store::get_aggregate(uint32_t gid, const Key &key) {
  auto v = storage(gid).lookup(key);
  if (!v || v->stats.count == 0) return std::nullopt;
  Aggregate agg{v->stats, std::move(v->buckets)};
  agg.buckets.resize(layout_of(gid).histogram.buckets, 0);
  return agg;
}

bool Store::exists(uint32_t gid, const Key &key) {
  auto v = storage(gid).lookup(key);
  if (!v) return false;
  return value_type(gid) != ast::Type::Stats || v->stats.count > 0;
}

void Store::erase(uint32_t gid, const Key &key) { storage(gid).erase(key); }

void Store::clear(uint32_t gid) { storage(gid).clear(); }

std::vector<Key> Store::keys_matching(uint32_t gid, const Key &pattern, uint64_t wildcard_mask) {
  std::vector<Key> out;
  for (Entry &entry : storage(gid).entries())
    if (key_matches(entry.key, pattern, wildcard_mask)) out.push_back(std::move(entry.key));
  return out;
}

bool key_matches(const Key &key, const Key &pattern, uint64_t wildcard_mask) {
  if (key.size() != pattern.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i)
    if (!((wildcard_mask >> i) & 1) && key[i] != pattern[i]) return false;
  return true;
}

std::vector<Entry> Store::snapshot(uint32_t gid, const SortSpec &spec) {
  std::vector<Entry> entries = storage(gid).entries();
  sort_entries(entries, value_type(gid), spec);
  return entries;
}

std::vector<Store::Loss> Store::losses() const {
  std::vector<Loss> out;
  for (const GlobalLayout &gl : layout_.globals) {
    const uint32_t gid = gl.global->id;
    uint64_t lost = 0;
    if (gl.placement == Placement::Kernel && gl.is_map && kernel_ && kernel_->globals)
      lost += std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t *>(kernel_->globals + gl.overflow_offset))
                  .load(std::memory_order_relaxed);
    if (gl.double_buffered)
      lost += static_cast<const DoubleBufferedStorage &>(*storages_[gid]).lost();
    const uint32_t max_entries = gl.max_entries ? gl.max_entries : layout_.options.max_map_entries;
    if (lost) out.push_back({gl.global, lost, max_entries});
  }
  return out;
}

}  // namespace ntap
