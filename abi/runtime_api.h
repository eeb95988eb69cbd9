/* The runtime API that JIT-compiled user probes call.
 *
 * Plain C so the host code generator can declare each function in IR and the
 * JIT can bind it with absoluteSymbols (see ntap_runtime_symbols). Conventions:
 *   - `gid` is ast::Global::id; `keys` points at the key tuple (one ntap_value
 *     per key, in declaration order; NULL for scalars);
 *   - strings returned by the runtime stay valid until the probe handler
 *     returns (they live in a per-run arena);
 *   - functions taking a `site` (an index into HostProgram::sites()) can fail:
 *     after calling one, generated code tests ntap_failed() and returns from
 *     the probe when it is set. The runtime then reports the error with the
 *     site's FILE:LINE:COL and ends the run as stap does.
 */
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ntap_rt ntap_rt;
typedef struct ntap_iter ntap_iter;
typedef union ntap_value {
  int64_t l;
  const char *s;
} ntap_value;

/* A `site` argument for calls that cannot fail (writes to scalars and to
 * wrap-around arrays). */
#define NTAP_NO_SITE UINT32_MAX

/* ---- globals ---- */
int64_t ntap_get_long(ntap_rt *rt, uint32_t gid, const ntap_value *keys);
const char *ntap_get_string(ntap_rt *rt, uint32_t gid, const ntap_value *keys);
/* Writes fail at `site` when a new element does not fit in a full array
 * (stap's "Array overflow"); nothing is stored then. */
void ntap_set_long(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t value, uint32_t site);
void ntap_set_string(ntap_rt *rt, uint32_t gid, const ntap_value *keys, const char *value, uint32_t site);
void ntap_stats_add(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t value, uint32_t site);
/* fn: ast::StatsFn. @count of a missing element is 0; other extractors on an
 * empty aggregate fail at `site`. */
int64_t ntap_stats_get(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint32_t fn, uint32_t site);
/* print(@hist_log(x)): stap's histogram table of the element (header only
 * when nothing was observed); a missing array element fails at `site`. */
const char *ntap_stats_histogram(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint32_t site);
/* @hist_log(x)[bucket]: that bucket's count, 0 for a missing element; a
 * bucket outside the histogram fails at `site`. */
/* print(@hist_log(x)) / println(...) as a statement: the histogram goes to
 * the output as one piece (a table in text, an object in JSON); `newline`
 * is 1 for println. A missing array element fails at `site`. */
void ntap_print_histogram(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t newline, uint32_t site);
int64_t ntap_stats_bucket(ntap_rt *rt, uint32_t gid, const ntap_value *keys, int64_t bucket, uint32_t site);
/* Wildcard subscripts: bit i of wildcard_mask set means key i is `*` (keys[i]
 * is then ignored); 0 names the one element `keys`. `[1, *] in a`: true when
 * any element matches; `delete a[*, 5]`: every matching element. */
int64_t ntap_exists(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint64_t wildcard_mask);
/* keys == NULL: the whole array (or reset a scalar). */
void ntap_delete(ntap_rt *rt, uint32_t gid, const ntap_value *keys, uint64_t wildcard_mask);

/* ---- foreach ----
 * sort_column: 0 = value (for stats: the extractor sort_stat), 1..n = key n;
 * sort_direction: +1, -1 or 0 (unsorted); limit < 0: no limit. The iteration
 * works on a snapshot taken at begin. slice_keys == NULL: every element;
 * otherwise foreach ([x, y] in arr[*, 5]): only the elements matching
 * slice_keys (bit i of wildcard_mask set: key i is `*`), and the limit counts
 * matching elements. */
ntap_iter *ntap_foreach_begin(ntap_rt *rt, uint32_t gid, int32_t sort_column, int32_t sort_direction,
                              uint32_t sort_stat, int64_t limit, const ntap_value *slice_keys,
                              uint64_t wildcard_mask);
/* Writes the next key tuple to keys_out; returns 0 when done. */
int64_t ntap_foreach_next(ntap_iter *it, ntap_value *keys_out);
void ntap_foreach_end(ntap_iter *it);

/* ---- output: formats are ast::Program::formats; args one per conversion ---- */
void ntap_printf(ntap_rt *rt, uint32_t format_id, const ntap_value *args);
const char *ntap_sprintf(ntap_rt *rt, uint32_t format_id, const ntap_value *args);

/* ---- strings ---- */
const char *ntap_str_concat(ntap_rt *rt, const char *a, const char *b);
int64_t ntap_str_compare(const char *a, const char *b); /* <0, 0, >0 like strcmp */

/* ---- errors ---- */
int64_t ntap_failed(ntap_rt *rt);
void ntap_fail_at(ntap_rt *rt, uint32_t site); /* records HostProgram::sites()[site] as the error */
/* error(msg) with a message computed at run time: the error is reported at
 * the site's FILE:LINE:COL with `message` (copied) instead of the site's text. */
void ntap_fail_with_message(ntap_rt *rt, uint32_t site, const char *message);
/* try/catch: clears the recorded error and returns its site. */
uint32_t ntap_catch(ntap_rt *rt);
/* The running handler's MAXACTION budget. Generated code fetches the pointer
 * once per function, subtracts the statements it executes and fails when the
 * budget reaches 0 (stap's "MAXACTION exceeded"). */
int64_t *ntap_action_counter(ntap_rt *rt);
/* How deep script function calls nest in the running handler (0 in the
 * probe body); generated code checks it against MAXNESTING around calls. */
int64_t *ntap_nesting_depth(ntap_rt *rt);
/* After ntap_catch: the caught error's run-time message, or NULL when the
 * error's text is its site's (fixed at compile time). */
const char *ntap_caught_message(ntap_rt *rt);

/* ---- builtins: one ntap_fn_<name> per user-side builtin (frontend/builtins.h).
 * Arguments follow the builtin's parameters: int64_t for long, const char * for string. */
void ntap_fn_exit(ntap_rt *rt);
/* pp(): the probe point of the handler that is running (stap's spelling). */
const char *ntap_fn_pp(ntap_rt *rt);
const char *ntap_fn_execname(ntap_rt *rt);
int64_t ntap_fn_pid(ntap_rt *rt);
int64_t ntap_fn_tid(ntap_rt *rt);
int64_t ntap_fn_cpu(ntap_rt *rt);
int64_t ntap_fn_gettimeofday_s(ntap_rt *rt);
int64_t ntap_fn_gettimeofday_ms(ntap_rt *rt);
int64_t ntap_fn_gettimeofday_us(ntap_rt *rt);
int64_t ntap_fn_gettimeofday_ns(ntap_rt *rt);
const char *ntap_fn_ctime(ntap_rt *rt, int64_t epoch_seconds);
const char *ntap_fn_symname(ntap_rt *rt, int64_t address);
const char *ntap_fn_symdata(ntap_rt *rt, int64_t address);
const char *ntap_fn_drop_reason_name(ntap_rt *rt, int64_t reason);
/* Library functions (docs/langref.md, "Library functions"). Those taking a
 * `site` fail there (stringat out of bounds, format_ipaddr's family). */
void ntap_fn_warn(ntap_rt *rt, const char *msg);
void ntap_fn_log(ntap_rt *rt, const char *msg);
int64_t ntap_fn_ppid(ntap_rt *rt);
const char *ntap_fn_pexecname(ntap_rt *rt);
int64_t ntap_fn_uid(ntap_rt *rt);
int64_t ntap_fn_gid(ntap_rt *rt);
int64_t ntap_fn_euid(ntap_rt *rt);
int64_t ntap_fn_egid(ntap_rt *rt);
int64_t ntap_fn_target(ntap_rt *rt);
int64_t ntap_fn_local_clock_ns(ntap_rt *rt);
int64_t ntap_fn_local_clock_us(ntap_rt *rt);
int64_t ntap_fn_local_clock_ms(ntap_rt *rt);
int64_t ntap_fn_local_clock_s(ntap_rt *rt);
int64_t ntap_fn_cpu_clock_ns(ntap_rt *rt, int64_t cpu);
int64_t ntap_fn_cpu_clock_us(ntap_rt *rt, int64_t cpu);
int64_t ntap_fn_cpu_clock_ms(ntap_rt *rt, int64_t cpu);
int64_t ntap_fn_cpu_clock_s(ntap_rt *rt, int64_t cpu);
const char *ntap_fn_tz_ctime(ntap_rt *rt, int64_t epoch_seconds);
int64_t ntap_fn_tz_gmtoff(ntap_rt *rt);
const char *ntap_fn_tz_name(ntap_rt *rt);
int64_t ntap_fn_strlen(ntap_rt *rt, const char *s);
const char *ntap_fn_substr(ntap_rt *rt, const char *str, int64_t start, int64_t length);
int64_t ntap_fn_stringat(ntap_rt *rt, const char *str, int64_t pos, uint32_t site);
int64_t ntap_fn_isinstr(ntap_rt *rt, const char *s1, const char *s2);
int64_t ntap_fn_strtol(ntap_rt *rt, const char *str, int64_t base);
int64_t ntap_fn_isdigit(ntap_rt *rt, const char *str);
const char *ntap_fn_str_replace(ntap_rt *rt, const char *str, const char *search, const char *replacement);
const char *ntap_fn_tokenize(ntap_rt *rt, const char *input, const char *delims);
const char *ntap_fn_text_str(ntap_rt *rt, const char *input);
const char *ntap_fn_text_strn(ntap_rt *rt, const char *input, int64_t len, int64_t quoted);
int64_t ntap_fn_ntohs(ntap_rt *rt, int64_t x);
int64_t ntap_fn_ntohl(ntap_rt *rt, int64_t x);
int64_t ntap_fn_ntohll(ntap_rt *rt, int64_t x);
int64_t ntap_fn_htons(ntap_rt *rt, int64_t x);
int64_t ntap_fn_htonl(ntap_rt *rt, int64_t x);
int64_t ntap_fn_htonll(ntap_rt *rt, int64_t x);
const char *ntap_fn_ip_ntop(ntap_rt *rt, int64_t address);
const char *ntap_fn_format_ipaddr(ntap_rt *rt, int64_t address, int64_t family, uint32_t site);

/* Name → address of every function above, terminated by {NULL, NULL}. */
typedef struct ntap_symbol {
  const char *name;
  void *address;
} ntap_symbol;
extern const ntap_symbol ntap_runtime_symbols[];

#ifdef __cplusplus
}
#endif
