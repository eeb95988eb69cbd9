// Kernel functions as vmlinux BTF describes them: their names (for
// wildcards and -l) and their prototypes (parameter names and types, the
// return type), which kernel.function probes read their context from.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ntap::btf {

// One parameter of a kernel function.
struct FunctionParam {
  std::string name;    // as in the source ("skb"); "argN" when BTF has no name
  std::string c_type;  // "struct sk_buff*"
  uint32_t type_id = 0;
  // The 8-byte slot the value starts at in an fentry/fexit context (a
  // struct passed by value may take two slots).
  uint32_t slot = 0;
  uint32_t slots = 1;
  // False for a module function's parameter whose type only the module's
  // BTF defines: vmlinux BTF (what target variables are resolved in) cannot
  // describe it.
  bool readable = true;
};

struct FunctionProto {
  std::string name;
  uint32_t func_id = 0;  // the BTF FUNC's id (fentry's attach target)
  std::vector<FunctionParam> params;
  uint32_t return_type_id = 0;  // 0: void
  std::string return_c_type;    // "int"; "void"
  bool variadic = false;
  // The slot fexit finds the return value in: after every parameter's.
  uint32_t return_slot() const { return params.empty() ? 0 : params.back().slot + params.back().slots; }
};

// Every BTF FUNC name of vmlinux, sorted and unique. Built on first use.
const std::vector<std::string> &function_names();

// The names matching an fnmatch pattern, sorted.
std::vector<std::string> match_functions(std::string_view pattern);

// The prototype of `name`, or nullopt when vmlinux BTF has no such function.
std::optional<FunctionProto> function_proto(std::string_view name);

// Functions of a loaded module, from its split BTF (/sys/kernel/btf/MODULE).
bool module_loaded(std::string_view module);
std::vector<std::string> match_module_functions(std::string_view module, std::string_view pattern);
std::optional<FunctionProto> module_function_proto(std::string_view module, std::string_view name);

// The byte offset of a member of a struct in vmlinux BTF ("pt_regs", "di"),
// or nullopt. kprobes read arguments from the registers saved in pt_regs.
std::optional<uint32_t> member_offset(std::string_view composite, std::string_view member);

}  // namespace ntap::btf
