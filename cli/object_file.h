// -p4's output: the kernel side as one BPF ELF object file.
#pragma once
#include <string>

#include "codegen/bpf/bpf_codegen.h"

namespace ntap {

// Writes `object` to `path`. Several units are merged into one object with
// libbpf's static linker (maps declared in several units become one).
// Throws std::runtime_error naming the path on failure.
void write_bpf_object(const BpfObject &object, const std::string &path);

}  // namespace ntap
