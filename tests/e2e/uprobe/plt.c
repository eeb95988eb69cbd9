// The traced program of test_uprobe.sh's PLT cases: imported functions
// called through their PLT entries a known number of times. getppid is called
// N times (the first argument, default 3) and getuid twice through its entry;
// getuid's address is taken too, so its entry is in .plt.got and the call
// through the pointer goes around the PLT.
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int calls = argc > 1 ? atoi(argv[1]) : 3;
  uid_t (*volatile through_pointer)(void) = getuid;
  for (int i = 0; i < calls; ++i) getppid();
  uid_t uid = getuid() + getuid() + through_pointer();
  // Stay a moment when asked, for a tracer that attaches to a running process.
  usleep(argc > 2 ? atoi(argv[2]) * 1000 : 0);
  return uid == 1;
}
