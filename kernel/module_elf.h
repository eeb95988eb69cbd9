// A kernel module's ELF file (.ko): where it is and the sizes of its symbols,
// for symdata() of module addresses (kernel/symbols.h, -d MODULE).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace ntap {

// Function and object symbols of an ELF file's symbol table by name, with
// their st_size (non-zero sizes only). nullopt, with `error` set, when the
// file cannot be read as an ELF with a symbol table (compressed modules,
// .ko.xz/.ko.zst, are not read).
std::optional<std::unordered_map<std::string, uint64_t>> elf_symbol_sizes(const std::string &path, std::string &error);

// The file of module `module` ("nf_tables") from `modules_dep`
// (/lib/modules/$(uname -r)/modules.dep when empty): the path whose base
// name, with '-' read as '_', is MODULE.ko[.xz|.zst|.gz]. Empty, with
// `error` set, when there is none.
std::string find_module_elf(const std::string &module, std::string &error, const std::string &modules_dep = "");

// The module a .ko file holds, by its base name ("/x/nf-tables.ko.xz" is
// nf_tables); empty when the name does not end in .ko[.xz|.zst|.gz].
std::string module_name_of(std::string path);

// Whether `path` is an ELF relocatable file (a .ko), as opposed to a linked
// image such as vmlinux; false when unreadable.
bool is_relocatable_elf(const std::string &path);

}  // namespace ntap
