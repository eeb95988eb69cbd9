// Strings handed to JIT-compiled probe code. They must stay valid until the
// probe handler returns and are all released together afterwards, so they
// are kept in per-run chunks instead of being owned by the generated code.
#pragma once
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace ntap {

class StringArena {
 public:
  // A NUL-terminated copy of `text`, valid until reset().
  const char *keep(std::string_view text) {
    const size_t need = text.size() + 1;
    if (chunks_.empty() || used_ + need > capacity_) grow(need);
    char *dst = chunks_.back().get() + used_;
    std::memcpy(dst, text.data(), text.size());
    dst[text.size()] = '\0';
    used_ += need;
    return dst;
  }
  // Keeps the first chunk so a steady stream of probe runs does not allocate.
  void reset() {
    if (chunks_.size() > 1) {
      chunks_.resize(1);
      capacity_ = kChunkSize;
    }
    used_ = 0;
  }

 private:
  static constexpr size_t kChunkSize = 64 * 1024;
  void grow(size_t need) {
    capacity_ = need > kChunkSize ? need : kChunkSize;
    chunks_.push_back(std::make_unique<char[]>(capacity_));
    used_ = 0;
  }
  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t used_ = 0;
  size_t capacity_ = 0;
};

}  // namespace ntap
