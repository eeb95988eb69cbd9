// Global storage semantics: host globals, foreach ordering, statistics
// merging, key packing, and (when BPF maps can be created) kernel maps and
// double-buffered statistics.
#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "runtime/maps.h"
#include "runtime/store.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

// Hand-made globals and their layout: the store is tested without the frontend.
using Fixture = test::HandMadeGlobals;

Key k(int64_t a) { return Key{KeyPart(a)}; }
Key ks(const std::string &a, int64_t b) { return Key{KeyPart(a), KeyPart(b)}; }

std::vector<int64_t> first_keys(const std::vector<Entry> &entries) {
  std::vector<int64_t> out;
  for (const Entry &e : entries) out.push_back(std::get<int64_t>(e.key.at(0)));
  return out;
}

}  // namespace

TEST_CASE("missing elements read as 0 and empty string", "[store]") {
  Fixture f;
  const uint32_t counts = f.add("counts", ast::Type::Long, {ast::Type::Long});
  const uint32_t names = f.add("names", ast::Type::String, {ast::Type::String, ast::Type::Long});
  const uint32_t scalar = f.add("total", ast::Type::Long);
  Store store(f.program, f.layout, nullptr);
  CHECK(store.get_long(counts, k(7)) == 0);
  CHECK(store.get_string(names, ks("eth0", 1)).empty());
  CHECK(store.get_long(scalar, {}) == 0);
  CHECK_FALSE(store.exists(counts, k(7)));
  CHECK_FALSE(store.get_stats(counts, k(7)).has_value());
}

TEST_CASE("set, exists and delete of array elements and scalars", "[store]") {
  Fixture f;
  const uint32_t names = f.add("names", ast::Type::String, {ast::Type::String, ast::Type::Long});
  const uint32_t scalar = f.add("total", ast::Type::Long);
  Store store(f.program, f.layout, nullptr);
  CHECK(store.set_string(names, ks("eth0", 1), "up"));
  CHECK(store.set_string(names, ks("eth0", 2), "down"));
  CHECK(store.get_string(names, ks("eth0", 1)) == "up");
  CHECK(store.exists(names, ks("eth0", 2)));
  store.erase(names, ks("eth0", 2));
  CHECK_FALSE(store.exists(names, ks("eth0", 2)));
  CHECK(store.exists(names, ks("eth0", 1)));
  store.clear(names);
  CHECK_FALSE(store.exists(names, ks("eth0", 1)));

  CHECK(store.set_long(scalar, {}, 42));
  CHECK(store.get_long(scalar, {}) == 42);
  store.clear(scalar);
  CHECK(store.get_long(scalar, {}) == 0);
}

TEST_CASE("scalar initialisers are applied", "[store]") {
  Fixture f;
  const uint32_t limit = f.add("limit", ast::Type::Long);
  const uint32_t label = f.add("label", ast::Type::String);
  f.program.globals[limit]->init = std::make_unique<ast::UnaryExpr>(
      Location{}, ast::UnaryOp::Neg, std::make_unique<ast::NumberExpr>(Location{}, 5));
  f.program.globals[label]->init = std::make_unique<ast::StringExpr>(Location{}, "drops");
  Store store(f.program, f.layout, nullptr);
  CHECK(store.get_long(limit, {}) == -5);
  CHECK(store.get_string(label, {}) == "drops");
}

TEST_CASE("foreach sorts by value or key, either direction, with a limit", "[store]") {
  Fixture f;
  const uint32_t a = f.add("a", ast::Type::Long, {ast::Type::Long});
  Store store(f.program, f.layout, nullptr);
  CHECK(store.set_long(a, k(1), 30));
  CHECK(store.set_long(a, k(2), 10));
  CHECK(store.set_long(a, k(3), 20));
  CHECK(store.set_long(a, k(4), 20));

  CHECK(first_keys(store.snapshot(a, {0, -1})) == std::vector<int64_t>{1, 3, 4, 2});
  CHECK(first_keys(store.snapshot(a, {0, +1})) == std::vector<int64_t>{2, 3, 4, 1});
  CHECK(first_keys(store.snapshot(a, {1, -1})) == std::vector<int64_t>{4, 3, 2, 1});
  CHECK(first_keys(store.snapshot(a, {1, +1})) == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(first_keys(store.snapshot(a, {0, 0})) == std::vector<int64_t>{1, 2, 3, 4});
  SortSpec top2{0, -1, ast::StatsFn::Count, 2};
  CHECK(first_keys(store.snapshot(a, top2)) == std::vector<int64_t>{1, 3});
  SortSpec none{0, -1, ast::StatsFn::Count, 0};
  CHECK(store.snapshot(a, none).empty());
}

TEST_CASE("foreach over statistics sorts by the chosen extractor", "[store]") {
  Fixture f;
  const uint32_t s = f.add("s", ast::Type::Stats, {ast::Type::String});
  Store store(f.program, f.layout, nullptr);
  for (int i = 0; i < 3; ++i) CHECK(store.stats_add(s, {KeyPart(std::string("many"))}, 1));
  CHECK(store.stats_add(s, {KeyPart(std::string("big"))}, 100));
  auto by_count = store.snapshot(s, {0, -1, ast::StatsFn::Count});
  REQUIRE(by_count.size() == 2);
  CHECK(std::get<std::string>(by_count[0].key[0]) == "many");
  auto by_sum = store.snapshot(s, {0, -1, ast::StatsFn::Sum});
  CHECK(std::get<std::string>(by_sum[0].key[0]) == "big");
  auto stats = store.get_stats(s, {KeyPart(std::string("many"))});
  REQUIRE(stats);
  CHECK(stats->count == 3);
  CHECK(stats->sum == 3);
}

TEST_CASE("statistics extractors", "[stats]") {
  StatsValue v = kEmptyStats;
  for (int64_t x : {5, -3, 10}) stats_observe(v, x);
  CHECK(stats_extract(v, ast::StatsFn::Count) == 3);
  CHECK(stats_extract(v, ast::StatsFn::Sum) == 12);
  CHECK(stats_extract(v, ast::StatsFn::Min) == -3);
  CHECK(stats_extract(v, ast::StatsFn::Max) == 10);
  CHECK(stats_extract(v, ast::StatsFn::Avg) == 4);
  CHECK(v.sum_sq == 25 + 9 + 100);
}

TEST_CASE("per-CPU statistics merge: counts add, min/max only over CPUs with data", "[stats]") {
  const uint32_t value_size = sizeof(StatsValue);
  const uint32_t stride = percpu_stride(value_size);
  std::vector<uint8_t> raw(3 * stride, 0);
  StatsValue cpu0{2, 30, 10, 20, 500, 0, 0, 0};
  StatsValue cpu1 = kEmptyStats;  // nothing observed: its min/max of 0 must not count
  StatsValue cpu2{1, 50, 50, 50, 2500, 0, 0, 0};
  std::memcpy(raw.data(), &cpu0, sizeof cpu0);
  std::memcpy(raw.data() + stride, &cpu1, sizeof cpu1);
  std::memcpy(raw.data() + 2 * stride, &cpu2, sizeof cpu2);
  StatsValue merged = merge_percpu_stats(raw, 3, value_size);
  CHECK(merged.count == 3);
  CHECK(merged.sum == 80);
  CHECK(merged.min == 10);
  CHECK(merged.max == 50);
  CHECK(merged.sum_sq == 3000);

  // Negative values: min below zero survives an empty CPU.
  StatsValue neg{1, -7, -7, -7, 49, 0, 0, 0};
  std::memcpy(raw.data() + 2 * stride, &neg, sizeof neg);
  merged = merge_percpu_stats(raw, 3, value_size);
  CHECK(merged.min == -7);
  CHECK(merged.max == 20);
}

TEST_CASE("keys pack like the BPF side and unpack back", "[maps]") {
  Fixture f;
  f.layout.options.max_string_len = 8;
  const uint32_t g = f.add("m", ast::Type::Long, {ast::Type::Long, ast::Type::String});
  const GlobalLayout &gl = f.layout.globals[g];
  REQUIRE(gl.key_size == 16);
  Bytes packed = pack_key(gl, Key{KeyPart(int64_t{0x0102}), KeyPart(std::string("abcdefghij"))});
  CHECK(packed[0] == 0x02);
  CHECK(packed[1] == 0x01);
  CHECK(packed[7] == 0);
  CHECK(std::string(reinterpret_cast<const char *>(&packed[8])) == "abcdefg");  // truncated, NUL-terminated
  Key back = unpack_key(gl, packed.data());
  CHECK(std::get<int64_t>(back[0]) == 0x0102);
  CHECK(std::get<std::string>(back[1]) == "abcdefg");
  Key negative = unpack_key(gl, pack_key(gl, Key{KeyPart(int64_t{-2}), KeyPart(std::string())}).data());
  CHECK(std::get<int64_t>(negative[0]) == -2);
}

TEST_CASE("a full host array refuses new keys", "[store]") {
  Fixture f;
  f.layout.options.max_map_entries = 2;
  const uint32_t a = f.add("a", ast::Type::Long, {ast::Type::Long});
  Store store(f.program, f.layout, nullptr);
  CHECK(store.set_long(a, k(1), 1));
  CHECK(store.set_long(a, k(2), 1));
  CHECK_FALSE(store.set_long(a, k(3), 1));  // the caller reports the overflow
  CHECK(store.set_long(a, k(1), 5));        // existing keys still update
  CHECK(store.get_long(a, k(1)) == 5);
  CHECK_FALSE(store.exists(a, k(3)));
  CHECK(store.losses().empty());  // only kernel-side losses are counted
}

TEST_CASE("a kernel global without a loaded object is refused", "[store]") {
  Fixture f;
  const uint32_t a = f.add("a", ast::Type::Long, {ast::Type::Long});
  f.layout.globals[a].placement = Placement::Kernel;
  CHECK_THROWS(Store(f.program, f.layout, nullptr));
}

namespace {

// Real BPF maps standing in for a loaded object (needs root; skipped otherwise).
struct KernelMaps {
  int globals_fd = -1;
  uint8_t *globals = nullptr;
  size_t globals_len = 4096;
  std::vector<int> fds;
  bool ok = false;

  explicit KernelMaps(uint32_t globals_size) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
    globals_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "globals", 4, globals_size, 1, &opts);
    if (globals_fd < 0) return;
    void *p = mmap(nullptr, globals_len, PROT_READ | PROT_WRITE, MAP_SHARED, globals_fd, 0);
    if (p == MAP_FAILED) return;
    globals = static_cast<uint8_t *>(p);
    ok = true;
  }
  int add(bpf_map_type type, uint32_t key_size, uint32_t value_size, uint32_t max_entries) {
    const int fd = bpf_map_create(type, nullptr, key_size, value_size, max_entries, nullptr);
    fds.push_back(fd);
    return fd;
  }
  ~KernelMaps() {
    if (globals) munmap(globals, globals_len);
    if (globals_fd >= 0) close(globals_fd);
    for (int fd : fds)
      if (fd >= 0) close(fd);
  }
};

void put_percpu(int fd, const Bytes &key, const std::vector<StatsValue> &per_cpu) {
  const uint32_t stride = percpu_stride(sizeof(StatsValue));
  std::vector<uint8_t> buffer(stride * possible_cpus(), 0);
  for (size_t cpu = 0; cpu < per_cpu.size() && cpu < possible_cpus(); ++cpu)
    std::memcpy(buffer.data() + cpu * stride, &per_cpu[cpu], sizeof(StatsValue));
  REQUIRE(bpf_map_update_elem(fd, key.data(), buffer.data(), BPF_ANY) == 0);
}

}  // namespace

TEST_CASE("kernel scalars and per-CPU statistics maps", "[store][bpf]") {
  KernelMaps maps(64);
  if (!maps.ok) {
    WARN("cannot create BPF maps here (not root?): skipped");
    return;
  }
  Fixture f;
  const uint32_t total = f.add("total", ast::Type::Long);
  const uint32_t hits = f.add("hits", ast::Type::Stats, {ast::Type::Long});
  f.layout.globals[total].placement = Placement::Kernel;
  f.layout.globals[total].scalar_offset = 8;
  f.layout.globals[total].scalar_size = 8;
  GlobalLayout &hl = f.layout.globals[hits];
  hl.placement = Placement::Kernel;
  hl.per_cpu = true;
  hl.map_names = {"g_hits"};
  hl.overflow_offset = 16;
  const int fd = maps.add(BPF_MAP_TYPE_PERCPU_HASH, hl.key_size, hl.value_size, hl.max_entries);
  REQUIRE(fd >= 0);
  KernelAccess access{maps.globals, [&](const std::string &name) { return name == "g_hits" ? fd : -1; }, [] {}};
  Store store(f.program, f.layout, &access);

  CHECK(store.set_long(total, {}, 99));
  int64_t raw = 0;
  std::memcpy(&raw, maps.globals + 8, 8);
  CHECK(raw == 99);

  put_percpu(fd, pack_key(hl, k(0x1234)), {{2, 4, 1, 3, 10, 0, 0, 0}, {1, 9, 9, 9, 81, 0, 0, 0}});
  auto stats = store.get_stats(hits, k(0x1234));
  REQUIRE(stats);
  CHECK(stats->count == (possible_cpus() > 1 ? 3 : 2));
  CHECK(store.stats_add(hits, k(0x1234), 100));
  CHECK(store.get_stats(hits, k(0x1234))->max == 100);
  CHECK(store.snapshot(hits, {}).size() == 1);
  store.clear(hits);
  CHECK(store.snapshot(hits, {}).empty());

  const uint64_t kernel_overflows = 3;
  std::memcpy(maps.globals + 16, &kernel_overflows, 8);
  auto losses = store.losses();
  REQUIRE(losses.size() == 1);
  CHECK(losses[0].lost == 3);
}

TEST_CASE("double-buffered statistics drain the idle buffer once per probe run", "[store][bpf]") {
  KernelMaps maps(64);
  if (!maps.ok) {
    WARN("cannot create BPF maps here (not root?): skipped");
    return;
  }
  Fixture f;
  const uint32_t drops = f.add("drops", ast::Type::Stats, {ast::Type::Long});
  GlobalLayout &gl = f.layout.globals[drops];
  gl.placement = Placement::Kernel;
  gl.per_cpu = true;
  gl.double_buffered = true;
  gl.generation_offset = 0;
  gl.overflow_offset = 8;
  gl.map_names = {"g_drops_0", "g_drops_1"};
  const int fd0 = maps.add(BPF_MAP_TYPE_PERCPU_HASH, gl.key_size, gl.value_size, gl.max_entries);
  const int fd1 = maps.add(BPF_MAP_TYPE_PERCPU_HASH, gl.key_size, gl.value_size, gl.max_entries);
  REQUIRE(fd0 >= 0);
  REQUIRE(fd1 >= 0);
  int waits = 0;
  KernelAccess access{maps.globals,
                      [&](const std::string &name) { return name == "g_drops_0" ? fd0 : name == "g_drops_1" ? fd1 : -1; },
                      [&] { ++waits; }};
  Store store(f.program, f.layout, &access);
  auto generation = [&] {
    uint64_t g;
    std::memcpy(&g, maps.globals, 8);
    return g;
  };

  // The "kernel" writes buffer 0 (generation 0).
  put_percpu(fd0, pack_key(gl, k(1)), {{5, 5, 1, 1, 5, 0, 0, 0}});
  store.begin_probe_run();
  CHECK(store.get_stats(drops, k(1))->count == 5);
  CHECK(generation() == 1);
  CHECK(waits == 1);
  // Writes arriving during this run go to buffer 1 and are not seen until the next run.
  put_percpu(fd1, pack_key(gl, k(1)), {{2, 2, 1, 1, 2, 0, 0, 0}});
  CHECK(store.get_stats(drops, k(1))->count == 5);
  store.clear(drops);  // foreach … delete: only what was read is gone
  CHECK(waits == 1);

  store.begin_probe_run();
  auto entries = store.snapshot(drops, {0, -1});
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].value.stats.count == 2);
  CHECK(generation() == 2);
  std::vector<uint8_t> value(percpu_stride(sizeof(StatsValue)) * possible_cpus());
  CHECK(bpf_map_lookup_elem(fd1, pack_key(gl, k(1)).data(), value.data()) != 0);  // drained

  store.drain_double_buffered();  // at end: nothing more, nothing lost
  CHECK(store.get_stats(drops, k(1))->count == 2);
}
