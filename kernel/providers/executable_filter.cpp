// Executable filters (see executable_filter.h).
#include "kernel/providers/executable_filter.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

#include "kernel/elf_symbols.h"
#include "kernel/providers/provider.h"

namespace ntap {

std::string filter_by_executable(ast::ResolvedProbe &probe, const std::string &path, const ast::ProbePoint &point,
                                 const std::string &what) {
  std::string error;
  const std::string file = elf::resolve_program_path(path, error);
  if (file.empty()) probe_error(point, what + ": " + error);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) probe_error(point, what + ": cannot find " + file + ": " + std::strerror(errno));
  probe.exe_inode = st.st_ino;
  // The kernel's dev_t (MKDEV: major << 20 | minor), as super_block.s_dev holds it.
  probe.exe_dev = (static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev);
  return file;
}

}  // namespace ntap
