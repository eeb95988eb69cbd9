#include "runtime/output.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "runtime/file_sink.h"
#include "runtime/globals_display.h"
#include "runtime/histogram.h"
#include "runtime/timefmt.h"

namespace ntap {
namespace {

// A handler printing more than this is written out before it returns, so a
// huge report never holds more than about this much memory.
constexpr size_t kEarlyWriteThreshold = 1 << 20;
constexpr size_t kInitialBuffer = 64 << 10;

std::string failure_report(const FileSink &sink) {
  if (sink.failure().empty()) return {};
  return fmt::format("output to {} stopped ({}): {} bytes not written", sink.name(), sink.failure(),
                     sink.unwritten_bytes());
}

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
    sink_.write_all(buffer_);
    buffer_.clear();  // keeps the capacity: no allocation per handler run
  }
  void set_write_limits(const WriteLimits &limits) override { sink_.set_limits(limits); }
  std::string failure() const override { return failure_report(sink_); }

 private:
  FileSink sink_;
  std::string buffer_;
};

// --format json: one object per line (docs/output.md has the schema).
class JsonLinesOutput final : public Output {
 public:
  explicit JsonLinesOutput(const std::string &path) : sink_(path) {}
  ~JsonLinesOutput() override {
    try {
      flush();
    } catch (...) {
    }
  }
  void set_write_limits(const WriteLimits &limits) override { sink_.set_limits(limits); }
  std::string failure() const override { return failure_report(sink_); }
  void begin_probe(std::string_view probe_point) override {
    emit_text();
    probe_.assign(probe_point);
  }
  void write(std::string_view text) override {
    text_.append(text);
    if (text_.size() >= kEarlyWriteThreshold) {
      emit_text();
      write_lines();
    }
  }
  void histogram(const HistogramPrint &print) override {
    start_object("histogram");
    lines_.append(",\"global\":");
    append_json_string(lines_, print.global->name);
    if (print.global->is_array) {
      lines_.append(",\"key\":");
      append_key(print.key);
    }
    append_histogram(*print.spec, print.buckets);
    lines_.append("}\n");
  }
  void global_at_exit(const GlobalSnapshot &snapshot) override {
    const ast::Global &g = *snapshot.global;
    start_object("global");
    lines_.append(",\"name\":");
    append_json_string(lines_, g.name);
    if (!g.is_array) {
      lines_.append(",\"value\":");
      if (!snapshot.entries.empty()) append_value(snapshot, snapshot.entries.front().value);
      else lines_.append("null");
    } else {
      lines_.append(",\"entries\":[");
      for (size_t i = 0; i < snapshot.entries.size(); ++i) {
        if (i) lines_.push_back(',');
        lines_.append("{\"key\":");
        append_key(snapshot.entries[i].key);
        lines_.append(",\"value\":");
        append_value(snapshot, snapshot.entries[i].value);
        lines_.push_back('}');
      }
      lines_.push_back(']');
    }
    lines_.append("}\n");
  }
  void warning(std::string_view message) override {
    start_object("warning");
    lines_.append(",\"message\":");
    append_json_string(lines_, without_newline(message));
    lines_.append("}\n");
  }
  void lost(const LostCount &count) override {
    start_object("lost");
    lines_.append(",\"kind\":");
    append_json_string(lines_, count.kind);
    fmt::format_to(std::back_inserter(lines_), ",\"count\":{}", count.count);
    if (!count.global.empty()) {
      lines_.append(",\"global\":");
      append_json_string(lines_, count.global);
    }
    if (count.limit) fmt::format_to(std::back_inserter(lines_), ",\"limit\":{}", count.limit);
    if (!count.probe.empty()) {
      lines_.append(",\"probe\":");
      append_json_string(lines_, count.probe);
    }
    lines_.append(",\"message\":");
    append_json_string(lines_, without_newline(count.message));
    lines_.append("}\n");
  }
  void flush() override {
    emit_text();
    write_lines();
  }

 private:
  static std::string_view without_newline(std::string_view text) {
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    return text;
  }
  // A new object after the printf text before it.
  void start_object(std::string_view type) {
    emit_text();
    open_object(type);
  }
  // {"type":TYPE,"probe":...,"time_ns":N  (left open for the type's fields)
  void open_object(std::string_view type) {
    lines_.append("{\"type\":\"");
    lines_.append(type);
    lines_.append("\",\"probe\":");
    append_json_string(lines_, probe_);
    fmt::format_to(std::back_inserter(lines_), ",\"time_ns\":{}", realtime_ns());
  }
  void emit_text() {
    if (text_.empty()) return;
    open_object("printf");
    lines_.append(",\"text\":");
    append_json_string(lines_, text_);
    lines_.append("}\n");
    text_.clear();
  }
  void write_lines() {
    if (lines_.empty()) return;
    std::string pending;
    pending.swap(lines_);  // a failing write is reported once
    sink_.write_all(pending);
  }
  void append_key(const Key &key) {
    lines_.push_back('[');
    for (size_t i = 0; i < key.size(); ++i) {
      if (i) lines_.push_back(',');
      if (const auto *text = std::get_if<std::string>(&key[i]))
        append_json_string(lines_, *text);
      else
        fmt::format_to(std::back_inserter(lines_), "{}", std::get<int64_t>(key[i]));
    }
    lines_.push_back(']');
  }
  void append_value(const GlobalSnapshot &snapshot, const Value &value) {
    switch (snapshot.global->value_type) {
      case ast::Type::String: append_json_string(lines_, value.s); return;
      case ast::Type::Stats: {
        const StatsValue &s = value.stats;
        if (s.count == 0) {
          lines_.append("{\"count\":0}");
          return;
        }
        fmt::format_to(std::back_inserter(lines_), "{{\"count\":{},\"sum\":{},\"min\":{},\"max\":{},\"avg\":{}", s.count,
                       s.sum, s.min, s.max, stats_extract(s, ast::StatsFn::Avg));
        if (snapshot.layout && snapshot.layout->histogram.kind != HistogramSpec::Kind::None && !value.buckets.empty())
          append_histogram(snapshot.layout->histogram, value.buckets);
        lines_.push_back('}');
        return;
      }
      default: fmt::format_to(std::back_inserter(lines_), "{}", value.l); return;
    }
  }
  // ,"histogram":"log"|"linear"[,"low":L,"high":H,"width":W],"buckets":[...]
  // with the buckets that counted something, each {"value":LABEL,"count":N}
  // (LABEL as stap's table prints it), the linear underflow and overflow
  // buckets marked.
  void append_histogram(const HistogramSpec &spec, const std::vector<int64_t> &buckets) {
    const bool linear = spec.kind == HistogramSpec::Kind::Linear;
    lines_.append(linear ? ",\"histogram\":\"linear\"" : ",\"histogram\":\"log\"");
    if (linear)
      fmt::format_to(std::back_inserter(lines_), ",\"low\":{},\"high\":{},\"width\":{}", spec.low, spec.high,
                     spec.width);
    lines_.append(",\"buckets\":[");
    bool first = true;
    const size_t count = std::min<size_t>(buckets.size(), spec.buckets);
    for (size_t i = 0; i < count; ++i) {
      if (buckets[i] == 0) continue;
      if (!first) lines_.push_back(',');
      first = false;
      fmt::format_to(std::back_inserter(lines_), "{{\"value\":{},\"count\":{}", spec.bucket_label(static_cast<uint32_t>(i)),
                     buckets[i]);
      if (linear && i == 0) lines_.append(",\"underflow\":true");
      if (linear && i + 1 == spec.buckets) lines_.append(",\"overflow\":true");
      lines_.push_back('}');
    }
    lines_.push_back(']');
  }

  FileSink sink_;
  std::string probe_;
  std::string text_;
  std::string lines_;
};

}  // namespace

void Output::histogram(const HistogramPrint &print) {
  std::string table;
  render_histogram(table, *print.spec, print.buckets);
  if (print.newline) table += '\n';
  write(table);
}

void Output::global_at_exit(const GlobalSnapshot &global) {
  std::string lines;
  render_global_text(lines, global);
  write(lines);
}

void Output::warning(std::string_view message) {
  // As stap's _stp_warn: one line on stderr, the newline added when missing.
  flush();  // what the probes printed before the warning comes first
  std::string line = "WARNING: ";
  line.append(message);
  if (line.back() != '\n') line += '\n';
  fputs(line.c_str(), stderr);
}

size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length;
  uint32_t code;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2, code = lead & 0x1f;
  else if (lead >= 0xe0 && lead <= 0xef) length = 3, code = lead & 0x0f;
  else if (lead >= 0xf0 && lead <= 0xf4) length = 4, code = lead & 0x07;
  else return 0;
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code = code << 6 | (byte(i) & 0x3f);
  }
  if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10ffff))) return 0;
  if (code >= 0xd800 && code <= 0xdfff) return 0;
  return length;
}

// Strict JSON needs valid UTF-8: a byte that does not start a well-formed
// sequence (kernel strings can hold anything) becomes U+FFFD.
void append_json_string(std::string &out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t at = 0; at < text.size();) {
    auto c = static_cast<unsigned char>(text[at]);
    if (c >= 0x80) {
      const size_t length = utf8_sequence_length(text.substr(at));
      if (length) {
        out.append(text.substr(at, length));
        at += length;
      } else {
        out.append("\\ufffd");
        ++at;
      }
      continue;
    }
    ++at;
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
          out.push_back(static_cast<char>(c));
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
