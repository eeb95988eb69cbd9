// Queries on a kernel's BTF: the running kernel's /sys/kernel/btf/vmlinux,
// or a fixture's file in tests.
//
// A Btf belongs to one KernelInfo (kernel/kernel_info.h), which is passed to
// whatever asks. The BTF is loaded with libbpf the first time a query needs
// it (~7.5 ms for vmlinux); scripts that only use user probes never pay for
// it. Everything here answers from that one copy, and so do the drop reason
// names (kernel/symbols.h) and the session's tp_btf attach targets: a run
// parses the vmlinux BTF once.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/ast.h"

struct btf;

namespace ntap {

namespace btf {

// How a value of some BTF type is loaded as a language Long.
struct ScalarShape {
  uint32_t size = 8;       // 1, 2, 4 or 8 bytes
  bool is_signed = false;
};

// One argument of a tracepoint's TP_PROTO.
struct TracepointArg {
  std::string name;         // as written in TP_PROTO ("skb", "location")
  std::string c_type;       // C spelling for -L ("struct sk_buff*", as stap -L writes it)
  uint32_t type_id = 0;     // BTF type id of the argument
  uint32_t size = 8;        // bytes the argument occupies (a tp_btf ctx slot is 8)
  bool is_signed = false;
  bool is_pointer = false;
  bool points_to_struct = false;  // pointer to struct/union: `->field` chains allowed
};

// Why an access path did not resolve. NoSuchField is "the probe has no such
// variable" (the caller may fold @defined to 0); the others are real errors in
// the script (a bitfield, a struct at the end, a member of a non-pointer)
// and carry a message naming the offending component.
struct FieldError {
  enum Kind { NoSuchField, Unsupported } kind;
  std::string message;
  std::string nearest_member = {};  // NoSuchField: the member named most like the missing one, if any
};
// Hint lines for an access path that failed: the error itself when
// `with_message`, and "did you mean `member`?" when a member is close.
std::vector<std::string> field_hints(const FieldError &error, bool with_message);

// One `->field` or `[index]` of a written access path.
struct AccessComponent {
  std::string field;       // empty for a subscript
  bool subscript = false;  // [index]: its value is read from the script at run time
};

// How the value at the start of a path is held.
enum class AccessStart {
  Value,   // a value of the start type (a tracepoint argument)
  Object,  // the address of an object of the start type (@cast's pointer)
};

// The steps that compute the value (see ast::TargetStep): members of
// embedded structs and arrays fold into address arithmetic, pointers are
// loaded, and the end is loaded when it is a scalar in memory. An array at
// the end is its address, as in C (`$dev->name` is a `char *`), and so is
// anything when `address_of` is set (`&$skb->len`).
struct AccessPath {
  std::vector<ast::TargetStep> steps;
  uint32_t final_type_id = 0;
};
struct AccessResult {
  std::optional<AccessPath> path;
  std::optional<FieldError> error;
};
// The components of `$x->a[i]` / `@cast(...)->a[i]` as the path resolver takes them.
std::vector<AccessComponent> access_components(const ast::TargetVarExpr &var);

// What stap's pretty-printing ($var$, passes/pretty_print.cpp)
// needs to know of a type to print a value of it.
struct ValueShape {
  enum Kind {
    Integer,    // int, enum, bool, char (is_signed says how to print it)
    Pointer,    // printed as an address (pointee: what it points to)
    String,     // char *: the text it points to
    Composite,  // struct or union: its members
    Array,      // element and count
    CharArray,  // char[count]: the text it holds
    Other,      // float, void, function: not printable
  } kind = Other;
  bool is_signed = false;
  uint32_t pointee = 0;  // Pointer
  uint32_t element = 0;  // Array
  uint32_t count = 0;    // Array, CharArray
};

// A named member of a struct or union.
struct NamedMember {
  std::string name;
  uint32_t type_id = 0;
};

}  // namespace btf

class Btf {
 public:
  // The BTF in the file at `path` (raw BTF or an ELF file with a .BTF
  // section), loaded on first use. With `search_like_libbpf`, when `path`
  // cannot be read libbpf's own search for the running kernel's BTF
  // (/boot/vmlinux-*, ...) is tried too: for the host, never for fixtures.
  Btf(std::string path, bool search_like_libbpf);
  ~Btf();
  Btf(const Btf &) = delete;
  Btf &operator=(const Btf &) = delete;

  // The loaded BTF (loading it if needed), or nullptr when there is none:
  // load_error() then says why.
  const struct ::btf *handle() const;
  const std::string &load_error() const;
  // Whether the BTF is in memory now (loaded and not released).
  bool loaded() const;

  // Frees the BTF (~6 MB for vmlinux) once nothing needs it for a while,
  // e.g. after elaboration (docs/architecture.md, decision 7); the
  // tracepoint index and argument caches stay, and the next query that needs
  // the types loads them again. Pointers into the BTF (btf_type, names)
  // obtained before are invalid afterwards.
  void release() const;

  // True when the BTF declares `btf_trace_<event>`, i.e. the event can be
  // attached as a tp_btf / raw_tp program.
  bool has_tracepoint(std::string_view event) const;
  // The BTF id of `btf_trace_<event>`: what the kernel takes as the attach
  // target of a tp_btf program (libbpf would look it up in a second copy of
  // the vmlinux BTF; see runtime/session_kernel.cpp). nullopt when there is none.
  std::optional<uint32_t> tracepoint_attach_id(std::string_view event) const;
  // Every event name that has a `btf_trace_<event>` typedef, sorted.
  const std::vector<std::string> &tracepoint_names() const;
  // The TP_PROTO arguments of `event` (without the leading ctx pointer), or
  // nullptr when the kernel has no such raw tracepoint. Cached per event.
  const std::vector<btf::TracepointArg> *tracepoint_args(std::string_view event) const;

  btf::AccessResult resolve_access_path(uint32_t start_type_id, btf::AccessStart start,
                                        const std::vector<btf::AccessComponent> &components, bool address_of) const;
  // Gives `var` a resolved path's steps and final type: a long, resolved.
  static void take_access_path(ast::TargetVarExpr &var, btf::AccessPath &&path);

  // The struct or union @cast names, spelled as stap accepts it: "sk_buff",
  // "struct sk_buff", "union bpf_attr" or "kernel<linux/skbuff.h>:struct
  // sk_buff" (the module and header part only tell stap where to find
  // debuginfo; BTF has every kernel type). A bare name may also be a typedef of
  // one. nullopt when the kernel has no such type.
  std::optional<uint32_t> find_composite_type(std::string_view spelling) const;

  // The C spelling of a type in stap -L style ("struct sk_buff*",
  // "enum skb_drop_reason", "u32").
  std::string type_to_c(uint32_t type_id) const;
  // How a value of this type is loaded, or nullopt when it is not a scalar
  // (struct, union, array, void, function).
  std::optional<btf::ScalarShape> scalar_shape(uint32_t type_id) const;
  // `type_id` with typedefs and const/volatile/restrict/type tags peeled off.
  uint32_t skip_modifiers(uint32_t type_id) const;
  btf::ValueShape value_shape(uint32_t type_id) const;
  // The named members of a struct or union in declaration order, with the
  // members of anonymous struct/union members in their place (as C lets them
  // be named directly).
  std::vector<btf::NamedMember> named_members(uint32_t composite_type_id) const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ntap
