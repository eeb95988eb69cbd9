#include "kernel/providers/trace_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace ntap {
namespace {

bool read_file(const std::string &path, std::string &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[16384];
  ssize_t n;
  // tracefs files report size 0: read until EOF.
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return n == 0;
}

// The value of `key:` in a line such as "field:int x;\toffset:16;\tsize:4;\tsigned:1;".
std::string_view attribute(std::string_view line, std::string_view key) {
  size_t at = line.find(key);
  if (at == std::string_view::npos) return {};
  line.remove_prefix(at + key.size());
  return line.substr(0, line.find(';'));
}

uint32_t number(std::string_view text) {
  return static_cast<uint32_t>(std::strtoul(std::string(text).c_str(), nullptr, 10));
}

// "const void * skaddr" → type "const void *", name "skaddr";
// "__u8 saddr[4]" → "__u8[4]", "saddr", an array.
bool split_declaration(std::string_view decl, TraceField &field) {
  while (!decl.empty() && decl.back() == ' ') decl.remove_suffix(1);
  std::string suffix;
  if (!decl.empty() && decl.back() == ']') {
    size_t open = decl.rfind('[');
    if (open == std::string_view::npos) return false;
    suffix = std::string(decl.substr(open));
    decl = decl.substr(0, open);
    field.is_array = true;
  }
  size_t name_start = decl.find_last_of(" *");
  if (name_start == std::string_view::npos) return false;
  field.name = std::string(decl.substr(name_start + 1));
  std::string_view type = decl.substr(0, name_start + 1);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  field.c_type = std::string(type) + suffix;
  if (type.substr(0, 11) == "__data_loc ") field.is_data_loc = true;
  return !field.name.empty();
}

}  // namespace

std::vector<TraceField> parse_trace_format(std::string_view text) {
  std::vector<TraceField> fields;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    std::string_view decl = attribute(line, "field:");
    if (decl.empty()) continue;
    TraceField field;
    if (!split_declaration(decl, field) || field.name.rfind("common_", 0) == 0) continue;
    field.offset = number(attribute(line, "offset:"));
    field.size = number(attribute(line, "size:"));
    field.is_signed = attribute(line, "signed:") == "1";
    fields.push_back(std::move(field));
  }
  return fields;
}

std::vector<TraceField> read_trace_event_fields(const std::vector<std::string> &tracefs_roots,
                                                std::string_view subsystem, std::string_view event) {
  if (subsystem.empty()) return {};
  const std::string key = "/events/" + std::string(subsystem) + "/" + std::string(event) + "/format";
  for (const std::string &root : tracefs_roots) {
    std::string text;
    if (read_file(root + key, text)) return parse_trace_format(text);
  }
  return {};
}

}  // namespace ntap
