// Source files, locations and the SystemTap-style error report.
#include "frontend/diagnostics.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <string_view>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <tuple>

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
constexpr const char *kHintLabel = "       hint: ";  // as wide as kSourceLabel

std::string format_report(ErrorKind kind, const std::string &message, const Location &loc, const std::string &saw,
                          const std::vector<std::string> &hints) {
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
  for (const std::string &hint : hints) {
    out += kHintLabel;
    out += hint;
    out += '\n';
  }
  return out;
}
}  // namespace

CompileError::CompileError(ErrorKind kind, std::string message, Location loc, std::string saw,
                           std::vector<std::string> hints)
    : std::runtime_error(format_report(kind, message, loc, saw, hints)),
      kind_(kind),
      message_(std::move(message)),
      loc_(loc),
      saw_(std::move(saw)),
      hints_(std::move(hints)) {}

CompileError::CompileError(const CompileError &first, std::string report)
    : std::runtime_error(report),
      kind_(first.kind_),
      message_(first.message_),
      loc_(first.loc_),
      saw_(first.saw_),
      hints_(first.hints_),
      report_(std::move(report)) {}

CompileError CompileError::with_hints(const std::vector<std::string> &more) const {
  std::vector<std::string> all = hints_;
  all.insert(all.end(), more.begin(), more.end());
  return CompileError(kind_, message_, loc_, saw_, std::move(all));
}

std::string CompileError::format() const {
  return report_.empty() ? format_report(kind_, message_, loc_, saw_, hints_) : report_;
}

// ---------------------------------------------------------------- Diagnostics

void Diagnostics::report(CompileError error) {
  for (const CompileError &seen : errors_)
    if (seen.format() == error.format()) return;
  errors_.push_back(std::move(error));
}

std::vector<CompileError> Diagnostics::sorted() const {
  std::vector<CompileError> out = errors_;
  // Errors without a position go last; files are ordered by name so the
  // order does not depend on which file was loaded first.
  auto key = [](const CompileError &e) {
    const Location &l = e.location();
    return std::make_tuple(!l.known(), l.known() ? l.file->name : std::string(), l.line, l.col);
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const CompileError &a, const CompileError &b) { return key(a) < key(b); });
  return out;
}

std::string Diagnostics::format() const {
  std::string out;
  const std::vector<CompileError> errors = sorted();
  for (size_t i = 0; i < errors.size() && i < kShownErrors; ++i) out += errors[i].format();
  if (errors.size() > kShownErrors) {
    const size_t more = errors.size() - kShownErrors;
    out += fmt::format("{} more error{} not shown ({} in all)\n", more, more == 1 ? "" : "s", errors.size());
  }
  return out;
}

void Diagnostics::raise() const {
  if (errors_.empty()) return;
  const std::vector<CompileError> errors = sorted();
  throw CompileErrors(errors.front(), format(), errors.size());
}

// ---------------------------------------------------------------- suggestions

namespace {
// The edit distance between a and b: insertions, deletions, substitutions
// and transpositions of neighbours ("rvc" for "rcv", the commonest typo)
// cost 1 each (the optimal string alignment distance).
size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t width = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * width);
  auto at = [&](size_t i, size_t j) -> size_t & { return d[i * width + j]; };
  for (size_t i = 0; i <= a.size(); ++i) at(i, 0) = i;
  for (size_t j = 0; j <= b.size(); ++j) at(0, j) = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  return at(a.size(), b.size());
}
}  // namespace

std::vector<std::string> nearest_names(std::string_view word, const std::vector<std::string> &candidates,
                                       size_t limit) {
  // A third of the word's length: a typo or two in a long name, one in a
  // short one, and no guess for a name of one or two characters (any other
  // short name is as close).
  const size_t allowed = word.size() / 3;
  if (allowed == 0) return {};
  std::vector<std::pair<size_t, std::string>> close;
  for (const std::string &candidate : candidates) {
    if (candidate == word) continue;
    const size_t gap = candidate.size() > word.size() ? candidate.size() - word.size() : word.size() - candidate.size();
    if (gap > allowed) continue;  // cannot be close enough; skips the DP on most candidates
    const size_t distance = edit_distance(word, candidate);
    if (distance <= allowed) close.emplace_back(distance, candidate);
  }
  std::sort(close.begin(), close.end());
  close.erase(std::unique(close.begin(), close.end()), close.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < close.size() && i < limit; ++i) out.push_back(close[i].second);
  return out;
}

std::string did_you_mean(const std::vector<std::string> &names, std::string_view prefix) {
  if (names.empty()) return {};
  std::string out = "did you mean ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += fmt::format("`{}{}`", prefix, names[i]);
  }
  return out + "?";
}

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

namespace {

void print_diagnostic(const char *label, const Location &loc, const std::string &message) {
  std::string line = label + printable(message);
  if (loc.known()) line += " at " + printable(loc.str());
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

}  // namespace

void warn(const Location &loc, const std::string &message) {
  // -W: the first warning ends the run as an error at its location.
  if (warnings_as_errors.load(std::memory_order_relaxed))
    throw CompileError(ErrorKind::Semantic, message + " (a warning, treated as an error by -W)", loc);
  if (!warnings_enabled.load(std::memory_order_relaxed)) return;
  print_diagnostic("WARNING: ", loc, message);
}

void note(const Location &loc, const std::string &message) {
  if (warnings_enabled.load(std::memory_order_relaxed)) print_diagnostic("NOTE: ", loc, message);
}

void set_warnings_enabled(bool on) { warnings_enabled.store(on, std::memory_order_relaxed); }
void set_warnings_as_errors(bool on) { warnings_as_errors.store(on, std::memory_order_relaxed); }

}  // namespace ntap
