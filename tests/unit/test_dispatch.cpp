// Kernel probes sharing a filtered attach point (system calls on
// raw_syscalls) are reached through one dispatcher: the plan, and what the
// code generator makes of it. Nothing is loaded.
#include <bpf/libbpf.h>

#include <catch2/catch.hpp>
#include <set>

#include "abi/layout.h"
#include "codegen/bpf/bpf_codegen.h"
#include "codegen/bpf/dispatch.h"
#include "tests/unit/support.h"

using namespace ntap;

namespace {

ast::ResolvedProbe filtered(const std::string &section, int64_t value) {
  ast::ResolvedProbe probe;
  probe.section = section;
  probe.filter_arg = 1;
  probe.filter_value = value;
  return probe;
}

std::vector<const ast::ResolvedProbe *> pointers(const std::vector<ast::ResolvedProbe> &probes) {
  std::vector<const ast::ResolvedProbe *> out;
  for (const auto &p : probes) out.push_back(&p);
  return out;
}

}  // namespace

TEST_CASE("dispatch plan: one group per attach point and filter, chains per value", "[dispatch]") {
  std::vector<ast::ResolvedProbe> probes{filtered("tp_btf/sys_enter", 39), filtered("tp_btf/sys_exit", 39),
                                         filtered("tp_btf/sys_enter", 110), filtered("tp_btf/sys_enter", 39),
                                         filtered("tp_btf/sys_exit", 5000), ast::ResolvedProbe{}};
  probes.back().section = "tp_btf/kfree_skb";  // no filter
  const auto planned = pointers(probes);
  const bpf::DispatchPlan plan = bpf::plan_dispatch(planned);
  // sys_exit has one probe in range: attached alone, as is the one out of range.
  REQUIRE(plan.groups.size() == 1);
  const bpf::DispatchGroup &group = plan.groups[0];
  CHECK(group.members == std::vector<size_t>{0, 2, 3});
  CHECK(group.heads == 111);
  CHECK(group.entries() == 114);
  CHECK(plan.roles[1].group == -1);
  CHECK(plan.roles[4].group == -1);
  CHECK(plan.roles[5].group == -1);
  CHECK(plan.roles[3].group == 0);
  CHECK(plan.roles[3].index == 2);

  // 39 starts with probe 0, which hands on to probe 3 (its chain entry is
  // heads + 0); 110 starts with probe 2.
  const auto entries = bpf::table_entries(group, planned);
  REQUIRE(entries.size() == 3);
  CHECK((entries[0].index == 39 && entries[0].member == 0));
  CHECK((entries[1].index == 110 && entries[1].member == 2));
  CHECK((entries[2].index == 111 && entries[2].member == 3));
}

TEST_CASE("dispatch plan: beyond the kernel's tail call limit probes stay attached", "[dispatch]") {
  std::vector<ast::ResolvedProbe> probes(40, filtered("tp_btf/sys_enter", 0));
  const bpf::DispatchPlan plan = bpf::plan_dispatch(pointers(probes));
  REQUIRE(plan.groups.size() == 1);
  CHECK(plan.groups[0].members.size() == 32);
  CHECK(plan.roles[31].group == 0);
  CHECK(plan.roles[32].group == -1);
}

TEST_CASE("system call probes compile to a dispatcher and chained programs", "[dispatch][bpf]") {
  auto c = test::check_script(
      "global n\n"
      "probe kernel.syscall(\"openat\"), kernel.syscall(\"read\") { n++ }\n"
      "probe kernel.syscall(\"openat\") { n-- }\n"
      "probe kernel.syscall(\"close\").return { n += 2 }\n");
  Layout layout = Layout::build(*c->program, LayoutOptions{});
  BpfCodegenOptions options;
  options.keep_ir = true;
  BpfObject object = compile_kernel_probes(*c->program, layout, options);
  // Three entry programs and their dispatcher; the lone return probe keeps
  // its own attachment and filter.
  REQUIRE(object.programs.size() == 5);
  std::set<std::string> attached;
  for (const BpfProgramInfo &info : object.programs)
    if (info.attached) attached.insert(info.function_name);
  CHECK(attached == std::set<std::string>{"dispatch_0", "probe_2_0"});
  REQUIRE(object.tail_calls.size() == 3);
  for (const TailCallEntry &entry : object.tail_calls) CHECK(entry.map == "dispatch_table_0");
  // openat (257) runs probe 0's first program, then probe 1's.
  CHECK(object.programs[object.tail_calls[0].program].function_name == "probe_0_0");
  CHECK(object.tail_calls[0].index == 257);
  CHECK(object.programs[object.tail_calls[1].program].function_name == "probe_0_1");
  CHECK(object.tail_calls[1].index == 0);
  CHECK(object.programs[object.tail_calls[2].program].function_name == "probe_1_0");
  CHECK(object.tail_calls[2].index == 258);

  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  bpf_object *obj = bpf_object__open_mem(object.units[0].elf.data(), object.units[0].elf.size(), &opts);
  REQUIRE(libbpf_get_error(obj) == 0);
  bpf_map *table = bpf_object__find_map_by_name(obj, "dispatch_table_0");
  REQUIRE(table);
  CHECK(bpf_map__type(table) == BPF_MAP_TYPE_PROG_ARRAY);
  CHECK(bpf_map__max_entries(table) == 258 + 3);
  CHECK(bpf_map__key_size(table) == 4);
  CHECK(bpf_map__value_size(table) == 4);
  bpf_program *dispatcher = bpf_object__find_program_by_name(obj, "dispatch_0");
  REQUIRE(dispatcher);
  CHECK(std::string(bpf_program__section_name(dispatcher)) == "tp_btf/sys_enter");
  bpf_object__close(obj);
  // Every program of the group and the dispatcher make tail calls (helper 12).
  size_t tail_calls = 0;
  for (size_t at = object.ir.find("inttoptr (i64 12 to ptr)"); at != std::string::npos;
       at = object.ir.find("inttoptr (i64 12 to ptr)", at + 1))
    ++tail_calls;
  CHECK(tail_calls >= 4);
}
