// Where everything a script prints goes.
//
// All printing (user probes, formatted kernel records, end-of-run reports of
// globals, warnings) goes through one Output. The printf engine
// (abi/printf.h) makes the text; an Output only decides how pieces of output
// are framed: plain text as stap prints it, or JSON lines (--format json,
// docs/output.md). The base class is the text rendering; JSON overrides it.
//
// Text is buffered and written with one write() per probe handler run: the
// runtime calls flush() when a handler returns and at exit, so output
// appears promptly without a syscall per printf. A handler that prints more
// than the buffer's threshold is written out early.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "runtime/file_sink.h"
#include "runtime/report.h"

namespace ntap {

class Output {
 public:
  virtual ~Output() = default;
  // A piece of output begins: one user probe handler run, one kernel output
  // record or one kernel probe hit. `probe_point` is its pp(). Text output
  // ignores it; JSON starts a new object.
  virtual void begin_probe(std::string_view /*probe_point*/) {}
  virtual void write(std::string_view text) = 0;
  // print(@hist_*(x)): stap's table.
  virtual void histogram(const HistogramPrint &print);
  // One global of the report after the end probes: stap's lines.
  virtual void global_at_exit(const GlobalSnapshot &global);
  // warn() and the runtime's warnings: "WARNING: message" on stderr, after
  // what was printed before it.
  virtual void warning(std::string_view message);
  // A lost-or-skipped counter at the end of the run: its warning.
  virtual void lost(const LostCount &count) { warning(count.message); }
  // Writes what is buffered. A write that fails (a full disk, a closed pipe)
  // or a reader that stops reading past the limits never throws or blocks
  // for good: failure() says so and the bytes are counted (file_sink.h).
  virtual void flush() = 0;
  // When waiting for a slow reader stops (a pending signal, -T's deadline).
  virtual void set_write_limits(const WriteLimits & /*limits*/) {}
  // Empty while every byte went out; otherwise the error to report at exit.
  virtual std::string failure() const { return {}; }
};

// Plain text, as stap prints. `path` empty = stdout; otherwise the file is
// created or truncated. Throws std::runtime_error ("cannot open FILE: why").
std::unique_ptr<Output> make_text_output(const std::string &path);

// One JSON object per line (docs/output.md): printf text by piece of
// output, histograms, globals at exit, warnings and lost counters.
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

// The length of the well-formed UTF-8 sequence at the start of `text`, 0 when
// it is not one (a stray continuation byte, a truncated or overlong sequence,
// a surrogate, past U+10FFFF). JSON strings and Prometheus label values both
// need valid UTF-8.
size_t utf8_sequence_length(std::string_view text);

// Appends `text` to `out` as a JSON string literal (with the quotes).
void append_json_string(std::string &out, std::string_view text);

}  // namespace ntap
