// Source files, locations and the SystemTap-style error report.
#include "frontend/diagnostics.h"

#include <fmt/format.h>

#include <atomic>
#include <cctype>
#include <string_view>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ntap {

namespace {

// Every source/caret line is indented by this much: it is the width of the
// "     source: " label, so the caret lands under the offending character.
constexpr const char *kSourceLabel = "     source: ";
constexpr size_t kSourceLabelWidth = 13;
constexpr unsigned kTabWidth = 8;
// A token echoed after "saw:" is cut to this many bytes.
constexpr size_t kMaxEchoedToken = 80;

const char *error_prefix(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Parse: return "parse error";
    // stap reports probe-point resolution failures as semantic errors too.
    case ErrorKind::Semantic:
    case ErrorKind::Probe: return "semantic error";
    case ErrorKind::Codegen: return "compile error";
    case ErrorKind::Runtime: return "ERROR";
  }
  return "error";
}

// Tabs are expanded to spaces (8-column stops) so the caret line, which is
// made of spaces only, lines up whatever the terminal's tab settings are.
std::string expand_tabs(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (char c : line) {
    if (c == '\t') {
      do out.push_back(' '); while (out.size() % kTabWidth != 0);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Bytes from a script echoed in a message (a token, a name, a file name) are
// shown with control characters escaped as \xNN: a script must not be able to
// move the cursor or recolour the terminal of whoever reads its errors. An
// enormous token is cut short.
std::string printable(std::string_view text, size_t max_bytes = std::string::npos) {
  std::string out;
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f)
      out += fmt::format("\\x{:02x}", byte);
    else
      out.push_back(c);
  }
  if (cut) out += "...";
  return out;
}

// A source line echoed under a message: control characters become '?', one
// column each, so the caret line still lines up.
std::string printable_source_line(std::string_view line) {
  std::string out = expand_tabs(line);
  for (char &c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  return out;
}

// Display column (0-based) of the byte at 1-based `col` in `line`, counting
// expanded tabs and treating a UTF-8 sequence as one column.
size_t display_column(std::string_view line, uint32_t col) {
  size_t width = 0;
  for (uint32_t i = 0; i + 1 < col; ++i) {
    if (i >= line.size()) {
      ++width;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == '\t')
      width = (width / kTabWidth + 1) * kTabWidth;
    else if ((c & 0xC0) != 0x80)  // continuation bytes take no column
      ++width;
  }
  return width;
}

std::atomic<bool> warnings_enabled{true};
std::atomic<bool> warnings_as_errors{false};

}  // namespace

// ---------------------------------------------------------------- SourceFile

SourceFile::SourceFile(std::string n, std::string t) : name(std::move(n)), text(std::move(t)) {
  line_starts.push_back(0);
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') line_starts.push_back(static_cast<uint32_t>(i + 1));
}

std::string_view SourceFile::line(uint32_t line_no) const {
  if (line_no == 0 || line_no > line_starts.size()) return {};
  size_t begin = line_starts[line_no - 1];
  size_t end = line_no < line_starts.size() ? line_starts[line_no] - 1 : text.size();
  std::string_view view(text.data() + begin, end - begin);
  if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
  return view;
}

std::string Location::str() const {
  if (!file) return "<unknown>";
  return file->name + ":" + std::to_string(line) + ":" + std::to_string(col);
}

// ---------------------------------------------------------------- SourceManager

const SourceFile &SourceManager::add(std::string name, std::string text) {
  files_.push_back(std::make_unique<SourceFile>(std::move(name), std::move(text)));
  return *files_.back();
}

const SourceFile &SourceManager::load(const std::string &path) {
  // `-`, as in stap: the script comes on standard input.
  const bool from_stdin = path == "-";
  FILE *f = from_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (!f)
    throw CompileError(ErrorKind::Runtime,
                       "cannot read script file '" + path + "': " + std::strerror(errno), Location{});
  std::string text;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
    // Read no further than the bound: `ntap /dev/zero` must not fill memory.
    if (text.size() + got > kMaxScriptBytes) {
      if (!from_stdin) std::fclose(f);
      throw CompileError(ErrorKind::Runtime,
                         fmt::format("script file '{}' is larger than {} MiB", path, kMaxScriptBytes >> 20),
                         Location{});
    }
    text.append(buffer, got);
  }
  bool failed = std::ferror(f);
  int saved_errno = errno;
  if (!from_stdin) std::fclose(f);
  if (failed)
    throw CompileError(ErrorKind::Runtime,
                       "cannot read script file '" + path + "': " + std::strerror(saved_errno), Location{});
  return add(from_stdin ? "<stdin>" : path, std::move(text));
}

// ---------------------------------------------------------------- CompileError

namespace {
std::string format_report(ErrorKind kind, const std::string &message, const Location &loc,
                          const std::string &saw) {
  std::string out = error_prefix(kind);
  out += ": ";
  out += printable(message);
  std::string at = loc.known() ? " at " + printable(loc.str()) : std::string();
  if (!saw.empty()) {
    // Parse errors put the offending token on its own line, as stap does;
    // other errors name the offending identifier after the message.
    out += kind == ErrorKind::Parse ? "\n        saw: " : ": ";
    out += printable(saw, kMaxEchoedToken);
  }
  out += at;
  out += '\n';
  if (loc.known()) {
    std::string_view line = loc.file->line(loc.line);
    if (!line.empty()) {
      out += kSourceLabel;
      out += printable_source_line(line);
      out += '\n';
      out.append(kSourceLabelWidth + display_column(line, loc.col), ' ');
      out += "^\n";
    }
  }
  return out;
}
}  // namespace

CompileError::CompileError(ErrorKind kind, std::string message, Location loc, std::string saw)
    : std::runtime_error(format_report(kind, message, loc, saw)),
      kind_(kind),
      message_(std::move(message)),
      loc_(loc),
      saw_(std::move(saw)) {}

std::string CompileError::format() const { return format_report(kind_, message_, loc_, saw_); }

// ---------------------------------------------------------------- tokens

namespace {

bool is_keyword(std::string_view word) {
  static constexpr std::string_view keywords[] = {
      "probe", "global", "function", "if",   "else", "for",  "foreach", "in",    "limit", "return",
      "delete", "while", "break",    "continue", "next", "string", "long", "try", "catch", "private"};
  for (std::string_view k : keywords)
    if (word == k) return true;
  return false;
}

}  // namespace

std::string describe_token_at(const Location &loc) {
  if (!loc.known() || loc.col == 0) return {};
  const std::string_view line = loc.file->line(loc.line);
  const size_t start = loc.col - 1;
  if (start >= line.size()) return {};
  auto ident_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '@';
  };
  const char first = line[start];
  if (ident_char(first) && !std::isdigit(static_cast<unsigned char>(first))) {
    size_t end = start;
    while (end < line.size() && ident_char(line[end])) ++end;
    const std::string_view word = line.substr(start, end - start);
    return is_keyword(word) ? "keyword" : fmt::format("identifier '{}'", word);
  }
  if (std::isdigit(static_cast<unsigned char>(first))) {
    size_t end = start;
    while (end < line.size() && std::isalnum(static_cast<unsigned char>(line[end]))) ++end;
    return fmt::format("number '{}'", line.substr(start, end - start));
  }
  if (first == '"') {
    size_t end = start + 1;
    while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
    return fmt::format("string '{}'", line.substr(start + 1, std::min(end, line.size()) - start - 1));
  }
  static constexpr std::string_view operators[] = {"<<<", "<<=", ">>=", "++", "--", "+=", "-=", "*=", "/=",
                                                   "%=",  "&=",  "|=",  "^=", ".=", "<<", ">>", "==", "!=",
                                                   "<=",  ">=",  "&&",  "||", "=~", "!~"};
  for (std::string_view op : operators)
    if (line.substr(start, op.size()) == op) return fmt::format("operator '{}'", op);
  return fmt::format("operator '{}'", first);
}

// ---------------------------------------------------------------- warnings

void warn(const Location &loc, const std::string &message) {
  // -W: the first warning ends the run as an error at its location.
  if (warnings_as_errors.load(std::memory_order_relaxed))
    throw CompileError(ErrorKind::Semantic, message + " (a warning, treated as an error by -W)", loc);
  if (!warnings_enabled.load(std::memory_order_relaxed)) return;
  std::string line = "WARNING: " + printable(message);
  if (loc.known()) line += " at " + printable(loc.str());
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

void set_warnings_enabled(bool on) { warnings_enabled.store(on, std::memory_order_relaxed); }
void set_warnings_as_errors(bool on) { warnings_as_errors.store(on, std::memory_order_relaxed); }

}  // namespace ntap
