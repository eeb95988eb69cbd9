/* perfcount PAGES THREAD_PAGES: a second thread writes one byte to each of
 * THREAD_PAGES fresh anonymous pages while the main thread does the same to
 * PAGES pages (one minor page fault each), each thread between a call of
 * counting_begins() and one of counting_ends(pages), with short sleeps in
 * between so both are switched out and in while they count. Before either,
 * counting_begins() is called alone, then with counting_ends(0): the first
 * uprobe hit of a process faults in the page uprobes execute the probed
 * instruction from (after the probe ran), so the pair counts nothing. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) void counting_begins(void) { __asm__ volatile(""); }
__attribute__((noinline)) void counting_ends(long pages) { __asm__ volatile("" : : "r"(pages)); }

__attribute__((noinline)) static void touch(long pages) {
  long page = sysconf(_SC_PAGESIZE);
  char *memory = mmap(NULL, (size_t)(pages + 1) * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) exit(1);
  /* One fault per page: no transparent huge page may serve several. */
  madvise(memory, (size_t)(pages + 1) * page, MADV_NOHUGEPAGE);
  /* The first call of nanosleep faults in its code: before counting. */
  struct timespec pause = {0, 2 * 1000 * 1000};
  nanosleep(&pause, NULL);
  counting_begins();
  for (long i = 0; i < pages; ++i) {
    if (i % 25 == 0) nanosleep(&pause, NULL);
    ((volatile char *)memory)[i * page] = 1;
  }
  counting_ends(pages);
}

static void *second_thread(void *pages) {
  touch((long)pages);
  return NULL;
}

int main(int argc, char **argv) {
  long pages = argc > 1 ? atol(argv[1]) : 0;
  long thread_pages = argc > 2 ? atol(argv[2]) : 0;
  counting_begins();
  counting_begins();
  counting_ends(0);
  pthread_t thread;
  if (pthread_create(&thread, NULL, second_thread, (void *)thread_pages)) return 1;
  touch(pages);
  pthread_join(thread, NULL);
  return 0;
}
