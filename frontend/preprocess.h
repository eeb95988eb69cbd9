// The preprocessor: runs over the script text before the grammar.
//
//   %( CONDITION %? TRUE-TOKENS %)             conditional compilation,
//   %( CONDITION %? TRUE-TOKENS %: FALSE-TOKENS %)   nestable, anywhere
//   @define NAME %( BODY %)   @define NAME(a, b) %( ... @a ... %)   macros
//   $1 .. $N  @1 .. @N  $#  @#                command-line arguments
//
// The output is the text the grammar parses. Skipped branches and the
// conditional markers become spaces (newlines kept), so text without macros
// or arguments keeps every byte at its original offset; expansions insert new
// text. A SourceMap takes every output byte back to the script: copied bytes
// to themselves, expanded ones to the macro use or `$1` that produced them.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "frontend/diagnostics.h"

namespace ntap {

class KernelConfig;

// What conditions are evaluated against. Tests build their own; the default
// is the running system.
struct PreprocessTarget {
  std::string kernel_release;  // uname -r, `kernel_vr`; `kernel_v` is the part before the first '-'
  std::string arch;            // stap's spelling: x86_64, i386, arm64, ...
  // The kernel's CONFIG_* values, asked for on the first CONFIG_ condition
  // (the driver passes kernel/kernel_config.h's reader; unset: not known).
  std::function<const KernelConfig &()> config;

  static const PreprocessTarget &running_system();
};

struct PreprocessOptions {
  std::vector<std::string> script_args;      // $1.. / @1..
  const PreprocessTarget *target = nullptr;  // null: the running system
  // Macro libraries (*.stpm): their @define macros are defined before the
  // script's text is read, and the script may replace them.
  std::vector<const SourceFile *> macro_libraries;
};

// The version of the SystemTap language ntap implements (`systemtap_v`), and
// its runtime and privilege level as conditions see them.
inline constexpr const char *kSystemtapVersion = "5.0";
inline constexpr const char *kRuntimeName = "bpf";
inline constexpr const char *kPrivilegeName = "stapdev";

// Where each byte of the preprocessed text came from.
class SourceMap {
 public:
  explicit SourceMap(const SourceFile &file) : file_(&file) {}

  // The script location of output byte `offset`; the end of the output is
  // the end of the script.
  Location locate(size_t offset) const;
  // When output byte `offset` was produced by a macro expansion: the macro's
  // name and definition site, for a note in the error; empty otherwise.
  std::string expansion_note(size_t offset) const;

  // Building (by the preprocessor).
  void copied(size_t output_offset, size_t source_offset);
  void expanded(size_t output_offset, size_t use_offset, const std::string &note);
  void finish(size_t output_size) { output_size_ = output_size; }

 private:
  struct Segment {
    size_t output_begin;
    size_t source_offset;
    bool copy;         // bytes map one to one; otherwise all to source_offset
    uint32_t note = 0;  // index into notes_ + 1; 0: none
  };
  const Segment *segment_at(size_t offset) const;

  const SourceFile *file_;
  std::vector<Segment> segments_;
  std::vector<std::string> notes_;
  size_t output_size_ = static_cast<size_t>(-1);  // the end of the output is the end of the script
};

struct PreprocessedSource {
  std::string text;
  SourceMap map;
};

// Throws CompileError(ErrorKind::Parse) located in `file` for malformed
// conditionals and macros, unknown conditions, bad argument references.
PreprocessedSource preprocess(const SourceFile &file, const PreprocessOptions &options = {});

}  // namespace ntap
