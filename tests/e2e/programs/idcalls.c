// Makes an exact number of a few system calls, through syscall(2) so that no
// C library caches or replaces them: 3 getppid, 2 gettid, 4 getuid, one
// getsid(0) and one failing getpgid (ESRCH); then one call through the
// 32-bit entry (int 0x80), number 20: getpid there, writev for 64-bit calls.
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  for (int i = 0; i < 3; ++i) syscall(SYS_getppid);
  for (int i = 0; i < 2; ++i) syscall(SYS_gettid);
  for (int i = 0; i < 4; ++i) syscall(SYS_getuid);
  syscall(SYS_getsid, 0);
  syscall(SYS_getpgid, 0x7fffffff);
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
  return 0;
}
