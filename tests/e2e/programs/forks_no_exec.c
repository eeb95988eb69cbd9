/* Forks CHILDREN children that exit without exec (one through vfork), and
 * starts a thread: CHILDREN + 1 processes, each one begin and one end. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *work(void *arg) { return arg; }

int main(int argc, char **argv) {
  int children = argc > 1 ? atoi(argv[1]) : 3;
  pthread_t thread;
  pthread_create(&thread, NULL, work, NULL);
  pthread_join(thread, NULL);
  for (int i = 0; i < children; ++i) {
    pid_t child = i == 0 ? vfork() : fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
  }
  return 0;
}
