// N round trips of one byte between two processes on one CPU, through two
// pipes: each round trip is two context switches. Prints the mean wall time
// of one switch in nanoseconds (bench/counter_cost.sh).
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin_to_cpu0(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  int ping[2], pong[2];
  char byte = 0;
  if (pipe(ping) || pipe(pong)) return 1;
  pin_to_cpu0();
  pid_t child = fork();
  if (child == 0) {
    for (long i = 0; i < n; ++i)
      if (read(ping[0], &byte, 1) != 1 || write(pong[1], &byte, 1) != 1) _exit(1);
    _exit(0);
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; ++i)
    if (write(ping[1], &byte, 1) != 1 || read(pong[0], &byte, 1) != 1) return 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  waitpid(child, NULL, 0);
  printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (2.0 * n));
  return 0;
}
