// =~ / !~ and matched(n) in user probes (POSIX ERE, as stap):
// ntap_regex_match and ntap_fn_matched of abi/runtime_api.def.
#include <regex.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "abi/runtime_api.h"
#include "runtime/session.h"

namespace {

struct CompiledRegex {
  regex_t regex;
  size_t groups = 0;
  ~CompiledRegex() { regfree(&regex); }
};

// Patterns are compiled once, keyed by their text (the parser has already
// checked that each compiles).
CompiledRegex *compiled(const char *pattern) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::unique_ptr<CompiledRegex>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto &slot = cache[pattern];
  if (!slot) {
    auto fresh = std::make_unique<CompiledRegex>();
    if (regcomp(&fresh->regex, pattern, REG_EXTENDED) != 0) return nullptr;
    fresh->groups = fresh->regex.re_nsub + 1;
    slot = std::move(fresh);
  }
  return slot.get();
}

// The subexpressions of the last successful match. User probes run one at a
// time on one thread, so one set per thread is the script's "last match".
thread_local std::vector<std::string> last_groups;
thread_local std::vector<bool> last_group_set;

}  // namespace

int64_t ntap_regex_match(ntap_rt *, const char *subject, const char *pattern) {
  CompiledRegex *re = compiled(pattern ? pattern : "");
  if (!re) return 0;
  std::vector<regmatch_t> groups(re->groups);
  const char *text = subject ? subject : "";
  if (regexec(&re->regex, text, groups.size(), groups.data(), 0) != 0) return 0;
  last_groups.assign(groups.size(), std::string());
  last_group_set.assign(groups.size(), false);
  for (size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].rm_so < 0) continue;
    last_groups[i].assign(text + groups[i].rm_so, static_cast<size_t>(groups[i].rm_eo - groups[i].rm_so));
    last_group_set[i] = true;
  }
  return 1;
}

const char *ntap_fn_matched(ntap_rt *rt, int64_t n) {
  if (n < 0 || static_cast<uint64_t>(n) >= last_groups.size() || !last_group_set[n]) return "";
  return rt->arena.keep(last_groups[n]);
}
