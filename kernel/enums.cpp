#include "kernel/enums.h"

#include <bpf/btf.h>

#include "kernel/btf.h"

namespace ntap {

std::optional<std::vector<std::pair<int64_t, std::string>>> kernel_enum_values(const Btf &types, const std::string &name) {
  const struct ::btf *btf = types.handle();
  if (!btf) return std::nullopt;
  int id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_ENUM);
  if (id < 0) id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_ENUM64);
  if (id < 0) return std::nullopt;
  const struct btf_type *type = btf__type_by_id(btf, static_cast<uint32_t>(id));
  std::vector<std::pair<int64_t, std::string>> values;
  const uint16_t count = btf_vlen(type);
  if (btf_is_enum(type)) {
    const struct btf_enum *member = btf_enum(type);
    const bool is_signed = btf_kflag(type);
    for (uint16_t i = 0; i < count; ++i, ++member)
      values.emplace_back(
          is_signed ? static_cast<int64_t>(member->val) : static_cast<int64_t>(static_cast<uint32_t>(member->val)),
          btf__name_by_offset(btf, member->name_off));
  } else {
    const struct btf_enum64 *member = btf_enum64(type);
    for (uint16_t i = 0; i < count; ++i, ++member)
      values.emplace_back(static_cast<int64_t>(btf_enum64_value(member)), btf__name_by_offset(btf, member->name_off));
  }
  return values;
}

}  // namespace ntap
