/* pagetouch PAGES [CPU_MS]: writes one byte to each of PAGES fresh anonymous
 * pages (one minor page fault each) between two sched_yield() calls, which the
 * perf probe tests use as markers; then, with CPU_MS, spins until it has
 * used that much CPU time. */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  long pages = argc > 1 ? atol(argv[1]) : 0;
  long spin = argc > 2 ? atol(argv[2]) : 0;
  long page = sysconf(_SC_PAGESIZE);
  char *memory = mmap(NULL, (size_t)(pages + 1) * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return 1;
  /* One fault per page: no transparent huge page may serve several. */
  madvise(memory, (size_t)(pages + 1) * page, MADV_NOHUGEPAGE);
  /* The first call of nanosleep faults in its code: before the markers. */
  struct timespec pause = {0, 5 * 1000 * 1000};
  nanosleep(&pause, NULL);
  syscall(SYS_sched_yield);
  /* In bursts of 50, a few ms apart: the kernel throttles a CPU's perf
   * samples past kernel.perf_event_max_sample_rate / HZ per tick (400 at
   * 100000 and HZ=250), and other processes' faults count on the same CPU. */
  for (long i = 0; i < pages; ++i) {
    if (i && i % 50 == 0) nanosleep(&pause, NULL);
    ((volatile char *)memory)[i * page] = 1;
  }
  syscall(SYS_sched_yield);
  volatile unsigned long sink = 0;
  while (spin > 0 && cpu_ms() < spin)
    for (int i = 0; i < 100000; ++i) sink += i;
  return 0;
}
