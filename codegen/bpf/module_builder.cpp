#include "codegen/bpf/module_builder.h"

#include <mutex>
#include <stdexcept>

#include <llvm/ADT/SmallVector.h>
#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/PassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/Transforms/Utils/ModuleUtils.h>

#include "codegen/bpf/bpf_codegen.h"

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
}

namespace ntap::bpf {
namespace {

// Stack slots are scarce (512 bytes): memcpyopt and dse remove the copies
// and stores that would otherwise keep string buffers alive side by side.
// InstCombine runs once each time: LLVM 19 aborts the process when one run
// leaves more to combine (as it may for the byte loops of string code)
// unless told not to check.
constexpr const char *kOptimisationPipeline =
    "function(sroa,early-cse<memssa>,instcombine<no-verify-fixpoint>,simplifycfg,gvn,memcpyopt,dse,"
    "instcombine<no-verify-fixpoint>,bpf-ir-peephole)";

// Only the BPF target is registered: initialising every target would cost
// startup time. Registration writes LLVM's target registry, so it happens
// once, before any thread creates a machine.
const llvm::Target *bpf_target() {
  static std::once_flag once;
  static const llvm::Target *target = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
    target = llvm::TargetRegistry::lookupTarget("bpfel", failure);
  });
  if (!target) throw std::runtime_error("LLVM BPF target unavailable: " + failure);
  return target;
}

// The process-wide TargetMachine is created once: building it costs more
// than generating dropwatch's whole program (docs/architecture.md, decision 7).
llvm::TargetMachine *bpf_target_machine() {
  static std::once_flag once;
  static std::unique_ptr<llvm::TargetMachine> machine;
  std::call_once(once, [] { machine = make_bpf_target_machine(); });
  return machine.get();
}

}  // namespace

std::unique_ptr<llvm::TargetMachine> make_bpf_target_machine() {
  llvm::TargetOptions options;
  // CPU v3: 32-bit jumps and atomic fetch-and-add instructions.
  return std::unique_ptr<llvm::TargetMachine>(bpf_target()->createTargetMachine(
      "bpfel", "v3", "", options, llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
}

ModuleBuilder::ModuleBuilder(const std::string &source_name)
    : context_(std::make_unique<llvm::LLVMContext>()) {
  target_ = bpf_target_machine();
  module_ = std::make_unique<llvm::Module>("ntap", *context_);
  // Triple and DataLayout before any IR: without them i64 context loads are
  // split into two u32 loads that the verifier rejects.
  module_->setTargetTriple("bpfel");
  module_->setDataLayout(target_->createDataLayout());
  ir_ = std::make_unique<llvm::IRBuilder<>>(*context_);

  // LLVM's BPF backend derives .BTF/.BTF.ext from this debug info.
  module_->addModuleFlag(llvm::Module::Warning, "Dwarf Version", 4);
  module_->addModuleFlag(llvm::Module::Warning, "Debug Info Version", llvm::DEBUG_METADATA_VERSION);
  di_ = std::make_unique<llvm::DIBuilder>(*module_);
  file_ = di_->createFile(source_name.empty() ? "<input>" : source_name, ".");
  cu_ = di_->createCompileUnit(llvm::dwarf::DW_LANG_C99, file_, "ntap", true, "", 0);

  auto *license_init = llvm::ConstantDataArray::getString(*context_, "GPL");
  // Internal: a global symbol would need BTF of its own to pass libbpf's
  // static linker (-p4 merges units); libbpf reads the section, not the name.
  auto *license = new llvm::GlobalVariable(*module_, license_init->getType(), true,
                                           llvm::GlobalValue::InternalLinkage, license_init, "_license");
  license->setSection("license");
  used_.push_back(license);
}

ModuleBuilder::~ModuleBuilder() = default;

llvm::DIType *ModuleBuilder::int_type(unsigned bits, const char *name) {
  return di_->createBasicType(name, bits, llvm::dwarf::DW_ATE_signed);
}

// `int (*)[count]`: how BTF-defined maps encode a number in a type.
llvm::DIType *ModuleBuilder::pointer_to_int_array(uint64_t count) {
  llvm::DIType *elem = int_type(32, "int");
  auto *range = di_->getOrCreateSubrange(0, static_cast<int64_t>(count));
  auto *array = di_->createArrayType(count * 32, 32, elem, di_->getOrCreateArray({range}));
  return di_->createPointerType(array, 64);
}

// `char (*)[size]`: a key or value of `size` bytes.
llvm::DIType *ModuleBuilder::pointer_to_bytes(uint64_t size) {
  llvm::DIType *elem = di_->createBasicType("char", 8, llvm::dwarf::DW_ATE_signed_char);
  auto *range = di_->getOrCreateSubrange(0, static_cast<int64_t>(size));
  auto *array = di_->createArrayType(size * 8, 8, elem, di_->getOrCreateArray({range}));
  return di_->createPointerType(array, 64);
}

llvm::GlobalVariable *ModuleBuilder::declare_map(const MapSpec &spec) {
  struct Member {
    const char *name;
    llvm::DIType *type;
  };
  std::vector<Member> members{{"type", pointer_to_int_array(spec.type)},
                              {"max_entries", pointer_to_int_array(spec.max_entries)}};
  if (spec.flags) members.push_back({"map_flags", pointer_to_int_array(spec.flags)});
  if (spec.sizes_only) {
    members.push_back({"key_size", pointer_to_int_array(spec.key_size)});
    members.push_back({"value_size", pointer_to_int_array(spec.value_size)});
  } else if (spec.key_size) {
    llvm::DIType *key = spec.int_key
                            ? di_->createPointerType(
                                  di_->createBasicType("unsigned int", 32, llvm::dwarf::DW_ATE_unsigned), 64)
                            : pointer_to_bytes(spec.key_size);
    members.push_back({"key", key});
  }
  if (spec.value_size && !spec.sizes_only) members.push_back({"value", pointer_to_bytes(spec.value_size)});

  std::vector<llvm::Metadata *> elements;
  std::vector<llvm::Type *> fields;
  uint64_t offset = 0;
  for (const auto &m : members) {
    elements.push_back(di_->createMemberType(cu_, m.name, file_, 0, 64, 64, offset,
                                             llvm::DINode::FlagZero, m.type));
    fields.push_back(llvm::PointerType::get(*context_, 0));
    offset += 64;
  }
  auto *struct_di = di_->createStructType(cu_, "", file_, 0, offset, 64, llvm::DINode::FlagZero,
                                          nullptr, di_->getOrCreateArray(elements));
  auto *struct_ty = llvm::StructType::get(*context_, fields);
  auto *var = new llvm::GlobalVariable(
      *module_, struct_ty, false,
      spec.weak ? llvm::GlobalValue::WeakAnyLinkage : llvm::GlobalValue::ExternalLinkage,
      llvm::Constant::getNullValue(struct_ty), spec.name);
  var->setSection(".maps");
  var->setAlignment(llvm::Align(8));
  auto *expr = di_->createGlobalVariableExpression(cu_, spec.name, "", file_, 0, struct_di, false);
  var->addDebugInfo(expr);
  used_.push_back(var);
  return var;
}

llvm::Value *ModuleBuilder::rodata_string(const std::string &text) {
  auto *init = llvm::ConstantDataArray::getString(*context_, text, true);
  // Internal, like _license: libbpf finds it through its section.
  auto *var = new llvm::GlobalVariable(*module_, init->getType(), true, llvm::GlobalValue::InternalLinkage, init,
                                       "rodata_string");
  var->setSection(".rodata");
  var->setAlignment(llvm::Align(8));
  return var;
}

llvm::Value *ModuleBuilder::rodata_padded_string(const std::string &text, uint32_t size) {
  llvm::GlobalVariable *&var = padded_strings_[{text, size}];
  if (var) return var;
  std::vector<uint8_t> bytes(text.begin(), text.end());
  bytes.resize(std::max<size_t>(size, text.size() + 1), 0);
  var = llvm::cast<llvm::GlobalVariable>(rodata_bytes(bytes, "string_literal"));
  return var;
}

llvm::Value *ModuleBuilder::rodata_bytes(const std::vector<uint8_t> &bytes, const char *name) {
  auto *init = llvm::ConstantDataArray::get(*context_, llvm::ArrayRef<uint8_t>(bytes));
  auto *var = new llvm::GlobalVariable(*module_, init->getType(), true, llvm::GlobalValue::InternalLinkage, init, name);
  var->setSection(".rodata");
  var->setAlignment(llvm::Align(8));
  return var;
}

llvm::Function *ModuleBuilder::begin_program(const std::string &name, const std::string &section,
                                             const Location &loc) {
  auto *ptr = llvm::PointerType::get(*context_, 0);
  auto *fn_type = llvm::FunctionType::get(ir_->getInt32Ty(), {ptr}, false);
  auto *fn = llvm::Function::Create(fn_type, llvm::GlobalValue::ExternalLinkage, name, *module_);
  fn->setSection(section);
  fn->addFnAttr(llvm::Attribute::NoUnwind);  // no .eh_frame in the object
  fn->getArg(0)->setName("ctx");

  // BTF func info needs a prototype whose parameters carry names.
  llvm::DIType *u64 = di_->createBasicType("unsigned long long", 64, llvm::dwarf::DW_ATE_unsigned);
  llvm::DIType *ctx_type = di_->createPointerType(u64, 64);
  auto *sub_type = di_->createSubroutineType(di_->getOrCreateTypeArray({int_type(32, "int"), ctx_type}));
  unsigned line = loc.line ? loc.line : 1;
  current_sp_ = di_->createFunction(cu_, name, name, file_, line, sub_type, line, llvm::DINode::FlagPrototyped,
                                    llvm::DISubprogram::SPFlagDefinition);
  fn->setSubprogram(current_sp_);
  di_->createParameterVariable(current_sp_, "ctx", 1, file_, line, ctx_type, true);
  di_->finalizeSubprogram(current_sp_);
  used_.push_back(fn);

  ir_->SetInsertPoint(llvm::BasicBlock::Create(*context_, "entry", fn));
  set_location(loc);
  return fn;
}

void ModuleBuilder::set_location(const Location &loc) {
  if (!current_sp_) return;
  unsigned line = loc.line ? loc.line : current_sp_->getLine();
  // Column 0: the verifier shows only the line (text and number), and every
  // change of location becomes a .BTF.ext line-info record, each costing the
  // BPF backend a linear search of its BTF string table (quadratic in script
  // size). One location per line keeps those records to one per line.
  ir_->SetCurrentDebugLocation(llvm::DILocation::get(*context_, line, 0, current_sp_));
}

llvm::AllocaInst *ModuleBuilder::entry_alloca(llvm::Type *type, const char *name, bool zero) {
  llvm::Function *fn = ir_->GetInsertBlock()->getParent();
  llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
  llvm::AllocaInst *slot = entry.CreateAlloca(type, nullptr, name);
  slot->setAlignment(llvm::Align(8));
  uint64_t size = module_->getDataLayout().getTypeAllocSize(type);
  if (!temporaries_.empty()) {
    ir_->CreateLifetimeStart(slot, ir_->getInt64(size));
    temporaries_.back().push_back(slot);
  }
  if (zero) ir_->CreateMemSet(slot, ir_->getInt8(0), size, llvm::Align(8));
  return slot;
}

void ModuleBuilder::begin_temporaries() { temporaries_.emplace_back(); }

void ModuleBuilder::end_temporaries() {
  std::vector<llvm::AllocaInst *> slots = std::move(temporaries_.back());
  temporaries_.pop_back();
  if (ir_->GetInsertBlock()->getTerminator()) return;  // dead code after `next`
  const llvm::DataLayout &layout = module_->getDataLayout();
  for (llvm::AllocaInst *slot : slots)
    ir_->CreateLifetimeEnd(slot, ir_->getInt64(layout.getTypeAllocSize(slot->getAllocatedType())));
}

// `static long name(void *map, void *key, void *value, void *ctx)`, the
// shape bpf_for_each_map_elem calls. libbpf needs BTF func info for every
// subprogram; the helper takes its address, so it must stay a function.
llvm::Function *ModuleBuilder::map_callback(const std::string &name, unsigned line) {
  auto *ptr = llvm::PointerType::get(*context_, 0);
  auto *fn_type = llvm::FunctionType::get(ir_->getInt64Ty(), {ptr, ptr, ptr, ptr}, false);
  auto *fn = llvm::Function::Create(fn_type, llvm::GlobalValue::InternalLinkage, name, *module_);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  fn->addFnAttr(llvm::Attribute::NoInline);
  llvm::DIType *i64 = di_->createBasicType("long", 64, llvm::dwarf::DW_ATE_signed);
  llvm::DIType *void_ptr = di_->createPointerType(nullptr, 64);
  auto *sub_type = di_->createSubroutineType(di_->getOrCreateTypeArray({i64, void_ptr, void_ptr, void_ptr, void_ptr}));
  llvm::DISubprogram *sp = di_->createFunction(cu_, name, name, file_, line, sub_type, line,
                                               llvm::DINode::FlagPrototyped,
                                               llvm::DISubprogram::SPFlagDefinition | llvm::DISubprogram::SPFlagLocalToUnit);
  fn->setSubprogram(sp);
  const char *names[] = {"map", "key", "value", "ctx"};
  for (unsigned i = 0; i < 4; ++i) {
    fn->getArg(i)->setName(names[i]);
    di_->createParameterVariable(sp, names[i], i + 1, file_, line, void_ptr, true);
  }
  di_->finalizeSubprogram(sp);
  llvm::BasicBlock::Create(*context_, "entry", fn);
  return fn;
}

llvm::Function *ModuleBuilder::delete_each_callback() {
  if (delete_each_) return delete_each_;
  delete_each_ = map_callback("delete_each", 1);
  llvm::IRBuilder<> b(&delete_each_->getEntryBlock());
  b.SetCurrentDebugLocation(llvm::DILocation::get(*context_, 1, 0, delete_each_->getSubprogram()));
  auto *ptr = llvm::PointerType::get(*context_, 0);
  auto *delete_type = llvm::FunctionType::get(b.getInt64Ty(), {ptr, ptr}, false);
  auto *delete_helper = llvm::ConstantExpr::getIntToPtr(b.getInt64(static_cast<int64_t>(Helper::MapDeleteElem)), ptr);
  b.CreateCall(delete_type, delete_helper, {delete_each_->getArg(0), delete_each_->getArg(1)});
  b.CreateRet(b.getInt64(0));  // 0: go on with the next element
  return delete_each_;
}

llvm::Function *ModuleBuilder::begin_walk_callback(const Location &loc) {
  unsigned line = loc.line ? loc.line : 1;
  llvm::Function *fn = map_callback("walk_" + std::to_string(line) + "_" + std::to_string(walk_callbacks_++), line);
  current_sp_ = fn->getSubprogram();
  ir_->SetInsertPoint(&fn->getEntryBlock());
  set_location(loc);
  return fn;
}

llvm::Function *ModuleBuilder::begin_loop_callback(const Location &loc) {
  unsigned line = loc.line ? loc.line : 1;
  const std::string name = "loop_" + std::to_string(line) + "_" + std::to_string(walk_callbacks_++);
  auto *ptr = llvm::PointerType::get(*context_, 0);
  auto *fn_type = llvm::FunctionType::get(ir_->getInt64Ty(), {ir_->getInt64Ty(), ptr}, false);
  auto *fn = llvm::Function::Create(fn_type, llvm::GlobalValue::InternalLinkage, name, *module_);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  fn->addFnAttr(llvm::Attribute::NoInline);
  llvm::DIType *i64 = di_->createBasicType("long", 64, llvm::dwarf::DW_ATE_signed);
  llvm::DIType *u64 = di_->createBasicType("unsigned long long", 64, llvm::dwarf::DW_ATE_unsigned);
  llvm::DIType *void_ptr = di_->createPointerType(nullptr, 64);
  auto *sub_type = di_->createSubroutineType(di_->getOrCreateTypeArray({i64, u64, void_ptr}));
  llvm::DISubprogram *sp = di_->createFunction(cu_, name, name, file_, line, sub_type, line,
                                               llvm::DINode::FlagPrototyped,
                                               llvm::DISubprogram::SPFlagDefinition | llvm::DISubprogram::SPFlagLocalToUnit);
  fn->setSubprogram(sp);
  fn->getArg(0)->setName("index");
  fn->getArg(1)->setName("ctx");
  di_->createParameterVariable(sp, "index", 1, file_, line, u64, true);
  di_->createParameterVariable(sp, "ctx", 2, file_, line, void_ptr, true);
  di_->finalizeSubprogram(sp);
  current_sp_ = sp;
  ir_->SetInsertPoint(llvm::BasicBlock::Create(*context_, "entry", fn));
  set_location(loc);
  return fn;
}

ModuleBuilder::Position ModuleBuilder::position() const {
  return {ir_->GetInsertBlock(), ir_->GetInsertPoint(), ir_->getCurrentDebugLocation(), current_sp_};
}

void ModuleBuilder::restore(const Position &p) {
  ir_->SetInsertPoint(p.block, p.point);
  ir_->SetCurrentDebugLocation(p.location);
  current_sp_ = p.subprogram;
}

llvm::Value *ModuleBuilder::call_helper(Helper id, llvm::Type *result, llvm::ArrayRef<llvm::Value *> args) {
  std::vector<llvm::Type *> params;
  for (auto *a : args) params.push_back(a->getType());
  auto *fn_type = llvm::FunctionType::get(result, params, false);
  auto *callee = llvm::ConstantExpr::getIntToPtr(ir_->getInt64(static_cast<int64_t>(id)),
                                                 llvm::PointerType::get(*context_, 0));
  return ir_->CreateCall(fn_type, callee, args);
}

namespace {
struct BackendDiagnostics {
  std::vector<std::pair<std::string, std::string>> *errors;
};

void collect_backend_error(const llvm::DiagnosticInfo *diagnostic, void *context) {
  const llvm::DiagnosticInfo &info = *diagnostic;
  if (info.getSeverity() != llvm::DS_Error) return;
  std::string text;
  llvm::raw_string_ostream out(text);
  llvm::DiagnosticPrinterRawOStream printer(out);
  info.print(printer);
  std::string function;
  if (const auto *unsupported = llvm::dyn_cast<llvm::DiagnosticInfoUnsupported>(&info))
    function = unsupported->getFunction().getName().str();
  static_cast<BackendDiagnostics *>(context)->errors->emplace_back(function, text);
}
}  // namespace

std::vector<char> ModuleBuilder::emit(std::string *ir_text,
                                      std::vector<std::pair<std::string, std::string>> &backend_errors,
                                      llvm::TargetMachine *target) {
  if (!target) target = target_;
  BackendDiagnostics diagnostics{&backend_errors};
  context_->setDiagnosticHandlerCallBack(collect_backend_error, &diagnostics);
  llvm::appendToCompilerUsed(*module_, used_);
  di_->finalize();
  if (ir_text) {
    llvm::raw_string_ostream out(*ir_text);
    module_->print(out, nullptr);
  }
  std::string problems;
  llvm::raw_string_ostream problem_out(problems);
  if (llvm::verifyModule(*module_, &problem_out))
    throw std::logic_error("invalid BPF IR generated: " + problems);

  {
    // The BPF backend hooks its own IR passes (CO-RE, memory access checks)
    // into the pipeline through PassBuilder(TM).
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(target);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    // Not the O2 pipeline: probe bodies are short and straight, and what they
    // need is what these passes do (allocas to registers, folding, redundant
    // loads and copies, dead branches) plus the BPF backend's verifier-friendly
    // peephole. O2's many other passes cost 30% of a large script's compile
    // time and changed nothing the verifier or the tests can see.
    llvm::ModulePassManager mpm;
    if (llvm::Error error = pb.parsePassPipeline(mpm, kOptimisationPipeline))
      throw std::logic_error("BPF optimisation pipeline: " + llvm::toString(std::move(error)));
    mpm.run(*module_, mam);
  }

  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  llvm::legacy::PassManager codegen;
  if (target->addPassesToEmitFile(codegen, stream, nullptr, llvm::CodeGenFileType::ObjectFile))
    throw std::logic_error("the BPF target cannot emit object files");
  codegen.run(*module_);
  context_->setDiagnosticHandlerCallBack(nullptr, nullptr);
  if (!backend_errors.empty()) return {};
  return std::vector<char>(buffer.begin(), buffer.end());
}

}  // namespace ntap::bpf

namespace ntap {

void prepare_kernel_codegen() { bpf::bpf_target_machine(); }

}  // namespace ntap
