// The shared library of test_uprobe_library.sh: count_add is called a known
// number of times by libcount_main.c and, meanwhile, by libcount_other.c,
// whose calls a probe on the main program must not see. Built with and
// without -g.
#include <unistd.h>

#include "sdt_note.h"

static long total;

// Calls getppid through the library's own PLT entry (.plt probes).
__attribute__((noinline)) long count_add(int n) {
  total += n;
  SDT_PROBE1(ntapcount, added, n);
  if (getppid() < 0) total = 0;
  return total;
}
