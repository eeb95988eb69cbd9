#include "runtime/file_sink.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ntap {

namespace {

std::string directory_of(const std::string &path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

[[noreturn]] void refuse(const std::string &path, const std::string &why) {
  throw std::runtime_error("cannot open " + path + ": " + why);
}

}  // namespace

int open_output_file(const std::string &path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == ELOOP) refuse(path, "it is a symbolic link (ntap does not write through links)");
    refuse(path, std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    refuse(path, std::strerror(saved));
  }
  if (S_ISREG(st.st_mode)) {
    std::string why;
    struct stat dir {};
    const bool shared_dir = ::stat(directory_of(path).c_str(), &dir) == 0 && (dir.st_mode & (S_ISVTX | S_IWOTH));
    if (st.st_nlink > 1)
      why = "it has other hard links (ntap does not write through links)";
    else if (shared_dir && st.st_uid != ::geteuid())
      why = "it belongs to another user in a directory others can write to";
    if (!why.empty()) {
      ::close(fd);
      refuse(path, why);
    }
    if (::ftruncate(fd, 0) != 0) {
      const int saved = errno;
      ::close(fd);
      refuse(path, std::strerror(saved));
    }
  }
  return fd;
}

FileSink::FileSink(const std::string &path) : name_(path.empty() ? "<stdout>" : path) {
  if (path.empty()) {
    fd_ = STDOUT_FILENO;
  } else {
    fd_ = open_output_file(path);
    owned_ = true;
  }
  struct stat st {};
  may_block_ = ::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
}

FileSink::~FileSink() {
  if (owned_) ::close(fd_);
}

// A pipe's reader may stop reading; blocking in write() then would hold the
// run (and its attached probes) hostage. Wait for room, but not past a
// signal or the deadline.
bool FileSink::wait_writable() {
  pollfd fds[2] = {{fd_, POLLOUT, 0}, {limits_.interrupt_fd, POLLIN, 0}};
  const nfds_t count = limits_.interrupt_fd >= 0 ? 2 : 1;
  for (;;) {
    int timeout_ms = -1;
    if (limits_.deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*limits_.deadline -
                                                                              std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT_MAX));
    }
    const int ready = ::poll(fds, count, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return true;  // let write() report what is wrong
    }
    if (fds[0].revents) return true;  // room, or an error write() will name
    // Nothing to write to and a signal or the deadline came: give up.
    if (ready == 0 || (count > 1 && fds[1].revents)) return false;
  }
}

void FileSink::fail(std::string why, size_t bytes) {
  if (failure_.empty()) failure_ = std::move(why);
  unwritten_ += bytes;
}

void FileSink::write_all(std::string_view data) {
  if (!failure_.empty()) {
    unwritten_ += data.size();
    return;
  }
  while (!data.empty()) {
    size_t chunk = data.size();
    if (may_block_) {
      if (!wait_writable()) {
        fail("nothing was reading it", data.size());
        return;
      }
      // After POLLOUT a pipe has room for PIPE_BUF bytes at least: a write
      // no larger than that does not block.
      chunk = std::min<size_t>(chunk, PIPE_BUF);
    }
    const ssize_t n = ::write(fd_, data.data(), chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fail(errno == EPIPE ? "its reader closed it" : std::strerror(errno), data.size());
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace ntap
