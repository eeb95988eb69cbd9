// N bind() calls on a closed descriptor (each fails at once with EBADF,
// after the system call entry fired) with an AF_INET address; prints the
// mean wall time of one call in nanoseconds (bench/alias_cost.sh).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(80)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; ++i) bind(-1, (struct sockaddr *)&address, sizeof address);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
