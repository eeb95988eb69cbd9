// The other program of test_uprobe_library.sh: it links libntapcount.so too
// and calls count_add(100) every millisecond, N times (default 5000), while
// the probes on the counted program run; they must not see its calls.
#include <stdlib.h>
#include <unistd.h>

long count_add(int n);

int main(int argc, char **argv) {
  int calls = argc > 1 ? atoi(argv[1]) : 5000;
  for (int i = 0; i < calls; ++i) {
    count_add(100);
    usleep(1000);
  }
  return 0;
}
