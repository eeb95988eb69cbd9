#include "runtime/output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ntap {
namespace {

// A handler printing more than this is written out before it returns, so a
// huge report never holds more than about this much memory.
constexpr size_t kEarlyWriteThreshold = 1 << 20;
constexpr size_t kInitialBuffer = 64 << 10;

// Owns (or borrows, for stdout) a file descriptor and writes whole buffers.
class FileSink {
 public:
  explicit FileSink(const std::string &path) : name_(path.empty() ? "<stdout>" : path) {
    if (path.empty()) {
      fd_ = STDOUT_FILENO;
      return;
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    owned_ = true;
  }
  ~FileSink() {
    if (owned_) ::close(fd_);
  }
  FileSink(const FileSink &) = delete;
  FileSink &operator=(const FileSink &) = delete;

  void write_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("write to " + name_ + " failed: " + std::strerror(errno));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool owned_ = false;
};

class TextOutput final : public Output {
 public:
  explicit TextOutput(const std::string &path) : sink_(path) { buffer_.reserve(kInitialBuffer); }
  ~TextOutput() override {
    try {
      flush();
    } catch (...) {
      // Nowhere left to report it; the driver's own flush at exit reports.
    }
  }
  void write(std::string_view text) override {
    buffer_.append(text);
    if (buffer_.size() >= kEarlyWriteThreshold) flush();
  }
  void flush() override {
    if (buffer_.empty()) return;
    try {
      sink_.write_all(buffer_);
    } catch (...) {
      buffer_.clear();  // report a failing write once, not on every flush
      throw;
    }
    buffer_.clear();  // keeps the capacity: no allocation per handler run
  }

 private:
  FileSink sink_;
  std::string buffer_;
};

class JsonLinesOutput final : public Output {
 public:
  explicit JsonLinesOutput(const std::string &path) : sink_(path) {}
  ~JsonLinesOutput() override {
    try {
      flush();
    } catch (...) {
    }
  }
  void begin_probe(std::string_view probe_name) override {
    if (probe_name != probe_) {
      emit_line();
      probe_.assign(probe_name);
    }
  }
  void write(std::string_view text) override { text_.append(text); }
  void flush() override {
    emit_line();
    if (lines_.empty()) return;
    std::string pending;
    pending.swap(lines_);  // a failing write is reported once
    sink_.write_all(pending);
  }

 private:
  void emit_line() {
    if (text_.empty()) return;
    lines_.append("{\"probe\":");
    append_json_string(lines_, probe_);
    lines_.append(",\"text\":");
    append_json_string(lines_, text_);
    lines_.append("}\n");
    text_.clear();
  }

  FileSink sink_;
  std::string probe_;
  std::string text_;
  std::string lines_;
};

}  // namespace

void append_json_string(std::string &out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\t': out.append("\\t"); break;
      case '\r': out.append("\\r"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

std::unique_ptr<Output> make_text_output(const std::string &path) { return std::make_unique<TextOutput>(path); }

std::unique_ptr<Output> make_json_output(const std::string &path) {
  return std::make_unique<JsonLinesOutput>(path);
}

}  // namespace ntap
