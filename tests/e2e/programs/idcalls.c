// Makes an exact number of a few system calls, through syscall(2) so that no
// C library caches or replaces them: 3 getppid, 2 gettid, 4 getuid, one
// getsid(0) and one failing getpgid (ESRCH).
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  for (int i = 0; i < 3; ++i) syscall(SYS_getppid);
  for (int i = 0; i < 2; ++i) syscall(SYS_gettid);
  for (int i = 0; i < 4; ++i) syscall(SYS_getuid);
  syscall(SYS_getsid, 0);
  syscall(SYS_getpgid, 0x7fffffff);
  return 0;
}
