// Kernel function names and prototypes from vmlinux BTF.
#include "kernel/btf_functions.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fnmatch.h>
#include <linux/btf.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "kernel/btf.h"

namespace ntap {

using namespace btf;

namespace {

// FUNC names of `b` with ids from `first` on (a module's split BTF starts
// after vmlinux's types).
std::vector<std::string> collect_function_names(const struct ::btf *b, uint32_t first = 1) {
  std::vector<std::string> names;
  if (!b) return names;
  uint32_t count = btf__type_cnt(b);
  for (uint32_t id = first; id < count; ++id) {
    const btf_type *t = btf__type_by_id(b, id);
    if (!t || !btf_is_func(t)) continue;
    const char *name = btf__name_by_offset(b, t->name_off);
    if (name && *name) names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<std::string> match_names(const std::vector<std::string> &names, const std::string &pattern) {
  std::vector<std::string> matches;
  if (pattern.find_first_of("*?[") == std::string::npos) {
    if (std::binary_search(names.begin(), names.end(), pattern)) matches.push_back(pattern);
    return matches;
  }
  for (const std::string &name : names)
    if (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) matches.push_back(name);
  return matches;
}

// A C spelling for a type only a module's BTF knows ("struct foo *").
std::string module_type_c(const struct ::btf *b, uint32_t id) {
  std::string stars;
  const btf_type *t = btf__type_by_id(b, id);
  while (t && (btf_is_ptr(t) || btf_is_mod(t) || btf_is_typedef(t))) {
    if (btf_is_typedef(t)) break;
    if (btf_is_ptr(t)) stars += "*";
    t = btf__type_by_id(b, t->type);
  }
  if (!t) return "void" + stars;
  const char *name = btf__name_by_offset(b, t->name_off);
  std::string prefix = btf_is_struct(t) ? "struct " : btf_is_union(t) ? "union " : btf_is_enum(t) ? "enum " : "";
  return prefix + (name && *name ? name : "(anon)") + stars;
}

// The prototype of FUNC `func_id` in `b`; types with ids at or past
// `readable_below` are the module's own (see FunctionParam::readable).
std::optional<FunctionProto> proto_of(const Btf &vmlinux, const struct ::btf *b, int32_t func_id,
                                      uint32_t readable_below) {
  if (func_id <= 0) return std::nullopt;
  const btf_type *func = btf__type_by_id(b, func_id);
  const btf_type *proto = func ? btf__type_by_id(b, func->type) : nullptr;
  if (!proto || !btf_is_func_proto(proto)) return std::nullopt;
  auto c_type = [&](uint32_t id) { return id < readable_below ? vmlinux.type_to_c(id) : module_type_c(b, id); };
  FunctionProto out;
  const char *fname = btf__name_by_offset(b, func->name_off);
  out.name = fname ? fname : "";
  out.func_id = static_cast<uint32_t>(func_id);
  out.return_type_id = proto->type < readable_below ? proto->type : 0;
  out.return_c_type = proto->type ? c_type(proto->type) : "void";
  const btf_param *params = btf_params(proto);
  uint32_t slot = 0;
  for (uint16_t i = 0; i < btf_vlen(proto); ++i) {
    // A trailing parameter of type 0 is C's `...`.
    if (params[i].type == 0) {
      out.variadic = true;
      break;
    }
    FunctionParam param;
    const char *n = btf__name_by_offset(b, params[i].name_off);
    param.name = (n && *n) ? n : "arg" + std::to_string(i + 1);
    param.type_id = params[i].type;
    param.readable = param.type_id < readable_below;
    param.c_type = c_type(param.type_id);
    long size = btf__resolve_size(b, param.type_id);
    // The BPF trampoline passes each argument in 8-byte slots; a struct of
    // 9..16 bytes passed by value takes two.
    param.slots = size > 8 ? 2 : 1;
    param.slot = slot;
    slot += param.slots;
    out.params.push_back(std::move(param));
  }
  return out;
}

// A module's split BTF on top of vmlinux's, parsed for one question: it is
// small, and a cached copy would dangle once vmlinux's is released.
struct ModuleBtf {
  struct ::btf *handle = nullptr;
  ModuleBtf(const struct ::btf *vmlinux, const std::string &path) {
    if (vmlinux) handle = btf__parse_split(path.c_str(), const_cast<struct ::btf *>(vmlinux));
    if (libbpf_get_error(handle)) handle = nullptr;
  }
  ~ModuleBtf() { btf__free(handle); }
  ModuleBtf(const ModuleBtf &) = delete;
  ModuleBtf &operator=(const ModuleBtf &) = delete;
};

}  // namespace

// vmlinux's FUNC names and ids, indexed once: libbpf's name lookup scans
// every type, which for a pattern matching hundreds of functions costs
// seconds.
struct BtfFunctions::Index {
  std::once_flag once;
  std::vector<std::string> names;
  std::unordered_map<std::string, int32_t> ids;
};

BtfFunctions::BtfFunctions(const Btf &vmlinux, std::string module_btf_dir)
    : btf_(vmlinux), module_btf_dir_(std::move(module_btf_dir)), index_(std::make_unique<Index>()) {}

BtfFunctions::~BtfFunctions() = default;

const BtfFunctions::Index &BtfFunctions::index() const {
  Index &index = *index_;
  std::call_once(index.once, [&] {
    const struct ::btf *b = btf_.handle();
    if (!b) return;
    uint32_t count = btf__type_cnt(b);
    for (uint32_t id = 1; id < count; ++id) {
      const btf_type *t = btf__type_by_id(b, id);
      if (!t || !btf_is_func(t)) continue;
      const char *name = btf__name_by_offset(b, t->name_off);
      if (name && *name) index.ids.emplace(name, static_cast<int32_t>(id));
    }
    index.names.reserve(index.ids.size());
    for (const auto &[name, id] : index.ids) index.names.push_back(name);
    std::sort(index.names.begin(), index.names.end());
  });
  return index;
}

std::string BtfFunctions::module_btf_path(std::string_view module) const {
  return module_btf_dir_ + "/" + std::string(module);
}

const std::vector<std::string> &BtfFunctions::names() const { return index().names; }

std::vector<std::string> BtfFunctions::match(std::string_view pattern) const {
  return match_names(names(), std::string(pattern));
}

std::optional<FunctionProto> BtfFunctions::proto(std::string_view name_view) const {
  const struct ::btf *b = btf_.handle();
  if (!b) return std::nullopt;
  const Index &found = index();
  auto id = found.ids.find(std::string(name_view));
  if (id == found.ids.end()) return std::nullopt;
  return proto_of(btf_, b, id->second, btf__type_cnt(b));
}

bool BtfFunctions::module_loaded(std::string_view module) const {
  return !module.empty() && module.find('/') == std::string_view::npos &&
         ::access(module_btf_path(module).c_str(), R_OK) == 0;
}

std::vector<std::string> BtfFunctions::match_module(std::string_view module, std::string_view pattern) const {
  if (!module_loaded(module)) return {};
  const struct ::btf *vmlinux = btf_.handle();
  ModuleBtf m(vmlinux, module_btf_path(module));
  if (!m.handle) return {};
  return match_names(collect_function_names(m.handle, btf__type_cnt(vmlinux)), std::string(pattern));
}

std::optional<FunctionProto> BtfFunctions::module_proto(std::string_view module, std::string_view name) const {
  if (!module_loaded(module)) return std::nullopt;
  const struct ::btf *vmlinux = btf_.handle();
  ModuleBtf m(vmlinux, module_btf_path(module));
  if (!m.handle) return std::nullopt;
  std::string n(name);
  int32_t id = btf__find_by_name_kind(m.handle, n.c_str(), BTF_KIND_FUNC);
  if (id > 0 && static_cast<uint32_t>(id) < btf__type_cnt(vmlinux)) return std::nullopt;  // vmlinux's own
  return proto_of(btf_, m.handle, id, btf__type_cnt(vmlinux));
}

std::optional<uint32_t> BtfFunctions::member_offset(std::string_view composite, std::string_view member) const {
  if (!btf_.handle()) return std::nullopt;
  std::optional<uint32_t> type = btf_.find_composite_type(composite);
  if (!type) return std::nullopt;
  AccessResult access = btf_.resolve_access_path(*type, AccessStart::Object, {{std::string(member), false}}, true);
  if (!access.path) return std::nullopt;
  uint32_t offset = 0;
  for (const ast::TargetStep &step : access.path->steps)
    if (step.op == ast::TargetStep::Op::Add) offset += step.amount;
  return offset;
}

}  // namespace ntap
