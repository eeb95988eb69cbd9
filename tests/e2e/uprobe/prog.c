// The traced program of test_uprobe.sh: known calls with known values.
// Built by the test with and without -g, as PIE and not.
#include <stdlib.h>
#include <unistd.h>

#include "sdt_note.h"

__attribute__((noinline)) int twice_plus_one(int x) {
  int doubled = x * 2;
  return doubled + 1;  // LINE_RETURN
}

__attribute__((noinline)) long negate_sum(long a, long b) {
  long sum = a + b;
  return -sum;
}

// Members through pointers, an array member and an array of structs.
struct point {
  int x;
  long y;
  short tags[4];
  struct point *next;
};

// In .data, so -O2 cannot drop the members walk_points does not read.
struct point points[2] = {{3, 4, {1, 2, 3, 4}, &points[1]}, {-5, 600, {10, 20, -30, 40}, 0}};

__attribute__((noinline)) long walk_points(struct point *p, struct point *all) {
  return p->x + p->next->y + all[1].tags[2];
}

int main(int argc, char **argv) {
  int calls = argc > 1 ? atoi(argv[1]) : 3;
  volatile long total = 0;
  for (long i = 0; i < calls; ++i) {
    int value = 7;
    total += twice_plus_one(value);
    total += negate_sum(i, 10);
    SDT_PROBE2(ntaptest, tick, value, i);
  }
  total += walk_points(&points[0], points);
  // Stay a moment so the tracer can read our mappings (usymname).
  usleep(argc > 2 ? atoi(argv[2]) * 1000 : 0);
  return total == 0;
}
