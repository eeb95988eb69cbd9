// Source positions and compile-time diagnostics.
//
// Every error ntap reports about a script names FILE:LINE:COL and shows the
// source line with a caret, in SystemTap's style:
//   parse error: expected ')'
//           saw: operator '}' at dropwatch.ntp:12:5
//        source:   foo(1 }
//                        ^
// Errors are thrown as CompileError and caught once in the driver, before
// anything is loaded into the kernel.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
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
  CompileError(ErrorKind kind, std::string message, Location loc, std::string saw = {});
  ErrorKind kind() const { return kind_; }
  const Location &location() const { return loc_; }
  const std::string &message() const { return message_; }
  // The full multi-line report, with source line and caret.
  std::string format() const;

 private:
  ErrorKind kind_;
  std::string message_;
  Location loc_;
  std::string saw_;
};

// The token at `loc`, described as stap's run-time errors print it after
// "near": `keyword`, `identifier 'x'`, `operator '{'`, `number '1'`,
// `string 'a'`. Empty when the location has no source text.
std::string describe_token_at(const Location &loc);

// Warnings go to stderr unless -w; they never stop a run.
void warn(const Location &loc, const std::string &message);
void set_warnings_enabled(bool on);
// -W: warn() throws the warning as a semantic error instead.
void set_warnings_as_errors(bool on);

}  // namespace ntap
