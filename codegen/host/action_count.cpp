// MAXACTION in user probes: the statements one probe hit executes are
// counted, and the handler fails with stap's "MAXACTION exceeded" when the
// budget the session gives it (ntap_rt::actions_remaining) runs out.
//
// The counting follows stap's translator so the same script fails at the
// same statement: an expression statement, `delete` and `<<<` cost one
// action, queued until ten are pending or the basic block ends; `if`,
// `break`, `continue`, `next` and `return` cost one and check at once; a
// loop costs one on entry and one per iteration, checked at the end of its
// body; entering a catch block costs one. The error names the statement
// whose check failed, as stap's `near TOKEN at FILE:LINE:COL` does.
#include <cctype>
#include <string_view>

#include <fmt/format.h>

#include "codegen/host/lowering.h"

namespace ntap::host {
namespace {

// Pending actions are checked when this many have queued up (stap's value).
constexpr unsigned kMaxQueuedActions = 10;

}  // namespace

void ProbeLowering::begin_action_counting() {
  llvm::IRBuilder<> entry_builder(entry_);
  action_counter_ = entry_builder.CreateCall(runtime("ntap_action_counter"), {rt_}, "actions");
  pending_actions_ = 0;
}

void ProbeLowering::record_actions(unsigned actions, const Location &loc, bool update) {
  pending_actions_ += actions;
  if (pending_actions_ == 0 || (!update && pending_actions_ < kMaxQueuedActions)) return;
  llvm::Value *left = builder_.CreateLoad(i64(), action_counter_, "actions_left");
  left = builder_.CreateSub(left, builder_.getInt64(pending_actions_));
  builder_.CreateStore(left, action_counter_);
  pending_actions_ = 0;
  const std::string token = describe_token_at(loc);
  const uint32_t site =
      add_site(loc, token.empty() ? "MAXACTION exceeded" : fmt::format("MAXACTION exceeded near {}", token));
  fail_if(builder_.CreateICmpSLE(left, builder_.getInt64(0)), site);
}

}  // namespace ntap::host
