// Ring-buffer records sent by kernel probes (docs/architecture.md, decision 5):
// printf/print/println output, exit() requests and run-time errors.
#include <string_view>

#include "codegen/bpf/lowering.h"
#include "frontend/builtins.h"
#include "frontend/walk.h"

namespace ntap::bpf {

using namespace ast;

RenderFn deferred_render(std::string_view name) {
  if (name == "symname") return RenderFn::Symname;
  if (name == "symdata") return RenderFn::Symdata;
  if (name == "symfileline") return RenderFn::Symfileline;
  if (name == "symfile") return RenderFn::Symfile;
  if (name == "symline") return RenderFn::Symline;
  if (name == "ctime") return RenderFn::Ctime;
  if (name == "tz_ctime") return RenderFn::TzCtime;
  if (name == "drop_reason_name") return RenderFn::DropReasonName;
  if (name == "usymname") return RenderFn::Usymname;
  if (name == "usymdata") return RenderFn::Usymdata;
  if (name == "ubacktrace") return RenderFn::Ubacktrace;
  if (name == "sprint_ubacktrace" || name == "sprint_ustack") return RenderFn::SprintUbacktrace;
  return RenderFn::None;
}

namespace {

uint32_t round_up8(uint32_t n) { return (n + 7) & ~7u; }

bool is_deferred_call(const Expr &e) {
  if (e.kind != ExprKind::Call) return false;
  const auto &call = ast::cast<CallExpr>(e);
  return call.builtin && (call.builtin->flags & Builtin::Deferred);
}

// Reserves header+payload in "events", lets `fill` write the payload, submits.
// A full ring buffer is counted in the globals word the runtime reports.
template <typename Fill>
void send_record(ProbeLowering &p, RecordKind kind, uint32_t id, uint32_t payload_size, Fill fill) {
  auto &b = p.ir();
  CodegenState &state = p.state();
  uint64_t size = sizeof(RecordHeader) + payload_size;
  llvm::Value *record = state.mb.call_helper(Helper::RingbufReserve, b.getPtrTy(),
                                             {state.maps.events(), b.getInt64(size), b.getInt64(0)});
  llvm::BasicBlock *lost = p.block("record_lost");
  llvm::BasicBlock *reserved = p.block("record_reserved");
  llvm::BasicBlock *done = p.block("record_done");
  b.CreateCondBr(b.CreateIsNull(record), lost, reserved);

  b.SetInsertPoint(lost);
  state.maps.atomic_add(state.maps.global_ptr(state.layout.ringbuf_lost_offset), b.getInt64(1));
  b.CreateBr(done);

  b.SetInsertPoint(reserved);
  b.CreateAlignedStore(p.record_header_word(kind), record, llvm::Align(8));
  b.CreateAlignedStore(b.getInt32(id), b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), record, 4), llvm::Align(4));
  fill(b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), record, sizeof(RecordHeader)));
  state.mb.call_helper(Helper::RingbufSubmit, b.getVoidTy(), {record, b.getInt64(0)});
  p.mark_printed();
  b.CreateBr(done);

  b.SetInsertPoint(done);
}

bool is_output_call(const CallExpr &call) {
  return call.builtin && (call.builtin->flags & Builtin::NoReturnValue) && call.format_id >= 0;
}

// Output calls a statement may make, counting a call of a script function
// as its body's (kernel probes inline them; they cannot recurse). 2 stands
// for "two or more", as does any output call inside a loop.
int output_calls(const Stmt &s, bool in_loop) {
  // The walkers take mutable nodes; nothing here changes them.
  Stmt &stmt = const_cast<Stmt &>(s);
  const bool loop =
      in_loop || s.kind == StmtKind::While || s.kind == StmtKind::For || s.kind == StmtKind::Foreach;
  int count = 0;
  ast::for_each_expr(stmt, [&](ExprPtr &slot) {
    if (!slot) return;
    ast::walk_exprs(slot, [&](ExprPtr &e) {
      if (!e || e->kind != ExprKind::Call) return;
      const auto &call = ast::cast<CallExpr>(*e);
      if (is_output_call(call)) count += loop ? 2 : 1;
      if (call.function && call.function->body) count += output_calls(*call.function->body, loop);
    });
  });
  ast::for_each_child(stmt, [&](StmtPtr &child) {
    if (child) count += output_calls(*child, loop);
  });
  return std::min(count, 2);
}

}  // namespace

bool ProbeLowering::prints_several_records(const Probe &probe) {
  return probe.body && output_calls(*probe.body, false) >= 2;
}

void ProbeLowering::group_output() {
  grouped_ = true;
  group_slot_ = state_.mb.entry_alloca(ir().getInt64Ty(), "group", false);
  printed_slot_ = state_.mb.entry_alloca(ir().getInt64Ty(), "printed", true);
  frame_base();  // the prologue that sets the group comes with the frame
}

llvm::Value *ProbeLowering::record_header_word(RecordKind kind) {
  auto &b = ir();
  llvm::Value *word = b.getInt32(static_cast<uint32_t>(kind));
  if (!grouped_) return word;
  llvm::Value *group = b.CreateAlignedLoad(b.getInt64Ty(), reach(group_slot_), llvm::Align(8), "group");
  return b.CreateOr(word, b.CreateShl(b.CreateTrunc(group, b.getInt32Ty()), 16));
}

void ProbeLowering::mark_printed() {
  if (grouped_) ir().CreateAlignedStore(i64(1), reach(printed_slot_), llvm::Align(8));
}

// The probed thread's user stack in the stack trace map, as its id
// (negative when it could not be taken: the map is full, no user context).
llvm::Value *ProbeLowering::user_stack_id(const Location &loc, const std::string &name) {
  if (resolved_.kind != ProbeKind::Uprobe)
    unsupported(loc, name + "() is only available in process probes (a user stack needs a user context)");
  auto &b = ir();
  // BPF_F_USER_STACK | BPF_F_REUSE_STACKID: a stack whose hash bucket holds
  // another replaces it, so the map never refuses a stack; equal stacks share
  // one id, which is why user space leaves them in the map.
  constexpr uint64_t kStackFlags = (1ULL << 8) | (1ULL << 10);
  llvm::Value *id = state_.mb.call_helper(Helper::GetStackid, b.getInt64Ty(),
                                          {program_context(), state_.maps.map(Layout::kUserStacksMap),
                                           b.getInt64(kStackFlags)});
  return b.CreateSExt(b.CreateTrunc(id, b.getInt32Ty()), b.getInt64Ty());
}

void ProbeLowering::output(const CallExpr &call) {
  if (call.format_id < 0) unsupported(call.loc, "internal: output call '" + call.name + "' has no format");
  // printf's first argument is its literal format, printd's its delimiter
  // (already in the format type inference made); print/println have none.
  const bool delimited = call.builtin && (call.builtin->flags & Builtin::Delimited);
  size_t first = call.name == "printf" || delimited ? 1 : 0;

  // Every argument is evaluated before the record is reserved: the verifier
  // rejects a program that can leave (say, on a division by zero) while
  // holding a reserved record.
  RecordFormat format;
  format.format_id = static_cast<uint32_t>(call.format_id);
  format.probe_point = resolved_.point;
  format.binary = resolved_.binary;
  std::vector<llvm::Value *> values;
  // Words carried after a value in its slot: a user address's process
  // (renders_user_address), then a stack part's depth (StackPart).
  std::vector<std::vector<llvm::Value *>> trailing;
  uint32_t offset = 0;
  for (size_t i = first; i < call.args.size(); ++i) {
    const Expr &arg = *call.args[i];
    RecordArg carried{RecordArg::Kind::Long};
    trailing.emplace_back();
    if (is_deferred_call(arg)) {
      const auto &deferred = ast::cast<CallExpr>(arg);
      carried.render = deferred_render(deferred.name);
      llvm::Value *depth = nullptr;
      if (llvm::Value *id = carried_stack_part(deferred, carried, depth)) {
        values.push_back(id);
      } else if (carried.render == RenderFn::None) {
        values.push_back(deferred_value(deferred, carried.render));
      } else if (renders_user_stack(carried.render)) {
        const bool of_ubacktrace = deferred.args.size() == 1 && deferred.args[0]->kind == ExprKind::Call &&
                                   ast::cast<CallExpr>(*deferred.args[0]).name == "ubacktrace";
        if (deferred.name == "sprint_ustack" && !of_ubacktrace)
          unsupported(arg.loc, "the argument of sprint_ustack() and print_ustack() must be ubacktrace() itself (the "
                               "stack travels as an id)");
        values.push_back(user_stack_id(arg.loc, deferred.name));
      } else {
        if (deferred.args.size() != 1)
          unsupported(arg.loc, "function '" + deferred.name + "' is not supported in kernel probes");
        values.push_back(long_value(*deferred.args[0]));
      }
      carried.size = 8;
      if (renders_user_address(carried.render)) {
        trailing.back().push_back(
            ir().CreateLShr(state_.mb.call_helper(Helper::GetCurrentPidTgid, ir().getInt64Ty(), {}), 32));
        carried.size += 8;
      }
      if (depth) {
        trailing.back().push_back(depth);
        carried.size += 8;
      }
    } else if (arg.type == Type::Long) {
      values.push_back(value(arg));
      carried.size = 8;
    } else if (arg.type == Type::String) {
      values.push_back(value(arg));
      carried.kind = RecordArg::Kind::String;
      carried.size = round_up8(max_string_len());
    } else {
      unsupported(arg.loc, std::string("printing a value of type ") + type_name(arg.type) +
                               " in a kernel probe is not supported yet");
    }
    carried.offset = offset;
    offset += carried.size;
    format.args.push_back(carried);
  }
  format.payload_size = offset;

  auto &records = state_.object.records;
  auto [it, inserted] = state_.record_ids.try_emplace(CodegenState::RecordKey{&call, &resolved_}, static_cast<uint32_t>(records.size()));
  if (inserted) records.push_back(format);
  state_.mb.set_location(call.loc);

  send_record(*this, RecordKind::Output, it->second, format.payload_size, [&](llvm::Value *payload) {
    auto &b = ir();
    for (size_t i = 0; i < values.size(); ++i) {
      const RecordArg &arg = format.args[i];
      llvm::Value *at = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), payload, arg.offset);
      if (arg.kind == RecordArg::Kind::String) {
        // The record is not zeroed: copy the whole slot so no stale ring
        // buffer bytes follow the string.
        copy_bytes(at, values[i], max_string_len(), llvm::MaybeAlign(1));
      } else {
        b.CreateAlignedStore(values[i], at, llvm::Align(8));
        for (size_t word = 0; word < trailing[i].size(); ++word)
          b.CreateAlignedStore(trailing[i][word], b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), at, 8 * (word + 1)),
                               llvm::Align(8));
      }
    }
  });
}

// `message` with its "%p" replaced by `address` as user space writes it for
// an uncaught error (runtime/session.cpp), into the string buffer `text`.
void ProbeLowering::format_address(llvm::Value *text, const std::string &message, llvm::Value *address) {
  std::string format;
  for (size_t i = 0; i < message.size(); ++i) {
    if (message.compare(i, 2, "%p") == 0) {
      format += "0x%016llx";
      ++i;
    } else {
      format += message[i] == '%' ? std::string("%%") : std::string(1, message[i]);
    }
  }
  snprintf_into(text, format, {address});
}

void ProbeLowering::warning(const CallExpr &call) {
  warning_text(string_value(*call.args[0]), call.loc);  // the text before the record is reserved
}

void ProbeLowering::warning_text(llvm::Value *text, const Location &loc) {
  state_.mb.set_location(loc);
  send_record(*this, RecordKind::Warning, 0, round_up8(max_string_len()), [&](llvm::Value *payload) {
    copy_bytes(payload, text, max_string_len(), llvm::MaybeAlign(1));
  });
}

void ProbeLowering::request_exit() {
  auto &b = ir();
  b.CreateAlignedStore(i64(1), state_.maps.global_ptr(state_.layout.exit_request_offset), llvm::Align(8), true);
  send_record(*this, RecordKind::Exit, 0, 0, [](llvm::Value *) {});
}

void ProbeLowering::fail_with_text(const void *site, const Location &loc, llvm::Value *text) {
  if (caught([&](llvm::Value *message) { copy_string(message, text, max_string_len()); })) return;
  auto &sites = state_.object.error_sites;
  auto [it, inserted] = state_.error_ids.try_emplace(site, static_cast<uint32_t>(sites.size()));
  if (inserted) sites.push_back(ErrorSite{loc, "error", true});
  send_record(*this, RecordKind::Error, it->second, round_up8(max_string_len()), [&](llvm::Value *payload) {
    // The whole slot: the record is not zeroed, and the text is NUL-terminated within it.
    copy_bytes(payload, text, max_string_len(), llvm::MaybeAlign(1));
  });
  end_program();
}

void ProbeLowering::fail_at_address(const void *site, const Location &loc, const std::string &message,
                                    llvm::Value *address) {
  if (caught([&](llvm::Value *text) { format_address(text, message, address); })) return;
  auto &sites = state_.object.error_sites;
  auto [it, inserted] = state_.error_ids.try_emplace(site, static_cast<uint32_t>(sites.size()));
  if (inserted) sites.push_back(ErrorSite{loc, message, false, true});
  send_record(*this, RecordKind::Error, it->second, 8, [&](llvm::Value *payload) {
    ir().CreateAlignedStore(address, payload, llvm::Align(8));
  });
  end_program();
}

void ProbeLowering::fail(const void *site, const Location &loc, const std::string &message) {
  if (caught([&](llvm::Value *text) { write_literal(text, message, true); })) return;
  auto &sites = state_.object.error_sites;
  auto [it, inserted] = state_.error_ids.try_emplace(site, static_cast<uint32_t>(sites.size()));
  if (inserted) sites.push_back(ErrorSite{loc, message});
  send_record(*this, RecordKind::Error, it->second, 0, [](llvm::Value *) {});
  end_program();
}

}  // namespace ntap::bpf
