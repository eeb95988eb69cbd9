// Walks over kernel maps (codegen/bpf/map_walk.cpp): foreach, slices, limit
// and wildcard subscripts in kernel probes become bpf_for_each_map_elem
// callbacks; run on a made-up context (BPF_PROG_TEST_RUN) they do what stap
// does, and the verifier accepts them.
#include <unistd.h>

#include <cstring>
#include <regex>

#include <catch2/catch.hpp>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "codegen/bpf/bpf_codegen.h"
#include "abi/layout.h"
#include "support.h"

using namespace ntap;

namespace {

struct Compiled {
  std::unique_ptr<test::CheckedScript> checked;
  Layout layout;
  BpfObject object;
};

// The script's kernel probes, as raw_tp programs (which BPF_PROG_TEST_RUN runs).
// `kernel`: the host's for the tests that load what they compile.
Compiled compile(const std::string &text, const std::map<std::string, std::string> &defines = {},
                 const KernelInfo &kernel = test::fixture_kernel()) {
  Compiled c;
  c.checked = test::check_script(text, {.kernel = &kernel});
  for (auto &probe : c.checked->program->probes)
    for (auto &resolved : probe->resolved)
      if (resolved.section.rfind("tp_btf/", 0) == 0) resolved.section = "raw_tp/" + resolved.section.substr(7);
  c.layout = Layout::build(*c.checked->program, LayoutOptions::from_defines(defines));
  BpfCodegenOptions options;
  options.keep_ir = true;
  c.object = compile_kernel_probes(*c.checked->program, c.layout, options);
  return c;
}

size_t count_matches(const std::string &text, const std::string &pattern) {
  std::regex re(pattern);
  return static_cast<size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

}  // namespace

TEST_CASE("each walk over a map is a callback of its own", "[map_walk]") {
  Compiled c = compile(R"(global a, n, t
probe begin { a[1] = 1 }
probe kernel.trace("kfree_skb") {
  foreach (k in a) { foreach (j in a) n++ }
  t = [*] in a
  delete a[*]
})");
  // Three walks in the probe (the nested one inside the outer callback), one
  // for the wildcard test; `delete a[*]` with every key a wildcard too.
  CHECK(count_matches(c.object.ir, "define internal i64 @walk_") == 4);
  CHECK(count_matches(c.object.ir, "call i64 inttoptr \\(i64 164 to ptr\\)") == 4);
  REQUIRE(c.object.programs.size() == 1);
}

TEST_CASE("foreach with a slice and limit, and wildcard tests and deletes, run as in stap",
          "[map_walk][root][host]") {
  if (geteuid() != 0) {
    WARN("not root: skipping the kernel test run");
    return;
  }
  Compiled c = compile(R"(global a, total, n, found, gone, limited
probe begin { a[1, 1] = 1 }
probe kernel.trace("kfree_skb") {
  foreach ([i, j] in a[*, 2]) { total += a[i, j]; n++ }
  foreach (v = [i, j] in a limit 4) limited++
  found = [*, 3] in a
  delete a[*, 3]
  gone = !([*, 3] in a)
})",
                       {}, test::host_kernel());
  bpf_object *obj = bpf_object__open_mem(c.object.units[0].elf.data(), c.object.units[0].elf.size(), nullptr);
  REQUIRE(obj);
  REQUIRE(bpf_object__load(obj) == 0);
  int elements = bpf_map__fd(bpf_object__find_map_by_name(obj, "g_a"));
  for (int64_t i = 1; i <= 5; ++i)
    for (int64_t j = 1; j <= 3; ++j) {
      int64_t key[2] = {i, j}, value = i * 10 + j;
      REQUIRE(bpf_map_update_elem(elements, key, &value, BPF_ANY) == 0);
    }

  uint64_t ctx[2] = {0, 0};
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.ctx_in = ctx;
  opts.ctx_size_in = sizeof(ctx);
  REQUIRE(bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(obj, c.object.programs.at(0).function_name.c_str())), &opts) == 0);

  int globals = bpf_map__fd(bpf_object__find_map_by_name(obj, "globals"));
  std::vector<char> words(c.layout.globals_size);
  uint32_t zero = 0;
  REQUIRE(bpf_map_lookup_elem(globals, &zero, words.data()) == 0);
  auto word = [&](const char *name) {
    const ast::Global *g = c.checked->program->find_global(name);
    REQUIRE(g);
    REQUIRE(c.layout.of(*g).placement == Placement::Kernel);
    int64_t v;
    std::memcpy(&v, words.data() + c.layout.of(*g).scalar_offset, 8);
    return v;
  };
  CHECK(word("total") == 12 + 22 + 32 + 42 + 52);
  CHECK(word("n") == 5);
  CHECK(word("limited") == 4);
  CHECK(word("found") == 1);
  CHECK(word("gone") == 1);
  int64_t key[2] = {0, 0}, next[2];
  int left = 0;
  for (void *prev = nullptr; bpf_map_get_next_key(elements, prev, next) == 0; prev = key) {
    CHECK(next[1] != 3);
    std::memcpy(key, next, sizeof key);
    ++left;
  }
  CHECK(left == 10);
  bpf_object__close(obj);
}
