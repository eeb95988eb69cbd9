/* The runtime API that JIT-compiled user probes call.
 *
 * The functions are listed once, in abi/runtime_api.def, which also yields the
 * symbol table below (runtime/api.cpp) and the IR declarations of the host
 * code generator (codegen/host/runtime_decls.cpp).
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

/* The functions: every entry of abi/runtime_api.def (documented there), as a
 * C declaration. Type codes of the list → C types: */
#define NTAP_CTYPE_void void
#define NTAP_CTYPE_i64 int64_t
#define NTAP_CTYPE_u64 uint64_t
#define NTAP_CTYPE_i32 int32_t
#define NTAP_CTYPE_u32 uint32_t
#define NTAP_CTYPE_i64_ptr int64_t *
#define NTAP_CTYPE_str const char *
#define NTAP_CTYPE_rt ntap_rt *
#define NTAP_CTYPE_iter ntap_iter *
#define NTAP_CTYPE_values const ntap_value *
#define NTAP_CTYPE_values_out ntap_value *
#define NTAP_ARG(type, name) NTAP_CTYPE_##type name
#define NTAP_API(result, name, ...) NTAP_CTYPE_##result name(__VA_ARGS__);
#include "abi/runtime_api.def"
#undef NTAP_API
#undef NTAP_ARG

/* Name → address of every function above, terminated by {NULL, NULL}. */
typedef struct ntap_symbol {
  const char *name;
  void *address;
} ntap_symbol;
extern const ntap_symbol ntap_runtime_symbols[];

#ifdef __cplusplus
}
#endif
