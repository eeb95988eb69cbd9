// A file parsed once per process and kept, keyed by its path: user programs'
// ELF symbols and DWARF, which several probes and every stack render ask
// about. A failure is kept too, with its message, so it is not retried.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ntap {

// T::open(path, error) returns a std::unique_ptr<T>, null with `error` set.
template <typename T>
const T *open_cached(const std::string &path, std::string &error) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<T>> opened;
  static std::map<std::string, std::string> failed;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = opened.find(path); it != opened.end()) return it->second.get();
  if (auto it = failed.find(path); it != failed.end()) {
    error = it->second;
    return nullptr;
  }
  std::unique_ptr<T> file = T::open(path, error);
  if (!file) {
    failed[path] = error;
    return nullptr;
  }
  return (opened[path] = std::move(file)).get();
}

}  // namespace ntap
