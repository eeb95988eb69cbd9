// Executable filters (see executable_filter.h).
#include "kernel/providers/executable_filter.h"

#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "frontend/diagnostics.h"

namespace ntap {

std::string find_executable(const std::string &path) {
  std::string found = path;
  if (path.find('/') == std::string::npos) {
    const char *dirs = std::getenv("PATH");
    std::string list = dirs ? dirs : "/usr/bin:/bin";
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      std::string candidate = list.substr(start, end - start) + "/" + path;
      if (::access(candidate.c_str(), X_OK) == 0) {
        found = candidate;
        break;
      }
      start = end + 1;
    }
  }
  char resolved[PATH_MAX];
  return ::realpath(found.c_str(), resolved) ? std::string(resolved) : found;
}

std::string filter_by_executable(ast::ResolvedProbe &probe, const std::string &path, const ast::ProbePoint &point,
                                 const std::string &what) {
  std::string file = find_executable(path);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw CompileError(ErrorKind::Probe, what + ": cannot find " + file + ": " + std::strerror(errno), point.loc,
                       "probe point '" + point.str() + "'");
  probe.exe_inode = st.st_ino;
  // The kernel's dev_t (MKDEV: major << 20 | minor), as super_block.s_dev holds it.
  probe.exe_dev = (static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev);
  return file;
}

}  // namespace ntap
