// Source positions and compile-time diagnostics.
//
// Every error ntap reports about a script names FILE:LINE:COL and shows the
// source line with a caret, in SystemTap's style:
//   parse error: expected ')'
//           saw: operator '}' at dropwatch.ntp:12:5
//        source:   foo(1 }
//                        ^
// An error may carry hint lines under the caret ("did you mean `x`?").
// The parser and code generation throw CompileError at the first error; the
// elaboration passes report theirs into a Diagnostics sink and keep going, so
// one run shows every independent error (sorted by position, capped), as
// stap's and bpftrace's do. Either way the driver catches one CompileError,
// before anything is loaded into the kernel.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ntap {

struct SourceFile {
  std::string name;                 // as given on the command line ("<input>" for -e)
  std::string text;
  std::vector<uint32_t> line_starts;  // offset of each line's first byte

  SourceFile(std::string name, std::string text);
  std::string_view line(uint32_t line_no) const;  // 1-based, without newline
};

struct Location {
  const SourceFile *file = nullptr;
  uint32_t line = 0;  // 1-based; 0 = unknown
  uint32_t col = 0;   // 1-based

  bool known() const { return file && line; }
  std::string str() const;  // "FILE:LINE:COL"
};

// Holds every source file for the life of a run so Locations stay valid.
class SourceManager {
 public:
  const SourceFile &add(std::string name, std::string text);
  // Throws CompileError if unreadable or larger than kMaxScriptBytes.
  const SourceFile &load(const std::string &path);
  // Scripts and tapset files are bounded (a script is text a person wrote;
  // the largest generated test scripts are a few MiB).
  static constexpr size_t kMaxScriptBytes = size_t{32} << 20;
 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

enum class ErrorKind { Parse, Semantic, Probe, Codegen, Runtime };

class CompileError : public std::runtime_error {
 public:
  // kind gives the prefix ("parse error", "semantic error"...), message the
  // text, saw an optional "saw:" description of the offending token/identifier.
  // hints are extra lines shown under the caret.
  CompileError(ErrorKind kind, std::string message, Location loc, std::string saw = {},
               std::vector<std::string> hints = {});
  ErrorKind kind() const { return kind_; }
  const Location &location() const { return loc_; }
  const std::string &message() const { return message_; }
  const std::string &saw() const { return saw_; }
  const std::vector<std::string> &hints() const { return hints_; }
  // The same error with more hint lines.
  CompileError with_hints(const std::vector<std::string> &more) const;
  // The full multi-line report, with source line, caret and hints (for a
  // report of several errors, all of them).
  std::string format() const;

 protected:
  // An error whose report (what(), format()) is `report` rather than its own.
  CompileError(const CompileError &first, std::string report);

 private:
  ErrorKind kind_;
  std::string message_;
  Location loc_;
  std::string saw_;
  std::vector<std::string> hints_;
  std::string report_;  // set when the report is not this error's alone
};

// Several errors reported together (Diagnostics::raise): location(),
// message() and kind() are those of the first by position; format() and
// what() show them all.
class CompileErrors : public CompileError {
 public:
  CompileErrors(const CompileError &first, std::string report, size_t count)
      : CompileError(first, std::move(report)), count_(count) {}
  size_t count() const { return count_; }

 private:
  size_t count_;
};

// The sink the elaboration passes report errors into instead of throwing
// at the first. Identical reports (a type walk repeated until it settles
// meets the same error each round) are kept once.
class Diagnostics {
 public:
  // At most this many errors are shown; the rest are counted.
  static constexpr size_t kShownErrors = 20;

  void report(CompileError error);
  // Runs `step`, reporting a CompileError it throws instead of passing it
  // on. Returns false when it threw.
  template <typename Fn>
  bool guard(Fn &&step) {
    try {
      step();
      return true;
    } catch (const CompileError &error) {
      report(error);
      return false;
    }
  }
  size_t error_count() const { return errors_.size(); }
  bool has_errors() const { return !errors_.empty(); }
  // Every error, sorted by position (file, line, column), the first
  // kShownErrors with source and hints, then "N more errors".
  std::string format() const;
  // Throws the errors reported so far as one CompileErrors; nothing when there are none.
  void raise() const;

 private:
  std::vector<CompileError> sorted() const;
  std::vector<CompileError> errors_;
};

// The candidates nearest to `word` by edit distance (a swap of neighbours counts one), closest
// first, at most `limit` of them; a candidate qualifies when it is at most
// about a third of `word` away (so `tcp_v4_rvc` finds `tcp_v4_rcv` but `x`
// does not find `y`). Empty when nothing is close.
std::vector<std::string> nearest_names(std::string_view word, const std::vector<std::string> &candidates,
                                       size_t limit = 1);
// "did you mean `a`?" / "did you mean `a` or `b`?" for nearest_names' result; empty for none.
std::string did_you_mean(const std::vector<std::string> &names, std::string_view prefix = {});

// The token at `loc`, described as stap's run-time errors print it after
// "near": `keyword`, `identifier 'x'`, `operator '{'`, `number '1'`,
// `string 'a'`. Empty when the location has no source text.
std::string describe_token_at(const Location &loc);

// Warnings go to stderr unless -w; they never stop a run.
void warn(const Location &loc, const std::string &message);
void set_warnings_enabled(bool on);
// -W: warn() throws the warning as a semantic error instead.
void set_warnings_as_errors(bool on);
// What stap accepts without a word but ntap explains (an optional probe
// point it cannot resolve): "NOTE: ..." on stderr unless -w, and never an
// error under -W, so a script stap runs with -W runs here too.
void note(const Location &loc, const std::string &message);

}  // namespace ntap
