// The records kernel probes send to user space through the BPF ring buffer
// (docs/architecture.md, decision 5). A record is a header followed by the packed
// arguments of one output call, encoded as RecordFormat describes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "frontend/ast.h"

namespace ntap {

enum class RecordKind : uint16_t {
  Output = 1,  // printf/print/println: id = index into BpfObject::records
  Exit = 2,    // exit() in a kernel probe: id unused
  // A run-time error in a kernel probe: id = index into BpfObject::error_sites;
  // for a site whose message_in_record is set, the payload is the message
  // (a NUL-terminated string in a MAXSTRINGLEN slot).
  Error = 3,
  // warn(msg) in a kernel probe: the payload is the message (a MAXSTRINGLEN
  // slot), written to stderr as "WARNING: msg"; id unused.
  Warning = 4,
  // The end of a probe hit whose output records carry a group: what the hit
  // printed is written out now, in one piece. id unused.
  HitEnd = 5,
};

// One probe hit's output stays together (as stap keeps it): a program that
// may send several output records in one hit tags each with a group naming
// the CPU and nesting level it runs at (1 + cpu * Layout::kNestingLevels +
// level; 0: not grouped), and ends the hit with a HitEnd record. Records of
// other CPUs interleave in the ring buffer; the runtime holds a group's text
// until its HitEnd.
struct RecordHeader {
  RecordKind kind;
  uint16_t group;
  uint32_t id;
};

// How a value rendered in user space was carried from the kernel.
// KernelStack*: the Long is a stack id in Layout::kStacksMap (negative: the
// stack was lost, counted in Layout::stacks_lost_offset): print_backtrace's
// lines, backtrace()'s hex addresses. probefunc()/probemod(): of a kernel
// address (0: none, ""), or, in tracepoints, of the caller a stack id shows.
// Usymname and Usymdata carry 16 bytes: the address, then the process id
// whose mappings say which file it is in.
// Ubacktrace and SprintUbacktrace carry a stack id of Layout::kUserStacksMap
// (negative: the stack could not be taken) and the process id.
// KernelSyms and UserSyms (sprint_syms, sprint_usyms) are the lines of a
// kernel or user stack as stap's print_syms writes them: each address as
// callers() spells it, " : ", its symdata.
enum class RenderFn : uint8_t {
  None,
  Symname,
  Symdata,
  Ctime,
  DropReasonName,
  TzCtime,
  KernelStack,
  KernelStackHex,
  Probefunc,
  ProbefuncStack,
  Probemod,
  ProbemodStack,
  Usymname,
  Usymdata,
  Ubacktrace,
  SprintUbacktrace,
  Symfileline,
  Symfile,
  Symline,
  KernelSyms,
  UserSyms,
};
inline bool renders_user_address(RenderFn fn) {
  return fn == RenderFn::Usymname || fn == RenderFn::Usymdata || fn == RenderFn::Ubacktrace ||
         fn == RenderFn::SprintUbacktrace || fn == RenderFn::UserSyms;
}
inline bool renders_user_stack(RenderFn fn) {
  return fn == RenderFn::Ubacktrace || fn == RenderFn::SprintUbacktrace || fn == RenderFn::UserSyms;
}

// Which part of a carried stack a value is (stap's stack(n), callers(n)).
// Every part but Whole carries one more word, last in the value's slot: the
// depth n (a long the probe computed).
enum class StackPart : uint8_t {
  Whole,        // the stack as taken (backtrace(), ubacktrace())
  Callers,      // frames 0..n, or all for n = -1 (callers(n), ucallers(n))
  KernelFrame,  // the address at depth n of a kernel stack id (stack(n)),
  UserFrame,    // ... of a user stack id (ustack(n)); `render` then renders it
};

struct RecordArg {
  enum class Kind : uint8_t { Long, String } kind;
  RenderFn render = RenderFn::None;   // Long carrying an address/time to render
  StackPart part = StackPart::Whole;  // a stack's id: which part of it
  uint32_t offset = 0;                // within the payload after the header
  uint32_t size = 0;                  // 8 for Long, the string buffer size for String
};

struct RecordFormat {
  uint32_t format_id = 0;  // ast::Program::formats index (the printf format)
  std::vector<RecordArg> args;
  uint32_t payload_size = 0;
  std::string probe_point;  // pp() of the probe sending it (--format json names it)
  // Process probes: the probed program, whose symbols user addresses are
  // rendered from when the process has exited (a program not built as PIE).
  std::string binary;
};

// A place in a kernel probe that can fail at run time (division by zero...).
struct ErrorSite {
  Location loc;
  std::string message;  // "division by 0 near operator '/'"
  // error(msg) with a computed msg: the text travels in the record instead.
  bool message_in_record = false;
  // A fault at a kernel address (kernel_string, kernel_long...): the record
  // carries the 8-byte address, which replaces "%p" in `message` as stap
  // prints it (0x and 16 hex digits).
  bool address_in_record = false;
};

}  // namespace ntap
