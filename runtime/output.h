// Where everything a script prints goes.
//
// All printing (user probes, formatted kernel records, end-of-run reports of
// globals) goes through one Output. Text is buffered and written with one
// write() per probe handler run: the runtime calls flush() when a handler
// returns and at exit, so output appears promptly without a syscall per
// printf. A handler that prints more than the buffer's threshold is written
// out early.
#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace ntap {

class Output {
 public:
  virtual ~Output() = default;
  // Names the probe whose handler is about to run (used by the JSON lines
  // format; text output ignores it).
  virtual void begin_probe(std::string_view /*probe_name*/) {}
  virtual void write(std::string_view text) = 0;
  // Writes what is buffered. Throws std::runtime_error when the underlying
  // write fails (e.g. the disk is full).
  virtual void flush() = 0;
};

// Plain text, as stap prints. `path` empty = stdout; otherwise the file is
// created or truncated. Throws std::runtime_error ("cannot open FILE: why").
std::unique_ptr<Output> make_text_output(const std::string &path);

// One JSON object per probe handler run that printed something:
//   {"probe":"timer.s(5)","text":"..."}\n
std::unique_ptr<Output> make_json_output(const std::string &path);

// Collects everything in memory (tests, sprintf-like uses).
class StringOutput : public Output {
 public:
  void write(std::string_view text) override { text_.append(text); }
  void flush() override { ++flushes_; }
  const std::string &text() const { return text_; }
  int flushes() const { return flushes_; }
  void clear() { text_.clear(); }

 private:
  std::string text_;
  int flushes_ = 0;
};

// Appends `text` to `out` as a JSON string literal (with the quotes).
void append_json_string(std::string &out, std::string_view text);

}  // namespace ntap
