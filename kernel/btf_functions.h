// Kernel functions as vmlinux BTF describes them: their names (for
// wildcards and -l) and their prototypes (parameter names and types, the
// return type), which kernel.function probes read their context from.
#pragma once
#include <cstdint>
#include <memory>
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

}  // namespace ntap::btf

namespace ntap {

class Btf;

// The functions a kernel's BTF declares, and those of its loaded modules
// (each module's split BTF in `module_btf_dir`, /sys/kernel/btf/MODULE).
// One per KernelInfo (KernelInfo::functions()); the name index is built on
// first use and kept as strings and ids, which outlive Btf::release().
class BtfFunctions {
 public:
  BtfFunctions(const Btf &vmlinux, std::string module_btf_dir);
  ~BtfFunctions();
  BtfFunctions(const BtfFunctions &) = delete;
  BtfFunctions &operator=(const BtfFunctions &) = delete;

  // Every BTF FUNC name of vmlinux, sorted and unique.
  const std::vector<std::string> &names() const;
  // The names matching an fnmatch pattern, sorted.
  std::vector<std::string> match(std::string_view pattern) const;
  // The prototype of `name`, or nullopt when vmlinux BTF has no such function.
  std::optional<btf::FunctionProto> proto(std::string_view name) const;

  // Functions of a loaded module, from its split BTF.
  bool module_loaded(std::string_view module) const;
  std::vector<std::string> match_module(std::string_view module, std::string_view pattern) const;
  std::optional<btf::FunctionProto> module_proto(std::string_view module, std::string_view name) const;

  // The byte offset of a member of a struct in vmlinux BTF ("pt_regs", "di"),
  // or nullopt. kprobes read arguments from the registers saved in pt_regs.
  std::optional<uint32_t> member_offset(std::string_view composite, std::string_view member) const;

 private:
  struct Index;
  const Index &index() const;
  std::string module_btf_path(std::string_view module) const;

  const Btf &btf_;
  std::string module_btf_dir_;
  std::unique_ptr<Index> index_;
};

}  // namespace ntap
