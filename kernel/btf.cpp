// BTF queries: tracepoint prototypes, field chains, C type names.
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
#include "kernel/btf.h"

#include <bpf/btf.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <utility>


namespace ntap {

using namespace btf;

namespace {

constexpr std::string_view kTraceTypedefPrefix = "btf_trace_";
constexpr std::string_view kTraceIterPrefix = "__traceiter_";
constexpr std::string_view kBpfTracePrefix = "__bpf_trace_";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The tracepoint names found in one pass over all types the first time a
// tracepoint is asked about: libbpf's own name lookup is a linear scan per call.
struct TraceIndex {
  std::unordered_map<std::string, uint32_t> typedefs;  // event -> btf_trace_ typedef id
  std::unordered_map<std::string, uint32_t> iters;     // event -> __traceiter_ FUNC id
  std::vector<std::string> event_names;
};

// Reads of one loaded BTF: every query below goes through the handle it
// holds, so the same code answers for the running kernel and for a fixture.
class View {
 public:
  explicit View(const struct ::btf *handle) : h_(handle) {}

  const btf_type *type_at(uint32_t id) const { return btf__type_by_id(h_, id); }

  std::string name_of(const btf_type *t) const {
    const char *n = btf__name_by_offset(h_, t->name_off);
    return n ? n : "";
  }

  uint32_t skip_modifiers(uint32_t type_id) const {
    for (;;) {
      const btf_type *t = type_at(type_id);
      if (!t || !(btf_is_mod(t) || btf_is_typedef(t))) return type_id;
      type_id = t->type;
    }
  }

  std::optional<ScalarShape> scalar_shape(uint32_t type_id) const {
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

  std::string composite_c_name(const btf_type *t, bool is_union) const {
    std::string name = name_of(t);
    return std::string(is_union ? "union " : "struct ") + (name.empty() ? "{...}" : name);
  }

  std::string type_to_c(uint32_t type_id) const {
    if (type_id == 0) return "void";
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

  TraceIndex build_index() const {
    TraceIndex index;
    uint32_t count = btf__type_cnt(h_);
    for (uint32_t id = 1; id < count; ++id) {
      const btf_type *t = btf__type_by_id(h_, id);
      bool is_typedef = btf_is_typedef(t);
      if (!is_typedef && !btf_is_func(t)) continue;
      const char *raw = btf__name_by_offset(h_, t->name_off);
      if (!raw) continue;
      std::string_view name(raw);
      if (is_typedef && starts_with(name, kTraceTypedefPrefix)) {
        std::string event(name.substr(kTraceTypedefPrefix.size()));
        index.event_names.push_back(event);
        index.typedefs.emplace(std::move(event), id);
      } else if (!is_typedef && starts_with(name, kTraceIterPrefix)) {
        index.iters.emplace(std::string(name.substr(kTraceIterPrefix.size())), id);
      }
    }
    std::sort(index.event_names.begin(), index.event_names.end());
    return index;
  }

  // The FUNC_PROTO behind `btf_trace_<event>` (typedef -> pointer -> proto).
  const btf_type *trace_proto(uint32_t typedef_id) const {
    const btf_type *ptr = type_at(skip_modifiers(typedef_id));
    if (!ptr || !btf_is_ptr(ptr)) return nullptr;
    const btf_type *proto = type_at(ptr->type);
    return proto && btf_is_func_proto(proto) ? proto : nullptr;
  }

  // Named parameters of a FUNC's prototype when it has `expected_params`
  // parameters; empty otherwise.
  std::vector<std::string> param_names_of_func(int32_t func_id, uint16_t expected_params) const {
    if (func_id <= 0) return {};
    const btf_type *func = type_at(func_id);
    if (!func || !btf_is_func(func)) return {};
    const btf_type *proto = type_at(func->type);
    if (!proto || !btf_is_func_proto(proto) || btf_vlen(proto) != expected_params) return {};
    std::vector<std::string> names;
    const btf_param *params = btf_params(proto);
    for (uint16_t i = 0; i < btf_vlen(proto); ++i) {
      const char *n = btf__name_by_offset(h_, params[i].name_off);
      names.emplace_back(n ? n : "");
    }
    return names;
  }

  std::vector<std::string> tracepoint_param_names(const TraceIndex &index, const std::string &event,
                                                  uint16_t params) const {
    auto iter = index.iters.find(event);
    std::vector<std::string> names;
    if (iter != index.iters.end()) names = param_names_of_func(iter->second, params);
    if (names.empty()) {
      std::string fallback = std::string(kBpfTracePrefix) + event;
      names = param_names_of_func(btf__find_by_name_kind(h_, fallback.c_str(), BTF_KIND_FUNC), params);
    }
    return names;
  }

  std::vector<TracepointArg> build_args(const TraceIndex &index, const std::string &event, uint32_t typedef_id) const {
    const btf_type *proto = trace_proto(typedef_id);
    std::vector<TracepointArg> args;
    if (!proto) return args;
    uint16_t params = btf_vlen(proto);
    std::vector<std::string> names = tracepoint_param_names(index, event, params);
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
  bool find_member(const btf_type *composite, const std::string &name, MemberHit &hit) const {
    const btf_member *members = btf_members(composite);
    for (uint16_t i = 0; i < btf_vlen(composite); ++i) {
      const char *raw = btf__name_by_offset(h_, members[i].name_off);
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
  bool is_int_bitfield(uint32_t type_id) const {
    const btf_type *t = type_at(skip_modifiers(type_id));
    return t && btf_is_int(t) && (btf_int_offset(t) != 0 || btf_int_bits(t) != t->size * 8);
  }

  // char, signed char, unsigned char (and typedefs of them, such as u8): what
  // stap prints as text when it pretty-prints an array or a pointer of them.
  bool is_char(const btf_type *t) const {
    if (!t || !btf_is_int(t) || t->size != 1) return false;
    return (btf_int_encoding(t) & BTF_INT_CHAR) != 0 || name_of(t).find("char") != std::string::npos;
  }

  ValueShape value_shape(uint32_t type_id) const {
    ValueShape shape;
    if (type_id == 0) return shape;
    const btf_type *t = type_at(skip_modifiers(type_id));
    if (!t) return shape;
    if (btf_is_ptr(t)) {
      shape.kind = is_char(type_at(skip_modifiers(t->type))) ? ValueShape::String : ValueShape::Pointer;
      shape.pointee = t->type;
    } else if (btf_is_composite(t)) {
      shape.kind = ValueShape::Composite;
    } else if (btf_is_array(t)) {
      const struct btf_array *array = btf_array(t);
      shape.kind = is_char(type_at(skip_modifiers(array->type))) ? ValueShape::CharArray : ValueShape::Array;
      shape.element = array->type;
      shape.count = array->nelems;
    } else if (auto scalar = scalar_shape(type_id)) {
      shape.kind = ValueShape::Integer;
      shape.is_signed = scalar->is_signed;
    }
    return shape;
  }

  std::vector<NamedMember> named_members(uint32_t composite_type_id) const {
    std::vector<NamedMember> found;
    const btf_type *t = type_at(skip_modifiers(composite_type_id));
    if (!t || !btf_is_composite(t)) return found;
    const btf_member *members = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      const char *raw = btf__name_by_offset(h_, members[i].name_off);
      if (raw && *raw) {
        found.push_back({raw, members[i].type});
        continue;
      }
      for (NamedMember &inner : named_members(members[i].type)) found.push_back(std::move(inner));
    }
    return found;
  }

  std::optional<uint32_t> find_composite_type(std::string_view spelling) const {
    size_t colon = spelling.rfind(':');
    if (colon != std::string_view::npos) spelling.remove_prefix(colon + 1);
    auto trim = [](std::string_view s) {
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      return s;
    };
    spelling = trim(spelling);
    std::vector<uint32_t> kinds{BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_TYPEDEF};
    for (auto [keyword, kind] : {std::pair<std::string_view, uint32_t>{"struct ", BTF_KIND_STRUCT},
                                 std::pair<std::string_view, uint32_t>{"union ", BTF_KIND_UNION}}) {
      if (spelling.substr(0, keyword.size()) == keyword) {
        spelling = trim(spelling.substr(keyword.size()));
        kinds = {kind};
      }
    }
    std::string name(spelling);
    for (uint32_t kind : kinds) {
      int id = btf__find_by_name_kind(h_, name.c_str(), kind);
      if (id <= 0) continue;
      uint32_t resolved = skip_modifiers(static_cast<uint32_t>(id));
      const btf_type *t = type_at(resolved);
      if (t && btf_is_composite(t)) return resolved;
    }
    return std::nullopt;
  }

 protected:
  const struct ::btf *h_;
};

// Walks an access path, one component at a time, keeping track of whether
// the value at hand is the thing itself or its address in kernel memory.
class PathWalker : View {
 public:
  PathWalker(const struct ::btf *handle, uint32_t type_id, AccessStart start)
      : View(handle), type_(type_id), in_memory_(start == AccessStart::Object),
        at_object_start_(start == AccessStart::Object) {}

  std::optional<FieldError> member(const std::string &field) {
    at_object_start_ = false;
    if (bitfield_)
      return FieldError{FieldError::Unsupported, "cannot access member '" + field + "' of a bitfield"};
    const btf_type *t = type_at(skip_modifiers(type_));
    const btf_type *composite = nullptr;
    if (t && btf_is_ptr(t)) {
      follow_pointer(t);
      composite = type_at(skip_modifiers(type_));
    } else if (in_memory_) {
      composite = t;
    }
    if (!composite || !btf_is_composite(composite))
      return FieldError{FieldError::Unsupported, "cannot access member '" + field + "' of a value of type '" +
                                                     type_to_c(type_) + "' (not a pointer to a struct or union)"};
    MemberHit hit;
    if (!find_member(composite, field, hit)) {
      std::vector<std::string> names;
      for (const NamedMember &m : named_members(skip_modifiers(type_))) names.push_back(m.name);
      std::vector<std::string> nearest = nearest_names(field, names);
      return FieldError{FieldError::NoSuchField,
                        "'" + composite_c_name(composite, btf_is_union(composite)) + "' has no member '" + field + "'",
                        nearest.empty() ? std::string() : nearest.front()};
    }
    type_ = hit.type_id;
    last_ = "member '" + field + "'";
    if (hit.bitfield_size != 0 || is_int_bitfield(hit.type_id)) return start_bitfield(field, hit);
    add(hit.bit_offset / 8);
    return std::nullopt;
  }

  std::optional<FieldError> subscript(uint32_t component) {
    if (bitfield_) return FieldError{FieldError::Unsupported, "cannot index a bitfield"};
    const bool object_start = std::exchange(at_object_start_, false);
    const btf_type *t = type_at(skip_modifiers(type_));
    uint32_t element = 0;
    if (t && btf_is_array(t) && in_memory_) {
      element = btf_array(t)->type;
    } else if (object_start) {
      // @cast(p, "T")[i]: p points to T, and is indexed as a C pointer is
      // (stap's @cast_sizeof is &@cast(0, "T")[1]).
      element = type_;
    } else if (t && btf_is_ptr(t)) {
      follow_pointer(t);
      element = type_;
    } else {
      return FieldError{FieldError::Unsupported, "cannot index a value of type '" + type_to_c(type_) +
                                                     "' (not an array or a pointer)"};
    }
    long size = btf__resolve_size(h_, element);
    if (size <= 0)
      return FieldError{FieldError::Unsupported,
                        "cannot index a value of type '" + type_to_c(type_) + "': its elements have no size"};
    steps_.push_back({ast::TargetStep::Op::AddScaled, static_cast<uint32_t>(size), false, component});
    type_ = element;
    last_ = "the element";
    return std::nullopt;
  }

  std::optional<FieldError> finish(bool address_of) {
    if (bitfield_) {
      if (address_of) return FieldError{FieldError::Unsupported, "cannot take the address of a bitfield"};
      // The smallest load that covers the bits, then the bits themselves
      // (little-endian: the first bit is the load's lowest).
      steps_.push_back({ast::TargetStep::Op::Load, bitfield_->load_size, false, 0});
      steps_.push_back({ast::TargetStep::Op::Bitfield, bitfield_->bits, bitfield_->is_signed, bitfield_->shift});
      return std::nullopt;
    }
    if (address_of) {
      if (!in_memory_)
        return FieldError{FieldError::Unsupported, "cannot take the address of a value that is not in memory"};
      return std::nullopt;
    }
    const btf_type *t = type_at(skip_modifiers(type_));
    if (in_memory_ && t && btf_is_array(t)) return std::nullopt;  // an array is its address, as in C
    auto shape = scalar_shape(type_);
    if (!shape) return FieldError{FieldError::Unsupported, last_ + " of type '" + type_to_c(type_) + "' is not a scalar"};
    if (in_memory_)
      steps_.push_back({ast::TargetStep::Op::Load, shape->size, shape->is_signed, 0});
    else if (shape->size < 8)
      steps_.push_back({ast::TargetStep::Op::Narrow, shape->size, shape->is_signed, 0});
    return std::nullopt;
  }

  AccessPath path() && { return AccessPath{std::move(steps_), type_}; }

 private:
  // The value at hand is a pointer: load it if it is in memory, then what it
  // points to is in memory at that address.
  void follow_pointer(const btf_type *pointer) {
    if (in_memory_) steps_.push_back({ast::TargetStep::Op::Load, 8, false, 0});
    type_ = pointer->type;
    in_memory_ = true;
  }
  void add(uint32_t offset) {
    if (offset == 0) return;
    if (!steps_.empty() && steps_.back().op == ast::TargetStep::Op::Add)
      steps_.back().amount += offset;
    else
      steps_.push_back({ast::TargetStep::Op::Add, offset, false, 0});
  }

  // A bitfield member ends the path: its bits are loaded in finish().
  std::optional<FieldError> start_bitfield(const std::string &field, const MemberHit &hit) {
    const btf_type *t = type_at(skip_modifiers(hit.type_id));
    if (!t || !(btf_is_int(t) || btf_is_any_enum(t)) || !in_memory_)
      return FieldError{FieldError::Unsupported, "bitfield member '" + field + "' has an unsupported type"};
    uint32_t bit_offset = hit.bit_offset;
    uint32_t bits = hit.bitfield_size;
    bool is_signed = btf_is_int(t) ? (btf_int_encoding(t) & BTF_INT_SIGNED) != 0 : btf_kflag(t);
    if (bits == 0) {  // old-style: the INT type carries the offset and width
      bit_offset += btf_int_offset(t);
      bits = btf_int_bits(t);
    }
    const uint32_t shift = bit_offset % 8, span = shift + bits;
    if (bits == 0 || span > 64)
      return FieldError{FieldError::Unsupported, "bitfield member '" + field + "' spans more than 8 bytes"};
    add(bit_offset / 8);
    bitfield_ = Bitfield{bits, shift, span <= 8 ? 1u : span <= 16 ? 2u : span <= 32 ? 4u : 8u, is_signed};
    return std::nullopt;
  }

  struct Bitfield {
    uint32_t bits, shift, load_size;
    bool is_signed;
  };
  std::optional<Bitfield> bitfield_;
  uint32_t type_;
  bool in_memory_;
  bool at_object_start_;  // no component taken yet from a @cast's object
  std::vector<ast::TargetStep> steps_;
  std::string last_ = "the value";
};


// Kernels since 6.16 let /sys/kernel/btf/vmlinux be mapped. libbpf 1.1 reads
// the file into one buffer and btf__new() copies it into a second, so for a
// moment the 5.5 MB exist twice (peak RSS); from a mapping only the copy is
// ever allocated, and the read's copy out of the kernel is saved too.
//
// The copy is the slow part of the parse: on a virtual machine each of its
// 1,300 4 KiB page faults is a trip to the hypervisor (half of elaboration's
// time, measured). So the copy is placed where transparent huge pages are
// allowed: the heap is grown by a block of the needed size, the block marked
// MADV_HUGEPAGE and freed, and btf__new()'s malloc() of the same size reuses
// it, to fault in 2 MiB at a time. Large blocks must come from the heap for
// that (glibc maps blocks over 128 KiB one by one by default, and unmaps them
// on free), and the heap must not be trimmed in between; glibc's defaults
// come back once the copy is made, and release() gives the pages back.
constexpr int kGlibcDefaultThreshold = 128 * 1024;

void prepare_huge_page_heap(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(std::min<size_t>(bytes * 2, 32u << 20)));
  ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
  void *block = std::malloc(bytes + kHugePage);
  if (!block) return;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(block) + kHugePage - 1) & ~(kHugePage - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(block) + bytes + kHugePage) & ~(kHugePage - 1);
  if (end > begin) ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
  std::free(block);
}

struct ::btf *parse_mapped_btf(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  void *data = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && st.st_size > 0)
    data = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (data == MAP_FAILED) return nullptr;
  prepare_huge_page_heap(static_cast<size_t>(st.st_size));
  struct ::btf *handle = btf__new(data, static_cast<uint32_t>(st.st_size));
  ::mallopt(M_MMAP_THRESHOLD, kGlibcDefaultThreshold);
  ::mallopt(M_TRIM_THRESHOLD, kGlibcDefaultThreshold);
  ::munmap(data, static_cast<size_t>(st.st_size));
  return handle;  // btf__new returns NULL (libbpf 1.x) on error
}

}  // namespace

struct Btf::State {
  std::string path;
  bool search_like_libbpf = false;
  // Null once released (release()); the next query loads it again.
  struct ::btf *handle = nullptr;
  std::mutex handle_mutex;
  std::string error;
  std::once_flag index_once;
  TraceIndex index;
  std::mutex args_mutex;
  std::unordered_map<std::string, std::vector<TracepointArg>> args_cache;

  struct ::btf *load() {
    struct ::btf *loaded = parse_mapped_btf(path);
    int err = loaded ? 0 : errno;
    // An ELF file (a vmlinux image) rather than raw BTF.
    if (!loaded && err != ENOENT && err != EACCES) loaded = btf__parse(path.c_str(), nullptr);
    // Older kernels, or BTF only on disk: libbpf knows where to look.
    if (!loaded && search_like_libbpf) loaded = btf__load_vmlinux_btf();
    if (!loaded) error = std::string("cannot load kernel BTF: ") + std::strerror(err ? err : errno);
    return loaded;
  }

  // Built once, on the first question about tracepoints; it outlives
  // release(), so asking again (the attach ids, after elaboration) does not
  // load the BTF again.
  const TraceIndex &indexed(const Btf &btf) {
    std::call_once(index_once, [&] {
      if (const struct ::btf *h = btf.handle()) index = View(h).build_index();
    });
    return index;
  }
};

Btf::Btf(std::string path, bool search_like_libbpf) : state_(std::make_unique<State>()) {
  state_->path = std::move(path);
  state_->search_like_libbpf = search_like_libbpf;
}

Btf::~Btf() { btf__free(state_->handle); }

const struct ::btf *Btf::handle() const {
  State &s = *state_;
  std::lock_guard lock(s.handle_mutex);
  if (!s.handle && s.error.empty()) s.handle = s.load();
  return s.handle;
}

void Btf::release() const {
  State &s = *state_;
  std::lock_guard lock(s.handle_mutex);
  btf__free(s.handle);
  s.handle = nullptr;
  ::malloc_trim(0);  // the copy lived in the heap (see prepare_huge_page_heap)
}

bool Btf::loaded() const {
  std::lock_guard lock(state_->handle_mutex);
  return state_->handle != nullptr;
}

const std::string &Btf::load_error() const { return state_->error; }

uint32_t Btf::skip_modifiers(uint32_t type_id) const {
  const struct ::btf *h = handle();
  return h ? View(h).skip_modifiers(type_id) : type_id;
}

std::optional<ScalarShape> Btf::scalar_shape(uint32_t type_id) const {
  const struct ::btf *h = handle();
  if (!h) return std::nullopt;
  return View(h).scalar_shape(type_id);
}

bool Btf::has_tracepoint(std::string_view event) const {
  return state_->indexed(*this).typedefs.count(std::string(event)) != 0;
}

const std::vector<std::string> &Btf::tracepoint_names() const { return state_->indexed(*this).event_names; }

std::optional<uint32_t> Btf::tracepoint_attach_id(std::string_view event) const {
  const TraceIndex &index = state_->indexed(*this);
  auto it = index.typedefs.find(std::string(event));
  if (it == index.typedefs.end()) return std::nullopt;
  return it->second;
}

const std::vector<TracepointArg> *Btf::tracepoint_args(std::string_view event_view) const {
  State &s = *state_;
  const TraceIndex &index = s.indexed(*this);
  std::string event(event_view);
  auto typedef_it = index.typedefs.find(event);
  if (typedef_it == index.typedefs.end()) return nullptr;
  std::lock_guard<std::mutex> lock(s.args_mutex);
  auto cached = s.args_cache.find(event);
  if (cached == s.args_cache.end()) {
    const struct ::btf *h = handle();  // loads it again if released
    if (!h) return nullptr;
    cached = s.args_cache.emplace(event, View(h).build_args(index, event, typedef_it->second)).first;
  }
  return &cached->second;
}

std::vector<AccessComponent> btf::access_components(const ast::TargetVarExpr &var) {
  std::vector<AccessComponent> components;
  for (const ast::TargetComponent &c : var.components) components.push_back({c.field, c.is_subscript()});
  return components;
}

AccessResult Btf::resolve_access_path(uint32_t start_type_id, AccessStart start,
                                      const std::vector<AccessComponent> &components, bool address_of) const {
  AccessResult result;
  const struct ::btf *h = handle();
  if (!h) {
    result.error = FieldError{FieldError::Unsupported, load_error()};
    return result;
  }
  PathWalker walker(h, start_type_id, start);
  for (uint32_t i = 0; i < components.size(); ++i) {
    const AccessComponent &c = components[i];
    result.error = c.subscript ? walker.subscript(i) : walker.member(c.field);
    if (result.error) return result;
  }
  result.error = walker.finish(address_of);
  if (!result.error) result.path = std::move(walker).path();
  return result;
}

void Btf::take_access_path(ast::TargetVarExpr &var, btf::AccessPath &&path) {
  var.steps = std::move(path.steps);
  var.btf_type_id = path.final_type_id;
  var.type = ast::Type::Long;
  var.resolved = true;
}

std::optional<uint32_t> Btf::find_composite_type(std::string_view spelling) const {
  const struct ::btf *h = handle();
  if (!h) return std::nullopt;
  return View(h).find_composite_type(spelling);
}

std::string Btf::type_to_c(uint32_t type_id) const {
  if (type_id == 0) return "void";
  const struct ::btf *h = handle();
  return h ? View(h).type_to_c(type_id) : "?";
}

ValueShape Btf::value_shape(uint32_t type_id) const {
  const struct ::btf *h = handle();
  return h ? View(h).value_shape(type_id) : ValueShape{};
}

std::vector<NamedMember> Btf::named_members(uint32_t composite_type_id) const {
  const struct ::btf *h = handle();
  return h ? View(h).named_members(composite_type_id) : std::vector<NamedMember>{};
}

std::vector<std::string> btf::field_hints(const FieldError &error, bool with_message) {
  std::vector<std::string> hints;
  if (with_message) hints.push_back(error.message);
  if (!error.nearest_member.empty()) hints.push_back(did_you_mean({error.nearest_member}));
  return hints;
}

}  // namespace ntap
