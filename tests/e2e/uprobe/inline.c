// The traced program of test_uprobe.sh's .inline case: scaled() is inlined
// twice into use(), which main calls three times (with 1, 2 and 3 when run
// without arguments): the copies see v = 1, 2, 3 and 11, 12, 13.
static inline __attribute__((always_inline)) int scaled(int v) {
  int r = v * 3;
  __asm__ volatile("" : "+r"(r));  // kept, so the copies stay apart
  return r + 1;
}

__attribute__((noinline)) int use(int n) { return scaled(n) + scaled(n + 10); }

int main(int argc, char **argv) {
  (void)argv;
  int total = 0;
  for (int i = 0; i < 3; ++i) total += use(argc + i);
  return total == 12345;
}
