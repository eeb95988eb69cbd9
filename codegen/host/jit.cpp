#include "codegen/host/jit.h"

#include <mutex>
#include <string_view>

#include <fmt/format.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/TargetSelect.h>

#include "codegen/host/host_codegen.h"
#include "frontend/diagnostics.h"

namespace ntap::host {
namespace {

[[noreturn]] void fail(std::string_view what, llvm::Error err) {
  throw CompileError(ErrorKind::Codegen, fmt::format("{}: {}", what, llvm::toString(std::move(err))), Location{});
}

template <typename T>
T take(llvm::Expected<T> value, std::string_view what) {
  if (!value) fail(what, value.takeError());
  return std::move(*value);
}

void initialize_native_target() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

// LLVM may turn simple loops or aggregate copies into calls to these libc
// routines; they are the only process symbols generated code may reach.
bool is_libc_helper(const llvm::orc::SymbolStringPtr &name) {
  static const llvm::StringRef allowed[] = {"memset", "memcpy", "memmove", "memcmp"};
  for (llvm::StringRef a : allowed)
    if (*name == a) return true;
  return false;
}

}  // namespace

Jit::Jit(const ntap_symbol *runtime_symbols) {
  initialize_native_target();
  auto target = take(llvm::orc::JITTargetMachineBuilder::detectHost(), "cannot target this host");
  // Probe bodies are short and run rarely (begin/end/timers): startup counts
  // more than the code. Measured for a small probe, JIT creation + compile
  // takes ~2 ms with FastISel (None) and ~4 ms at Default; no IR pass
  // pipeline is run for the same reason.
  target.setCodeGenOptLevel(llvm::CodeGenOptLevel::None);
  jit_ = take(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(target)).create(),
              "cannot create the JIT");

  llvm::orc::JITDylib &main = jit_->getMainJITDylib();
  llvm::orc::SymbolMap symbols;
  for (const ntap_symbol *s = runtime_symbols; s && s->name; ++s) {
    if (!s->address) continue;
    symbols[jit_->mangleAndIntern(s->name)] = {
        llvm::orc::ExecutorAddr::fromPtr(s->address),
        llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  }
  if (auto err = main.define(llvm::orc::absoluteSymbols(std::move(symbols))))
    fail("cannot bind the runtime API", std::move(err));

  char prefix = jit_->getDataLayout().getGlobalPrefix();
  main.addGenerator(take(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix, is_libc_helper),
                         "cannot bind libc helpers"));
}

Jit::~Jit() = default;

void Jit::configure(llvm::Module &module) const {
  module.setDataLayout(jit_->getDataLayout());
  module.setTargetTriple(jit_->getTargetTriple().str());
}

void Jit::add(std::unique_ptr<llvm::LLVMContext> context, std::unique_ptr<llvm::Module> module) {
  llvm::orc::ThreadSafeModule tsm(std::move(module), std::move(context));
  if (auto err = jit_->addIRModule(std::move(tsm))) fail("cannot add the user probes to the JIT", std::move(err));
}

void *Jit::lookup(const std::string &name) {
  auto addr = take(jit_->lookup(name), fmt::format("cannot compile '{}'", name));
  return addr.toPtr<void *>();
}

}  // namespace ntap::host

namespace ntap {

void prepare_user_codegen() { host::initialize_native_target(); }

}  // namespace ntap
