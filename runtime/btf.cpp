// vmlinux BTF queries: tracepoint prototypes, field chains, C type names.
//
// Where a tracepoint's argument names come from: `btf_trace_<event>` is a
// typedef of a pointer to an anonymous FUNC_PROTO whose parameters carry
// types but no names (first parameter: the `void *` ctx). The kernel also
// defines one `__traceiter_<event>(void *__data, TP_PROTO...)` function per
// tracepoint (include/linux/tracepoint.h, DEFINE_TRACE_FN), and its BTF
// FUNC_PROTO has named parameters, so names are taken from there. Measured on
// 6.18: 1601 `btf_trace_` typedefs, 1602 `__traceiter_` functions, while
// `__bpf_trace_<name>` exists only per event *class* (834), so it is a
// fallback for kernels without __traceiter_ in BTF; "argN" is the last resort.
#include "runtime/btf.h"

#include <bpf/btf.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace ntap::btf {
namespace {

constexpr std::string_view kTraceTypedefPrefix = "btf_trace_";
constexpr std::string_view kTraceIterPrefix = "__traceiter_";
constexpr std::string_view kBpfTracePrefix = "__bpf_trace_";

struct VmlinuxBtf {
  // Null once released (release_vmlinux()); the next query loads it again.
  struct ::btf *handle = nullptr;
  std::mutex handle_mutex;
  std::string error;
  // Built in one pass over all types the first time a tracepoint is asked
  // about: libbpf's own name lookup is a linear scan per call.
  std::once_flag index_once;
  std::unordered_map<std::string, uint32_t> trace_typedefs;  // event -> typedef id
  std::unordered_map<std::string, uint32_t> trace_iters;     // event -> FUNC id
  std::vector<std::string> event_names;
  std::mutex args_mutex;
  std::unordered_map<std::string, std::vector<TracepointArg>> args_cache;
};

constexpr const char *kVmlinuxBtfPath = "/sys/kernel/btf/vmlinux";

// Kernels since 6.16 let /sys/kernel/btf/vmlinux be mapped. libbpf 1.1 reads
// the file into one buffer and btf__new() copies it into a second, so for a
// moment the 5.5 MB exist twice (peak RSS); from a mapping only the copy is
// ever allocated, and the read's copy out of the kernel is saved too.
struct ::btf *parse_mapped_vmlinux_btf() {
  int fd = ::open(kVmlinuxBtfPath, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  void *data = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && st.st_size > 0)
    data = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (data == MAP_FAILED) return nullptr;
  struct ::btf *handle = btf__new(data, static_cast<uint32_t>(st.st_size));
  ::munmap(data, static_cast<size_t>(st.st_size));
  return handle;  // btf__new returns NULL (libbpf 1.x) on error
}

// VmlinuxBtf holds a mutex and once_flag, which cannot be moved; build it in
// place instead of returning it from a lambda.
struct ::btf *load_vmlinux_btf(std::string &error) {
  struct ::btf *handle = parse_mapped_vmlinux_btf();
  // Older kernels, or BTF only on disk: libbpf knows where to look.
  if (!handle) handle = btf__load_vmlinux_btf();
  if (!handle) error = std::string("cannot load kernel BTF: ") + std::strerror(errno);
  return handle;
}

VmlinuxBtf &loaded_state() {
  static VmlinuxBtf *s = [] {
    auto *v = new VmlinuxBtf;  // lives for the process; the BTF may come and go
    v->handle = load_vmlinux_btf(v->error);
    return v;
  }();
  return *s;
}

const btf_type *type_at(uint32_t id) { return btf__type_by_id(vmlinux(), id); }

std::string name_of(const btf_type *t) {
  const char *n = btf__name_by_offset(vmlinux(), t->name_off);
  return n ? n : "";
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

void build_index(VmlinuxBtf &s) {
  const struct ::btf *handle = vmlinux();
  if (!handle) return;
  uint32_t count = btf__type_cnt(handle);
  for (uint32_t id = 1; id < count; ++id) {
    const btf_type *t = btf__type_by_id(handle, id);
    bool is_typedef = btf_is_typedef(t);
    if (!is_typedef && !btf_is_func(t)) continue;
    const char *raw = btf__name_by_offset(handle, t->name_off);
    if (!raw) continue;
    std::string_view name(raw);
    if (is_typedef && starts_with(name, kTraceTypedefPrefix)) {
      std::string event(name.substr(kTraceTypedefPrefix.size()));
      s.event_names.push_back(event);
      s.trace_typedefs.emplace(std::move(event), id);
    } else if (!is_typedef && starts_with(name, kTraceIterPrefix)) {
      s.trace_iters.emplace(std::string(name.substr(kTraceIterPrefix.size())), id);
    }
  }
  std::sort(s.event_names.begin(), s.event_names.end());
}

VmlinuxBtf &indexed_state() {
  VmlinuxBtf &s = loaded_state();
  std::call_once(s.index_once, [&] { build_index(s); });
  return s;
}

// The FUNC_PROTO behind `btf_trace_<event>` (typedef -> pointer -> proto).
const btf_type *trace_proto(uint32_t typedef_id) {
  const btf_type *ptr = type_at(skip_modifiers(typedef_id));
  if (!ptr || !btf_is_ptr(ptr)) return nullptr;
  const btf_type *proto = type_at(ptr->type);
  return proto && btf_is_func_proto(proto) ? proto : nullptr;
}

// Named parameters of a FUNC's prototype when it has `expected_params`
// parameters; empty otherwise.
std::vector<std::string> param_names_of_func(int32_t func_id, uint16_t expected_params) {
  if (func_id <= 0) return {};
  const btf_type *func = type_at(func_id);
  if (!func || !btf_is_func(func)) return {};
  const btf_type *proto = type_at(func->type);
  if (!proto || !btf_is_func_proto(proto) || btf_vlen(proto) != expected_params) return {};
  std::vector<std::string> names;
  const btf_param *params = btf_params(proto);
  for (uint16_t i = 0; i < btf_vlen(proto); ++i) {
    const char *n = btf__name_by_offset(vmlinux(), params[i].name_off);
    names.emplace_back(n ? n : "");
  }
  return names;
}

std::vector<std::string> tracepoint_param_names(VmlinuxBtf &s, const std::string &event, uint16_t params) {
  auto iter = s.trace_iters.find(event);
  std::vector<std::string> names;
  if (iter != s.trace_iters.end()) names = param_names_of_func(iter->second, params);
  if (names.empty()) {
    std::string fallback = std::string(kBpfTracePrefix) + event;
    names = param_names_of_func(btf__find_by_name_kind(vmlinux(), fallback.c_str(), BTF_KIND_FUNC), params);
  }
  return names;
}

std::vector<TracepointArg> build_args(VmlinuxBtf &s, const std::string &event, uint32_t typedef_id) {
  const btf_type *proto = trace_proto(typedef_id);
  std::vector<TracepointArg> args;
  if (!proto) return args;
  uint16_t params = btf_vlen(proto);
  std::vector<std::string> names = tracepoint_param_names(s, event, params);
  const btf_param *p = btf_params(proto);
  // Parameter 0 is the tracepoint's `void *__data` ctx, not a TP_PROTO argument.
  for (uint16_t i = 1; i < params; ++i) {
    TracepointArg arg;
    arg.name = (i < names.size() && !names[i].empty()) ? names[i] : "arg" + std::to_string(i - 1);
    arg.type_id = p[i].type;
    arg.c_type = type_to_c(arg.type_id);
    if (auto shape = scalar_shape(arg.type_id)) {
      arg.size = shape->size;
      arg.is_signed = shape->is_signed;
    }
    const btf_type *t = type_at(skip_modifiers(arg.type_id));
    arg.is_pointer = t && btf_is_ptr(t);
    if (arg.is_pointer) {
      const btf_type *target = type_at(skip_modifiers(t->type));
      arg.points_to_struct = target && btf_is_composite(target);
    }
    args.push_back(std::move(arg));
  }
  return args;
}

struct MemberHit {
  uint32_t bit_offset = 0;
  uint32_t bitfield_size = 0;
  uint32_t type_id = 0;
};

// Finds `name` in a struct/union, descending into anonymous members the way
// C name lookup does (sk_buff keeps most fields inside anonymous unions).
bool find_member(const btf_type *composite, const std::string &name, MemberHit &hit) {
  const btf_member *members = btf_members(composite);
  for (uint16_t i = 0; i < btf_vlen(composite); ++i) {
    const char *raw = btf__name_by_offset(vmlinux(), members[i].name_off);
    std::string_view member_name = raw ? raw : "";
    uint32_t bit_offset = btf_member_bit_offset(composite, i);
    if (member_name == name) {
      hit.bit_offset = bit_offset;
      hit.bitfield_size = btf_member_bitfield_size(composite, i);
      hit.type_id = members[i].type;
      return true;
    }
    if (!member_name.empty()) continue;
    const btf_type *inner = type_at(skip_modifiers(members[i].type));
    if (inner && btf_is_composite(inner) && find_member(inner, name, hit)) {
      hit.bit_offset += bit_offset;
      return true;
    }
  }
  return false;
}

// Old-style BTF bitfields are INT types narrower than their storage.
bool is_int_bitfield(uint32_t type_id) {
  const btf_type *t = type_at(skip_modifiers(type_id));
  return t && btf_is_int(t) && (btf_int_offset(t) != 0 || btf_int_bits(t) != t->size * 8);
}

std::string composite_c_name(const btf_type *t, bool is_union) {
  std::string name = name_of(t);
  return std::string(is_union ? "union " : "struct ") + (name.empty() ? "{...}" : name);
}

}  // namespace

const struct ::btf *vmlinux() {
  VmlinuxBtf &s = loaded_state();
  std::lock_guard lock(s.handle_mutex);
  if (!s.handle && s.error.empty()) s.handle = load_vmlinux_btf(s.error);
  return s.handle;
}

void release_vmlinux() {
  VmlinuxBtf &s = loaded_state();
  std::lock_guard lock(s.handle_mutex);
  btf__free(s.handle);
  s.handle = nullptr;
}

const std::string &load_error() { return loaded_state().error; }

uint32_t skip_modifiers(uint32_t type_id) {
  for (;;) {
    const btf_type *t = type_at(type_id);
    if (!t || !(btf_is_mod(t) || btf_is_typedef(t))) return type_id;
    type_id = t->type;
  }
}

std::optional<ScalarShape> scalar_shape(uint32_t type_id) {
  if (!vmlinux()) return std::nullopt;
  const btf_type *t = type_at(skip_modifiers(type_id));
  if (!t || type_id == 0) return std::nullopt;
  if (btf_is_ptr(t)) return ScalarShape{8, false};
  uint32_t size = t->size;
  if (size != 1 && size != 2 && size != 4 && size != 8) return std::nullopt;
  if (btf_is_int(t)) return ScalarShape{size, (btf_int_encoding(t) & BTF_INT_SIGNED) != 0};
  // For enums the kind flag marks a signed enumerator set.
  if (btf_is_any_enum(t)) return ScalarShape{size, btf_kflag(t)};
  return std::nullopt;
}

bool has_tracepoint(std::string_view event) {
  VmlinuxBtf &s = indexed_state();
  return s.trace_typedefs.count(std::string(event)) != 0;
}

const std::vector<std::string> &tracepoint_names() { return indexed_state().event_names; }

std::optional<uint32_t> tracepoint_attach_id(std::string_view event) {
  VmlinuxBtf &s = indexed_state();
  auto it = s.trace_typedefs.find(std::string(event));
  if (it == s.trace_typedefs.end()) return std::nullopt;
  return it->second;
}

const std::vector<TracepointArg> *tracepoint_args(std::string_view event_view) {
  VmlinuxBtf &s = indexed_state();
  std::string event(event_view);
  auto typedef_it = s.trace_typedefs.find(event);
  if (typedef_it == s.trace_typedefs.end()) return nullptr;
  std::lock_guard<std::mutex> lock(s.args_mutex);
  auto cached = s.args_cache.find(event);
  if (cached == s.args_cache.end())
    cached = s.args_cache.emplace(event, build_args(s, event, typedef_it->second)).first;
  return &cached->second;
}

FieldResult resolve_field_chain(uint32_t pointer_type_id, const std::vector<std::string> &fields) {
  FieldResult result;
  auto fail = [&](FieldError::Kind kind, std::string message) {
    result.error = FieldError{kind, std::move(message)};
    return result;
  };
  if (!vmlinux()) return fail(FieldError::Unsupported, load_error());

  FieldChain chain;
  uint32_t current = pointer_type_id;
  // True when `current` is a struct/union embedded in the object reached by
  // the last dereference: its members add to that step's offset instead of
  // starting a new dereference (`$sk->__sk_common->skc_family`).
  bool embedded = false;
  for (const std::string &field : fields) {
    const btf_type *t = type_at(skip_modifiers(current));
    const btf_type *composite = nullptr;
    if (embedded) {
      composite = t;
    } else if (t && btf_is_ptr(t)) {
      composite = type_at(skip_modifiers(t->type));
    }
    if (!composite || !btf_is_composite(composite))
      return fail(FieldError::Unsupported, "cannot access member '" + field + "' of a value of type '" +
                                               type_to_c(current) + "' (not a pointer to a struct or union)");
    MemberHit hit;
    if (!find_member(composite, field, hit))
      return fail(FieldError::NoSuchField, "'" + composite_c_name(composite, btf_is_union(composite)) +
                                               "' has no member '" + field + "'");
    if (hit.bitfield_size != 0 || is_int_bitfield(hit.type_id))
      return fail(FieldError::Unsupported, "member '" + field + "' is a bitfield, which is not supported yet");
    uint32_t byte_offset = hit.bit_offset / 8;
    if (embedded)
      chain.offsets.back() += byte_offset;
    else
      chain.offsets.push_back(byte_offset);
    current = hit.type_id;
    const btf_type *member_type = type_at(skip_modifiers(current));
    embedded = member_type && btf_is_composite(member_type);
  }
  auto shape = embedded ? std::nullopt : scalar_shape(current);
  if (!shape)
    return fail(FieldError::Unsupported, "member '" + (fields.empty() ? std::string() : fields.back()) +
                                             "' of type '" + type_to_c(current) + "' is not a scalar");
  chain.final_shape = *shape;
  chain.final_type_id = current;
  result.chain = std::move(chain);
  return result;
}

std::string type_to_c(uint32_t type_id) {
  if (type_id == 0) return "void";
  if (!vmlinux()) return "?";
  const btf_type *t = type_at(type_id);
  if (!t) return "?";
  switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPEDEF:
      return name_of(t);
    case BTF_KIND_PTR: {
      const btf_type *target = type_at(t->type);
      if (target && btf_is_func_proto(target)) return type_to_c(target->type) + " (*)()";
      return type_to_c(t->type) + "*";
    }
    case BTF_KIND_STRUCT:
      return composite_c_name(t, false);
    case BTF_KIND_UNION:
      return composite_c_name(t, true);
    case BTF_KIND_FWD:
      return composite_c_name(t, btf_kflag(t));
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      std::string name = name_of(t);
      return "enum " + (name.empty() ? std::string("{...}") : name);
    }
    case BTF_KIND_CONST:
      return "const " + type_to_c(t->type);
    case BTF_KIND_VOLATILE:
      return "volatile " + type_to_c(t->type);
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      return type_to_c(t->type);
    case BTF_KIND_ARRAY: {
      const struct btf_array *array = btf_array(t);
      return type_to_c(array->type) + "[" + std::to_string(array->nelems) + "]";
    }
    case BTF_KIND_FUNC_PROTO:
      return type_to_c(t->type) + " ()";
    default:
      return name_of(t);
  }
}

}  // namespace ntap::btf
