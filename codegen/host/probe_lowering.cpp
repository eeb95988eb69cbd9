// The frame of one probe function: entry block, locals, sites, and the one
// way out of the probe that ends open foreach iterators.
#include <fmt/format.h>

#include "codegen/host/lowering.h"

namespace ntap::host {

ProbeLowering::ProbeLowering(ModuleContext &module, const ast::Probe &probe)
    : module_(module), probe_(&probe), builder_(module.module.getContext()) {}

ProbeLowering::ProbeLowering(ModuleContext &module, const ast::Function &function)
    : module_(module), script_fn_(&function), builder_(module.module.getContext()) {}

// The entry block holds only allocas and local initialisation; it jumps to
// the body once everything is lowered, so locals created on the way still
// land in it.
void ProbeLowering::begin_function(llvm::Function *fn) {
  function_ = fn;
  rt_ = function_->getArg(0);
  rt_->setName("rt");
  entry_ = llvm::BasicBlock::Create(ctx(), "entry", function_);
  builder_.SetInsertPoint(new_block("body"));
  begin_action_counting();
}

std::string ProbeLowering::lower() {
  std::string name = fmt::format("probe_{}", probe_->id);
  auto *fn_type = llvm::FunctionType::get(builder_.getVoidTy(), {ptr()}, false);
  auto *fn = llvm::Function::Create(fn_type, llvm::Function::ExternalLinkage, name, module_.module);
  fn->setDoesNotThrow();
  begin_function(fn);
  llvm::BasicBlock *body = builder_.GetInsertBlock();
  for (const auto &local : probe_->locals) local_slot(*local, local->decl);

  stmt(*probe_->body);
  record_actions(0, probe_->body->loc, true);
  if (!builder_.GetInsertBlock()->getTerminator()) builder_.CreateRetVoid();

  llvm::IRBuilder<> entry_builder(entry_);
  entry_builder.CreateBr(body);
  return name;
}

void ProbeLowering::lower_function() {
  begin_function(module_.functions.at(script_fn_));
  next_flag_ = function_->getArg(1);
  llvm::BasicBlock *body = builder_.GetInsertBlock();
  // Every call gets fresh locals: parameters from the arguments, the rest 0 / "".
  for (const auto &local : script_fn_->locals) local_slot(*local, local->decl);
  for (size_t i = 0; i < script_fn_->params.size(); ++i)
    builder_.CreateStore(function_->getArg(2 + i), local_slot(*script_fn_->locals[i], script_fn_->loc));

  stmt(*script_fn_->body);
  record_actions(0, script_fn_->body->loc, true);
  if (!builder_.GetInsertBlock()->getTerminator())
    builder_.CreateRet(zero_value(script_fn_->result, script_fn_->loc));

  llvm::IRBuilder<> entry_builder(entry_);
  entry_builder.CreateBr(body);
}

llvm::BasicBlock *ProbeLowering::new_block(const char *name) {
  return llvm::BasicBlock::Create(ctx(), name, function_);
}

void ProbeLowering::continue_in_dead_block() { builder_.SetInsertPoint(new_block("after_jump")); }

llvm::AllocaInst *ProbeLowering::entry_alloca(llvm::Type *type, const char *name) {
  llvm::IRBuilder<> entry_builder(entry_, entry_->begin());
  return entry_builder.CreateAlloca(type, nullptr, name);
}

llvm::Type *ProbeLowering::value_type(ast::Type t, const Location &loc) {
  switch (t) {
    case ast::Type::Long:
    case ast::Type::Unknown:  // never given a value: any representation works
      return i64();
    case ast::Type::String: return ptr();
    case ast::Type::Stats: break;
  }
  throw CompileError(ErrorKind::Codegen, "an aggregate has no value of its own here; use @count, @sum, ...", loc);
}

llvm::Value *ProbeLowering::zero_value(ast::Type t, const Location &loc) {
  if (t == ast::Type::String) return string_constant("");
  return llvm::ConstantInt::get(value_type(t, loc), 0);
}

llvm::Constant *ProbeLowering::string_constant(const std::string &text) {
  auto [it, inserted] = module_.string_constants.try_emplace(text, nullptr);
  if (inserted) {
    auto *init = llvm::ConstantDataArray::getString(ctx(), text, true);
    auto *var = new llvm::GlobalVariable(module_.module, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                         init, "str");
    var->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    var->setAlignment(llvm::Align(1));
    it->second = var;
  }
  return it->second;
}

llvm::Value *ProbeLowering::local_slot(const ast::Local &local, const Location &loc) {
  auto it = locals_.find(&local);
  if (it != locals_.end()) return it->second;
  llvm::AllocaInst *slot = entry_alloca(value_type(local.type, loc), local.name.c_str());
  // Locals start as 0 / "" each time the probe runs.
  llvm::IRBuilder<> entry_builder(entry_);
  entry_builder.SetInsertPoint(entry_, entry_->end());
  entry_builder.CreateStore(zero_value(local.type, loc), slot);
  locals_.emplace(&local, slot);
  return slot;
}

uint32_t ProbeLowering::add_site(const Location &loc, std::string message) {
  module_.sites.push_back(RuntimeSite{loc, std::move(message)});
  return static_cast<uint32_t>(module_.sites.size() - 1);
}

void ProbeLowering::leave_probe() {
  llvm::FunctionCallee end = open_iterators.empty() ? llvm::FunctionCallee() : runtime("ntap_foreach_end");
  for (auto it = open_iterators.rbegin(); it != open_iterators.rend(); ++it)
    builder_.CreateCall(end, {builder_.CreateLoad(ptr(), *it, "iter")});
  if (script_fn_)
    builder_.CreateRet(zero_value(script_fn_->result, script_fn_->loc));
  else
    builder_.CreateRetVoid();
}

void ProbeLowering::check_failed() {
  llvm::Value *failed = builder_.CreateCall(runtime("ntap_failed"), {rt_});
  llvm::BasicBlock *bad = new_block("failed");
  llvm::BasicBlock *ok = new_block("ok");
  builder_.CreateCondBr(builder_.CreateICmpNE(failed, builder_.getInt64(0)), bad, ok);
  builder_.SetInsertPoint(bad);
  leave_on_failure();
  builder_.SetInsertPoint(ok);
}

uint32_t ProbeLowering::overflow_site(const ast::Global &global, bool element, const Location &loc) {
  if (!element || global.wrap) return NTAP_NO_SITE;
  const std::string limit =
      global.max_entries ? fmt::format("size limit ({})", global.max_entries) : std::string("MAXMAPENTRIES");
  return add_site(loc, fmt::format("Array overflow, check {} near identifier '{}'", limit, global.name));
}

void ProbeLowering::call_writer(const char *name, std::vector<llvm::Value *> args, uint32_t site,
                                const Location &loc) {
  args.push_back(builder_.getInt32(site));
  builder_.CreateCall(runtime(name, loc), args);
  if (site != NTAP_NO_SITE) check_failed();
}

void ProbeLowering::fail_if(llvm::Value *is_bad, uint32_t site, llvm::Value *message) {
  llvm::BasicBlock *bad = new_block("error");
  llvm::BasicBlock *ok = new_block("ok");
  builder_.CreateCondBr(is_bad, bad, ok);
  builder_.SetInsertPoint(bad);
  if (message)
    builder_.CreateCall(runtime("ntap_fail_with_message"), {rt_, builder_.getInt32(site), message});
  else
    builder_.CreateCall(runtime("ntap_fail_at"), {rt_, builder_.getInt32(site)});
  leave_on_failure();
  builder_.SetInsertPoint(ok);
}

}  // namespace ntap::host
