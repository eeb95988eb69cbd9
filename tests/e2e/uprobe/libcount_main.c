// The counted program of test_uprobe_library.sh: count_add(1) ...
// count_add(N) through libntapcount.so. Arguments: N (default 3), then how
// long to stay afterwards in ms (for usymname), then a file to wait for
// before calling (so a tracer can attach to the running process first).
#include <stdlib.h>
#include <unistd.h>

long count_add(int n);

int main(int argc, char **argv) {
  int calls = argc > 1 ? atoi(argv[1]) : 3;
  if (argc > 3)
    for (int waited = 0; access(argv[3], F_OK) != 0 && waited < 2000; ++waited) usleep(10000);
  long total = 0;
  for (int i = 1; i <= calls; ++i) total = count_add(i);
  usleep(argc > 2 ? atoi(argv[2]) * 1000 : 0);
  return total != (long)calls * (calls + 1) / 2;
}
