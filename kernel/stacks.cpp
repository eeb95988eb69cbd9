#include "kernel/stacks.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string_view>

namespace ntap {
namespace {

bool is_tracing_machinery(std::string_view name) {
  for (std::string_view prefix : {"bpf_prog_", "bpf_trace_run", "__bpf_trace_", "__traceiter_", "bpf_trampoline_"})
    if (name.substr(0, prefix.size()) == prefix) return true;
  return false;
}

std::string hex16(uint64_t address) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%016" PRIx64, address);
  return text;
}

}  // namespace

std::vector<uint64_t> probe_frames(KernelSymbols &symbols, const std::vector<uint64_t> &stack, size_t max_frames) {
  size_t end = 0;
  while (end < stack.size() && stack[end] != 0) ++end;
  size_t first = 0;
  for (; first < end; ++first) {
    std::optional<SymbolInfo> info = symbols.lookup(stack[first]);
    if (info && !is_tracing_machinery(info->name)) break;
  }
  // Nothing known below the machinery: keep the whole stack rather than none.
  if (first == end) first = 0;
  end = std::min(end, first + max_frames);
  return std::vector<uint64_t>(stack.begin() + static_cast<ptrdiff_t>(first),
                               stack.begin() + static_cast<ptrdiff_t>(end));
}

std::string format_backtrace(KernelSymbols &symbols, const std::vector<uint64_t> &frames) {
  std::string text;
  for (uint64_t address : frames) {
    text += ' ';
    text += hex16(address);
    if (symbols.lookup(address)) {
      text += " : ";
      text += symbols.symdata(address);
    }
    text += '\n';
  }
  return text;
}

std::string format_backtrace_hex(const std::vector<uint64_t> &frames) {
  std::string text;
  for (uint64_t address : frames) {
    if (!text.empty()) text += ' ';
    text += hex16(address);
  }
  return text;
}

std::vector<uint64_t> callers_of(std::vector<uint64_t> frames, int64_t n) {
  if (n == -1) return frames;
  const uint64_t kept = n < 0 ? 0 : static_cast<uint64_t>(n) + 1;
  if (kept < frames.size()) frames.resize(kept);
  return frames;
}

std::string format_syms(const std::vector<uint64_t> &addresses, const std::function<std::string(uint64_t)> &symdata) {
  std::string text;
  char hex[24];
  for (uint64_t address : addresses) {
    std::snprintf(hex, sizeof hex, "0x%" PRIx64, address);
    text += ' ';
    text += hex;
    text += " : ";
    text += symdata(address);
    text += '\n';
  }
  return text;
}

}  // namespace ntap
