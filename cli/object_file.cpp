#include "cli/object_file.h"

#include "runtime/file_sink.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include <bpf/libbpf.h>

namespace ntap {
namespace {

struct LinkerFree {
  void operator()(bpf_linker *linker) const { bpf_linker__free(linker); }
};

// An anonymous in-memory file holding one unit: libbpf 1.1's linker only
// reads objects by path, and /proc/self/fd/N is one.
class MemoryFile {
 public:
  explicit MemoryFile(const std::vector<char> &bytes) : fd_(memfd_create("ntap-unit", MFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error(std::string("memfd_create: ") + strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(std::string("writing a BPF unit: ") + strerror(errno));
      done += static_cast<size_t>(n);
    }
  }
  ~MemoryFile() { close(fd_); }
  MemoryFile(const MemoryFile &) = delete;
  MemoryFile &operator=(const MemoryFile &) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

void link_units(const BpfObject &object, const std::string &target, const std::string &path) {
  std::unique_ptr<bpf_linker, LinkerFree> linker(bpf_linker__new(target.c_str(), nullptr));
  if (!linker) throw std::runtime_error("cannot create " + path + ": " + strerror(errno));
  for (const BpfUnit &unit : object.units) {
    MemoryFile file(unit.elf);
    if (const int err = bpf_linker__add_file(linker.get(), file.path().c_str(), nullptr))
      throw std::runtime_error("cannot link the BPF units into " + path + ": " + strerror(-err));
  }
  if (const int err = bpf_linker__finalize(linker.get()))
    throw std::runtime_error("cannot write " + path + ": " + strerror(-err));
}

}  // namespace

void write_bpf_object(const BpfObject &object, const std::string &path) {
  // Opened as any output file is (no links followed, no one else's file
  // truncated); libbpf's linker then writes through the checked descriptor.
  const int fd = open_output_file(path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (object.units.size() > 1) return link_units(object, "/proc/self/fd/" + std::to_string(fd), path);
  if (object.units.empty()) return;
  std::string_view bytes(object.units[0].elf.data(), object.units[0].elf.size());
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write " + path + ": " + strerror(errno));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace ntap
