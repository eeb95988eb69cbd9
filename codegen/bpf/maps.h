// The maps of a Layout as seen from BPF code: their `.maps` declarations and
// the instruction sequences that read and write them (lookup, update with
// overflow accounting, atomic adds, statistics updates).
#pragma once
#include <functional>
#include <map>
#include <utility>
#include <vector>
#include <string>

#include "codegen/bpf/module_builder.h"
#include "abi/layout.h"

namespace ntap::bpf {

class MapAccess {
 public:
  // Knows every kernel-placed map of `layout`, "globals" and "events". With
  // `declare_all` the module declares all of them (the object that creates
  // the maps); otherwise each is declared at its first use, so a module
  // holding a share of the programs describes only the maps they touch.
  // Except the maps only some programs need (on_demand): the ring buffer
  // (mapped by the runtime: 2 MiB of resident memory for nothing when no
  // program prints) and the string scratch area. The object that creates the
  // maps declares those with map() once some unit's programs turned out to
  // use them.
  MapAccess(ModuleBuilder &mb, const Layout &layout, bool declare_all);
  static bool on_demand(const std::string &name);
  std::vector<std::string> declared_on_demand() const;

  // Emitted at the top of each program: looks up the "globals" element once
  // (an array map lookup never fails, but the verifier needs the null check).
  void begin_program();
  // The element as looked up by the function being built. A map walk's
  // callback is a function of its own: it calls begin_program() and gives
  // the caller's base back when it is done.
  llvm::Value *globals_base() const { return globals_base_; }
  void set_globals_base(llvm::Value *base) { globals_base_ = base; }

  llvm::GlobalVariable *map(const std::string &name);
  // A program array of `entries` slots for tail calls (codegen/bpf/dispatch.h),
  // declared like the layout's maps: defined by the object that declares
  // all, shared by the others.
  llvm::GlobalVariable *program_array(const std::string &name, uint32_t entries);
  llvm::GlobalVariable *events() { return map(Layout::kEventsMap); }

  // A per-CPU i64 holding a probe hit's MAXACTION budget while a map walk's
  // callbacks spend it (map_walk.cpp); programs that may interrupt others on
  // their CPU (perf events, in NMI context) get a word of their own.
  llvm::Value *walk_budget(bool interrupting);

  // Pointer to a byte offset inside the "globals" value.
  llvm::Value *global_ptr(uint32_t offset);
  // Atomic u64 add at `ptr` (other CPUs update the same words).
  void atomic_add(llvm::Value *ptr, llvm::Value *delta);
  // Counts an insert that failed because the map of `g` was full.
  void count_overflow(const GlobalLayout &g);

  llvm::Value *lookup(llvm::GlobalVariable *map, llvm::Value *key);  // ptr or null
  llvm::Value *update(llvm::GlobalVariable *map, llvm::Value *key, llvm::Value *value,
                      uint64_t flags);  // i64: 0 or -errno
  void remove(llvm::GlobalVariable *map, llvm::Value *key);

  // long arrays: element value (0 when missing).
  llvm::Value *read_long(const GlobalLayout &g, llvm::Value *key);
  // long arrays: element pointer, or a pointer to zeroed bytes when missing.
  llvm::Value *read_bytes(const GlobalLayout &g, llvm::Value *key, llvm::Value *empty);
  // long/string arrays: stores value_size bytes at `value`; counts overflows.
  void write(const GlobalLayout &g, llvm::Value *key, llvm::Value *value);
  // long arrays: element += delta without losing concurrent updates; returns
  // the new value (a missing element counts as 0).
  llvm::Value *add_to_element(const GlobalLayout &g, llvm::Value *key, llvm::Value *delta);
  // stats (keyed or not; double-buffered or not): agg <<< value.
  void stats_add(const GlobalLayout &g, llvm::Value *key, llvm::Value *value);

 private:
  llvm::Value *array_element_or_return(const std::string &map_name, uint32_t index);
  // (update result, apply on_present after a successful insert)
  using InsertMissing = std::function<std::pair<llvm::Value *, bool>(llvm::BasicBlock *map_full)>;
  void upsert(const GlobalLayout &g, llvm::GlobalVariable *m, llvm::Value *key, const InsertMissing &insert_missing,
              const std::function<void(llvm::Value *)> &on_present);
  void stats_add_to_map(const GlobalLayout &g, llvm::GlobalVariable *map, llvm::Value *key,
                        llvm::Value *value);
  void stats_accumulate(const GlobalLayout &g, llvm::Value *stats, llvm::Value *value);
  void accumulate_variance(const GlobalLayout &g, llvm::Value *stats, llvm::Value *value, llvm::Value *old_count);
  llvm::Value *histogram_bucket(const GlobalLayout &g, llvm::Value *stats, llvm::Value *value);
  llvm::BasicBlock *block(const char *name);

  ModuleBuilder &mb_;
  const Layout &layout_;
  bool declare_all_;
  std::map<std::string, MapSpec> specs_;
  std::map<std::string, llvm::GlobalVariable *> declared_;
  llvm::Value *globals_base_ = nullptr;
  // One key slot per function for every array lookup: each lookup stores its
  // index just before the call, and a slot of its own per lookup would spend
  // stack that nested loops' callbacks share (512 bytes for the whole chain).
  std::map<llvm::Function *, llvm::AllocaInst *> array_keys_;
};

}  // namespace ntap::bpf
