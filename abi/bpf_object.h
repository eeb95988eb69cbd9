// What the BPF code generator hands the runtime: the ELF objects of the
// kernel probes, which program attaches where, and the record formats and
// error sites their ring-buffer records refer to.
#pragma once
#include <string>
#include <vector>

#include "abi/record.h"
#include "frontend/ast.h"

namespace ntap {

struct BpfProgramInfo {
  std::string function_name;       // the ELF symbol libbpf knows the program by
  const ast::Probe *probe = nullptr;
  ast::ResolvedProbe resolved;     // which concrete probe it attaches to
  size_t unit = 0;                 // the BpfObject::units entry holding it
  // false: reached by tail calls from a dispatcher (BpfObject::tail_calls),
  // so the runtime loads it but does not attach it.
  bool attached = true;
};

// A program a dispatcher reaches (codegen/bpf/dispatch.h): after loading,
// the runtime stores its fd at `index` of the program array `map`.
struct TailCallEntry {
  std::string map;
  uint32_t index = 0;
  size_t program = 0;  // into BpfObject::programs
};

// One ELF object (bpf_object__open_mem() input). A script's kernel programs
// are split over several units when there are many of them: LLVM's BPF
// backend slows down quadratically with the size of one module (its BTF
// string table), and units are emitted on several threads. Unit 0 declares
// every map of the layout; the later units declare the maps their programs
// use, and the runtime makes them share unit 0's (bpf_map__reuse_fd).
struct BpfUnit {
  std::vector<char> elf;
};

struct BpfObject {
  std::vector<BpfUnit> units;             // empty when there are no kernel probes
  std::vector<BpfProgramInfo> programs;
  std::vector<TailCallEntry> tail_calls;
  std::vector<RecordFormat> records;      // RecordKind::Output ids
  std::vector<ErrorSite> error_sites;     // RecordKind::Error ids
  std::string ir;                         // textual LLVM IR when requested (-p3)

  size_t elf_bytes() const {
    size_t total = 0;
    for (const BpfUnit &unit : units) total += unit.elf.size();
    return total;
  }
};

}  // namespace ntap
