// Where output bytes finally go: stdout or the -o file.
//
// A sink never blocks the run for good and never kills it: a reader that
// stops reading (a stalled pipe) is waited for only until a signal arrives
// or -T's deadline passes, and a reader that goes away (EPIPE) or a write
// that fails (a full disk) turns the sink "broken". A broken sink counts the
// bytes it could not write and the run reports them and exits 1: the end
// probes still run and ntap still detaches, as on every other way out.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ntap {

// When a sink waiting for its reader gives up.
struct WriteLimits {
  int interrupt_fd = -1;  // readable (a pending signal) = stop waiting
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

class FileSink {
 public:
  // `path` empty = stdout. Otherwise opens the file as open_output_file does.
  // Throws std::runtime_error ("cannot open FILE: why").
  explicit FileSink(const std::string &path);
  ~FileSink();
  FileSink(const FileSink &) = delete;
  FileSink &operator=(const FileSink &) = delete;

  void set_limits(const WriteLimits &limits) { limits_ = limits; }
  // Writes all of `data`, or (broken) counts what could not be written.
  void write_all(std::string_view data);
  // Empty while every byte went out; otherwise why the output stopped.
  const std::string &failure() const { return failure_; }
  uint64_t unwritten_bytes() const { return unwritten_; }
  const std::string &name() const { return name_; }

 private:
  bool wait_writable();
  void fail(std::string why, size_t bytes);

  std::string name_;
  int fd_ = -1;
  bool owned_ = false;
  bool may_block_ = false;  // a pipe, socket or terminal: poll before writing
  WriteLimits limits_;
  std::string failure_;
  uint64_t unwritten_ = 0;
};

// Opens (creating, mode 0644) a file ntap writes output to (-o, -p4's
// object) without letting someone else choose what it overwrites: a symbolic
// link is not followed, a file with other hard links is refused, and in a
// directory others may write to (sticky /tmp) a file not owned by the caller
// is refused. The file is truncated only after these checks. Returns the
// descriptor; throws std::runtime_error ("cannot open FILE: why").
int open_output_file(const std::string &path);

}  // namespace ntap
