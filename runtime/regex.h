// Regular expression matching for `=~` / `!~` in user probes (POSIX ERE, as
// stap), and matched(n) for the subexpressions of the last successful match.
#pragma once
#include <stdint.h>

#include "abi/runtime_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when `subject` matches `pattern`, else 0. Each pattern (a literal of the
 * script, so a constant of the JIT module) is compiled once per process. */
int64_t ntap_regex_match(ntap_rt *rt, const char *subject, const char *pattern);
/* Subexpression n (0 = the whole match) of the last successful match; "" when
 * it did not take part in the match, is out of range, or nothing matched. */
const char *ntap_fn_matched(ntap_rt *rt, int64_t n);

#ifdef __cplusplus
}
#endif
