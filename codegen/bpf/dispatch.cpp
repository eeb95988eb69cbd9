#include "codegen/bpf/dispatch.h"

#include "codegen/bpf/lowering.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace ntap::bpf {
namespace {

// Filter values index the table directly: system call numbers (x86_64's
// stay below 512) and flags. A larger value keeps its own attachment.
constexpr int64_t kMaxFilterValue = 4096;
// The kernel follows at most 33 tail calls in a row (MAX_TAIL_CALL_CNT); the
// dispatcher's is the first.
constexpr size_t kMaxProgramsPerValue = 32;

bool same_filter(const ast::ResolvedProbe &a, const ast::ResolvedProbe &b) {
  return a.section == b.section && a.filter_arg == b.filter_arg && a.filter_steps == b.filter_steps &&
         a.native_calls_only == b.native_calls_only;
}

}  // namespace

DispatchPlan plan_dispatch(const std::vector<const ast::ResolvedProbe *> &probes) {
  DispatchPlan plan;
  plan.roles.resize(probes.size());
  // Candidates by attach point and filter, in script order.
  std::vector<std::vector<size_t>> candidates;
  for (size_t i = 0; i < probes.size(); ++i) {
    const ast::ResolvedProbe &probe = *probes[i];
    if (probe.filter_arg < 0 || probe.filter_value < 0 || probe.filter_value >= kMaxFilterValue) continue;
    // Their links are dropped once every listed process has begun: a
    // dispatcher shared with them would keep them.
    if (probe.begins_running_process) continue;
    auto same = std::find_if(candidates.begin(), candidates.end(),
                             [&](const std::vector<size_t> &c) { return same_filter(*probes[c.front()], probe); });
    if (same == candidates.end())
      candidates.push_back({i});
    else
      same->push_back(i);
  }
  for (const std::vector<size_t> &candidate : candidates) {
    DispatchGroup group;
    std::map<int64_t, size_t> per_value;
    for (size_t i : candidate) {
      const int64_t value = probes[i]->filter_value;
      if (per_value[value]++ >= kMaxProgramsPerValue) continue;
      group.members.push_back(i);
      group.heads = std::max(group.heads, static_cast<uint32_t>(value + 1));
    }
    if (group.members.size() < 2) continue;
    group.map_name = "dispatch_table_" + std::to_string(plan.groups.size());
    for (size_t m = 0; m < group.members.size(); ++m)
      plan.roles[group.members[m]] = {static_cast<int>(plan.groups.size()), static_cast<uint32_t>(m)};
    plan.groups.push_back(std::move(group));
  }
  return plan;
}

std::vector<TableEntry> table_entries(const DispatchGroup &group, const std::vector<const ast::ResolvedProbe *> &probes) {
  std::vector<TableEntry> entries;
  std::map<int64_t, uint32_t> last_of_value;  // member index of the value's latest program
  for (uint32_t m = 0; m < group.members.size(); ++m) {
    const int64_t value = probes[group.members[m]]->filter_value;
    auto last = last_of_value.find(value);
    const uint32_t index = last == last_of_value.end() ? static_cast<uint32_t>(value) : group.heads + last->second;
    entries.push_back({index, group.members[m]});
    last_of_value[value] = m;
  }
  return entries;
}

}  // namespace ntap::bpf

// ---- lowering (ProbeLowering's dispatch methods)

namespace ntap::bpf {

void ProbeLowering::tail_call(llvm::GlobalVariable *table, llvm::Value *index) {
  state_.mb.call_helper(Helper::TailCall, ir().getInt64Ty(), {program_fn_->getArg(0), table, index});
}

void ProbeLowering::chain_to(llvm::GlobalVariable *table, uint32_t index) {
  std::vector<llvm::ReturnInst *> returns;
  for (llvm::BasicBlock &block : *program_fn_)
    if (auto *ret = llvm::dyn_cast<llvm::ReturnInst>(block.getTerminator())) returns.push_back(ret);
  for (llvm::ReturnInst *ret : returns) {
    ir().SetInsertPoint(ret);
    tail_call(table, ir().getInt32(index));
  }
}

void ProbeLowering::lower_dispatcher(llvm::GlobalVariable *table, uint32_t heads) {
  auto &b = ir();
  statement_loc_ = probe_.loc;
  llvm::Value *value = filter_operand();
  llvm::BasicBlock *known = block("dispatch"), *done = block("not_probed");
  // Compared as a whole before the table's 32-bit index is taken from it.
  b.CreateCondBr(b.CreateICmpULT(value, i64(heads)), known, done);
  b.SetInsertPoint(known);
  leave_unless_native_call(done);
  tail_call(table, b.CreateTrunc(value, b.getInt32Ty()));
  b.CreateBr(done);
  b.SetInsertPoint(done);
  b.CreateRet(b.getInt32(0));
}

}  // namespace ntap::bpf
