// The LLVM side of the BPF code generator: one module targeting bpfel, the
// BTF-describing debug info libbpf needs (maps, program functions), helper
// calls, and the optimise-and-emit step that produces the ELF in memory.
//
// Everything that knows about LLVM's object-emission machinery lives here so
// the lowering files only build IR.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "frontend/diagnostics.h"

namespace llvm {
class TargetMachine;
}

namespace ntap::bpf {

// BPF helper function ids (include/uapi/linux/bpf.h, ___BPF_FUNC_MAPPER).
enum class Helper : int64_t {
  MapLookupElem = 1,
  MapUpdateElem = 2,
  MapDeleteElem = 3,
  KtimeGetNs = 5,
  GetStackid = 27,
  GetPrandomU32 = 7,
  GetSmpProcessorId = 8,
  TailCall = 12,
  GetCurrentPidTgid = 14,
  GetCurrentUidGid = 15,
  GetCurrentComm = 16,
  GetCurrentTask = 35,
  PerfEventReadValue = 55,
  ProbeReadUser = 112,
  ProbeReadKernel = 113,
  ProbeReadKernelStr = 115,
  Snprintf = 165,
  KtimeGetBootNs = 125,
  RingbufReserve = 131,
  RingbufSubmit = 132,
  ForEachMapElem = 164,
  Loop = 181,  // bpf_loop (Linux 5.17)
  MapLookupPercpuElem = 195,  // one CPU's value of a per-CPU map element (Linux 5.19)
};

// BPF map types and flags used by ntap (uapi values).
enum : uint32_t {
  kMapTypeHash = 1,
  kMapTypeArray = 2,
  kMapTypeProgArray = 3,
  kMapTypePerfEventArray = 4,
  kMapTypePercpuArray = 6,
  kMapTypePercpuHash = 5,
  kMapTypeStackTrace = 7,
  kMapTypeLruHash = 9,
  kMapTypeLruPercpuHash = 10,
  kMapTypeRingbuf = 27,
  kMapTypeTaskStorage = 29,
};
enum : uint64_t { kUpdateAny = 0, kUpdateNoExist = 1 };
constexpr uint32_t kMapFlagMmapable = 1u << 10;
constexpr uint32_t kMapFlagNoPrealloc = 1u << 0;

// What a `.maps` entry declares. key_size/value_size 0 = no key/value member
// (ring buffers). An array map's key must be described as a 32-bit int.
struct MapSpec {
  std::string name;
  uint32_t type = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  bool int_key = false;
  // Sizes without types (key_size, value_size): the kernel takes no BTF
  // types for maps whose values are file descriptors (program arrays).
  bool sizes_only = false;
  // Declared again in a unit that uses a map another unit defines: a weak
  // symbol, so libbpf's static linker can merge the units into one object.
  bool weak = false;
};

// A BPF TargetMachine of its own, for a thread emitting modules beside the
// one that uses the process-wide machine.
std::unique_ptr<llvm::TargetMachine> make_bpf_target_machine();

class ModuleBuilder {
 public:
  explicit ModuleBuilder(const std::string &source_name);
  ~ModuleBuilder();
  ModuleBuilder(const ModuleBuilder &) = delete;
  ModuleBuilder &operator=(const ModuleBuilder &) = delete;

  llvm::LLVMContext &context() { return *context_; }
  llvm::Module &module() { return *module_; }
  llvm::IRBuilder<> &ir() { return *ir_; }

  // A BTF-defined map: a global in section ".maps" whose debug type has the
  // members libbpf reads (type, max_entries, map_flags, key, value).
  llvm::GlobalVariable *declare_map(const MapSpec &spec);

  // A NUL-terminated constant in ".rodata", which libbpf loads into a frozen,
  // read-only map: the only place helpers taking a constant string (such as
  // bpf_snprintf's format) accept it from. Returns its address.
  llvm::Value *rodata_string(const std::string &text);
  // `text` padded with NULs to `size` bytes, one per distinct text and size.
  llvm::Value *rodata_padded_string(const std::string &text, uint32_t size);
  // The same for a table of bytes (a regex DFA's, codegen/bpf/regex_bpf.cpp).
  llvm::Value *rodata_bytes(const std::vector<uint8_t> &bytes, const char *name);

  // Starts `int name(u64 *ctx)` in `section`; the builder is positioned in
  // its entry block. Returns the function; its only argument is ctx.
  llvm::Function *begin_program(const std::string &name, const std::string &section,
                                const Location &loc);
  // Attaches the script location to the instructions built next, so the
  // verifier log (through .BTF.ext line info) points at the script.
  void set_location(const Location &loc);

  // A stack slot in the current function's entry block (where the verifier
  // and LLVM's stack colouring expect them), zero-initialised at the
  // current insertion point when `zero` is set.
  // Inside a temporary scope the slot is also marked live from here to the
  // scope's end, so LLVM can give slots of different statements the same
  // stack bytes: BPF programs have only 512 of them.
  llvm::AllocaInst *entry_alloca(llvm::Type *type, const char *name, bool zero);
  void begin_temporaries();
  void end_temporaries();  // ends the lifetimes of the innermost scope's slots

  // `static long delete_each(map, key, value, ctx)`: a bpf_for_each_map_elem
  // callback deleting every element it is given (one per module). Built
  // without disturbing the current insertion point.
  llvm::Function *delete_each_callback();
  // A fresh callback of that shape for a walk over a map (foreach, wildcard
  // subscripts), named after the script line; the builder is left in its
  // entry block. Save the position first and restore it afterwards.
  llvm::Function *begin_walk_callback(const Location &loc);
  // `static long name(u64 index, void *ctx)`, bpf_loop's callback, begun
  // the same way.
  llvm::Function *begin_loop_callback(const Location &loc);
  struct Position {
    llvm::BasicBlock *block;
    llvm::BasicBlock::iterator point;
    llvm::DebugLoc location;
    llvm::DISubprogram *subprogram;
  };
  Position position() const;
  void restore(const Position &p);

  // call (inttoptr id) with the given result type (void allowed).
  llvm::Value *call_helper(Helper id, llvm::Type *result, llvm::ArrayRef<llvm::Value *> args);

  // Optimises (a short pipeline, module_builder.cpp) and emits the object file.
  // `ir_text`, when given, receives the module's IR before optimisation.
  // Backend errors (a program needing too much stack...) are returned in
  // `backend_errors` as (function name, message) instead of ending the process.
  // `target` is the thread's own TargetMachine when modules are emitted on
  // several threads at once (LLVM does not share one between threads); null
  // means the process-wide one.
  std::vector<char> emit(std::string *ir_text,
                         std::vector<std::pair<std::string, std::string>> &backend_errors,
                         llvm::TargetMachine *target = nullptr);

 private:
  llvm::DIType *int_type(unsigned bits, const char *name);
  llvm::DIType *pointer_to_int_array(uint64_t count);
  llvm::DIType *pointer_to_bytes(uint64_t size);
  llvm::Function *map_callback(const std::string &name, unsigned line);

  std::unique_ptr<llvm::LLVMContext> context_;
  std::unique_ptr<llvm::Module> module_;
  std::unique_ptr<llvm::IRBuilder<>> ir_;
  std::unique_ptr<llvm::DIBuilder> di_;
  llvm::DICompileUnit *cu_ = nullptr;
  llvm::DIFile *file_ = nullptr;
  llvm::DISubprogram *current_sp_ = nullptr;
  llvm::Function *delete_each_ = nullptr;
  unsigned walk_callbacks_ = 0;
  std::map<std::pair<std::string, uint32_t>, llvm::GlobalVariable *> padded_strings_;
  std::vector<llvm::GlobalValue *> used_;
  std::vector<std::vector<llvm::AllocaInst *>> temporaries_;
  llvm::TargetMachine *target_ = nullptr;
};

}  // namespace ntap::bpf
