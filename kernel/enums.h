// The enumerators of a kernel enum, read from the vmlinux BTF, so that
// scripts can name enum values (enum_name("sk_rst_reason", r)).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ntap {

class Btf;

// The enumerators of `enum NAME` (ENUM or ENUM64 in BTF) as (value, C name)
// in declaration order; nullopt when the kernel has no such enum.
std::optional<std::vector<std::pair<int64_t, std::string>>> kernel_enum_values(const Btf &btf, const std::string &name);

}  // namespace ntap
