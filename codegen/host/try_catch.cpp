// try { ... } catch (msg) { ... } in user probes.
//
// Every place that can fail (a site call followed by a check, error(),
// assert(), a script function that failed) leaves through leave_on_failure():
// inside a try it branches to the catch block instead of returning from the
// probe. The catch block clears the runtime's error flag (ntap_catch) and,
// for `catch (msg)`, looks the failed site's message up in a table of all
// sites that is generated once the whole module is lowered.
#include "codegen/host/lowering.h"

namespace ntap::host {
namespace {

constexpr const char *kSiteMessageFunction = "ntap_site_message";

llvm::Function *site_message_function(ModuleContext &module) {
  llvm::LLVMContext &ctx = module.module.getContext();
  auto *type = llvm::FunctionType::get(llvm::PointerType::getUnqual(ctx), {llvm::Type::getInt32Ty(ctx)}, false);
  return llvm::cast<llvm::Function>(module.module.getOrInsertFunction(kSiteMessageFunction, type).getCallee());
}

}  // namespace

void ProbeLowering::leave_on_failure() {
  if (catch_targets.empty()) {
    leave_probe();
    return;
  }
  const CatchTarget &target = catch_targets.back();
  if (open_iterators.size() > target.iterator_depth) {
    llvm::FunctionCallee end = runtime("ntap_foreach_end");
    for (size_t i = open_iterators.size(); i-- > target.iterator_depth;)
      builder_.CreateCall(end, {builder_.CreateLoad(ptr(), open_iterators[i], "iter")});
  }
  builder_.CreateBr(target.block);
}

void ProbeLowering::try_stmt(const ast::TryStmt &s) {
  llvm::BasicBlock *catch_block = new_block("catch");
  llvm::BasicBlock *done = new_block("try_end");
  record_actions(0, s.loc, true);  // what ran before the try is not caught
  catch_targets.push_back({catch_block, open_iterators.size()});
  stmt(*s.try_block);
  record_actions(0, s.try_block->loc, true);
  catch_targets.pop_back();
  builder_.CreateBr(done);

  builder_.SetInsertPoint(catch_block);
  llvm::Value *site = builder_.CreateCall(runtime("ntap_catch", s.loc), {rt_});
  if (s.catch_local) {
    // error(msg) with a computed message carries it; every other error's
    // text is its site's.
    llvm::Value *computed = builder_.CreateCall(runtime("ntap_caught_message", s.loc), {rt_});
    llvm::Value *fixed = builder_.CreateCall(site_message_function(module_), {site});
    llvm::Value *message = builder_.CreateSelect(builder_.CreateIsNull(computed), fixed, computed, "message");
    builder_.CreateStore(message, local_slot(*s.catch_local, s.loc));
  }
  // Catching costs one action, so a caught MAXACTION error fails again here,
  // at the try, as in stap: running out of actions cannot be caught away.
  record_actions(1, s.loc, true);
  stmt(*s.catch_block);
  record_actions(0, s.catch_block->loc, true);
  builder_.CreateBr(done);
  builder_.SetInsertPoint(done);
}

void define_site_messages(ModuleContext &module) {
  llvm::Function *fn = module.module.getFunction(kSiteMessageFunction);
  if (!fn || !fn->empty()) return;
  fn->setLinkage(llvm::GlobalValue::InternalLinkage);
  llvm::LLVMContext &ctx = module.module.getContext();
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  auto constant = [&](const std::string &text) -> llvm::Constant * {
    auto it = module.string_constants.find(text);
    if (it != module.string_constants.end()) return it->second;
    return module.string_constants[text] = b.CreateGlobalStringPtr(text, "site_message");
  };
  llvm::BasicBlock *unknown = llvm::BasicBlock::Create(ctx, "unknown", fn);
  llvm::SwitchInst *by_site = b.CreateSwitch(fn->getArg(0), unknown, module.sites.size());
  for (size_t i = 0; i < module.sites.size(); ++i) {
    llvm::BasicBlock *block = llvm::BasicBlock::Create(ctx, "site", fn);
    by_site->addCase(b.getInt32(static_cast<uint32_t>(i)), block);
    b.SetInsertPoint(block);
    b.CreateRet(constant(module.sites[i].message));
  }
  b.SetInsertPoint(unknown);
  b.CreateRet(constant("run-time error"));
}

}  // namespace ntap::host
