// Computes until killed, making no system call after its start: a process
// that only the scheduler's preemptions show running in the kernel.
int main(void) {
  volatile unsigned long n = 0;
  for (;;) ++n;
}
