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

bool is_keyword(std::string_view word) {
  static constexpr std::string_view keywords[] = {
      "probe", "global", "function", "if",   "else", "for",  "foreach", "in",    "limit", "return",
      "delete", "while", "break",    "continue", "next", "string", "long", "try", "catch", "private"};
  for (std::string_view k : keywords)
    if (word == k) return true;
  return false;
}

// The token at `loc`, described as stap prints tokens in run-time errors:
// `keyword`, `identifier 'x'`, `operator '{'`, `number '1'`, `string 'a'`.
std::string describe_token_at(const Location &loc) {
  if (!loc.known() || loc.col == 0) return {};
  const std::string_view line = loc.file->line(loc.line);
  const size_t start = loc.col - 1;
  if (start >= line.size()) return {};
  auto ident_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '@';
  };
  const char first = line[start];
  if (ident_char(first) && !std::isdigit(static_cast<unsigned char>(first))) {
    size_t end = start;
    while (end < line.size() && ident_char(line[end])) ++end;
    const std::string_view word = line.substr(start, end - start);
    return is_keyword(word) ? "keyword" : fmt::format("identifier '{}'", word);
  }
  if (std::isdigit(static_cast<unsigned char>(first))) {
    size_t end = start;
    while (end < line.size() && std::isalnum(static_cast<unsigned char>(line[end]))) ++end;
    return fmt::format("number '{}'", line.substr(start, end - start));
  }
  if (first == '"') {
    size_t end = start + 1;
    while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
    return fmt::format("string '{}'", line.substr(start + 1, std::min(end, line.size()) - start - 1));
  }
  static constexpr std::string_view operators[] = {"<<<", "<<=", ">>=", "++", "--", "+=", "-=", "*=", "/=",
                                                   "%=",  "&=",  "|=",  "^=", ".=", "<<", ">>", "==", "!=",
                                                   "<=",  ">=",  "&&",  "||", "=~", "!~"};
  for (std::string_view op : operators)
    if (line.substr(start, op.size()) == op) return fmt::format("operator '{}'", op);
  return fmt::format("operator '{}'", first);
}

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
