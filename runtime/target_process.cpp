#include "runtime/target_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ntap {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::string errno_text(const char *what) { return std::string(what) + ": " + std::strerror(errno); }

// In the forked child: only async-signal-safe calls until exec.
[[noreturn]] void run_child(int wait_fd, int release_fd, const char *command) {
  ::close(release_fd);
  // The session blocks SIGINT/SIGTERM to read them from a signalfd; CMD must
  // get the ordinary mask so Ctrl-C reaches it too.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);  // ntap ignores it; CMD gets the usual default
  char go = 0;
  ssize_t n;
  do {
    n = ::read(wait_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  // EOF: ntap gave up before attaching (an error, or exit() in a begin
  // probe); CMD never runs.
  if (n != 1) ::_exit(127);
  ::execl("/bin/sh", "sh", "-c", command, static_cast<char *>(nullptr));
  ::_exit(127);
}

// What /bin/sh -c runs. stap runs a simple command (words, quotes,
// variables: what wordexp accepts) directly with execvp, so that target() is
// the command's own pid, and hands anything with shell syntax (`;`, `|`,
// redirections, command substitution) to the shell. `exec CMD` gives the
// first the same pid and the same word splitting.
std::string shell_text(const std::string &command) {
  wordexp_t words;
  const int rc = ::wordexp(command.c_str(), &words, WRDE_NOCMD);
  if (rc == 0 || rc == WRDE_NOSPACE) ::wordfree(&words);
  return rc == 0 ? "exec " + command : command;
}

}  // namespace

std::unique_ptr<TargetProcess> TargetProcess::start_held(const std::string &command) {
  const std::string text = shell_text(command);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("cannot start the -c command: pipe"));
  fflush(nullptr);  // nothing buffered is written twice
  const pid_t pid = ::fork();
  if (pid < 0) {
    const std::string message = errno_text("cannot start the -c command: fork");
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(message);
  }
  if (pid == 0) run_child(fds[0], fds[1], text.c_str());
  ::close(fds[0]);
  const int pidfd = pidfd_open(pid);
  std::unique_ptr<TargetProcess> process(new TargetProcess(pid, fds[1], pidfd));
  if (pidfd < 0) throw std::runtime_error(errno_text("cannot watch the -c command: pidfd_open"));
  return process;
}

void TargetProcess::release() {
  if (release_fd_ < 0) return;
  const char go = 1;
  ssize_t n;
  do {
    n = ::write(release_fd_, &go, 1);
  } while (n < 0 && errno == EINTR);
  ::close(release_fd_);
  release_fd_ = -1;
}

int TargetProcess::finish() {
  if (reaped_) return 0;
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(pid_, &status, 0);
  } while (got < 0 && errno == EINTR);
  reaped_ = true;
  if (got != pid_) return 0;
  // stap's wording (staprun): the run fails when the command did.
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "WARNING: Child process exited with signal %d (%s)\n", WTERMSIG(status),
            strsignal(WTERMSIG(status)));
    return 1;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    fprintf(stderr, "WARNING: Child process exited with status %d\n", WEXITSTATUS(status));
    return 1;
  }
  return 0;
}

TargetProcess::~TargetProcess() {
  if (release_fd_ >= 0) {
    // Never released: CMD has not run; closing the pipe makes the child exit.
    ::close(release_fd_);
  } else if (!reaped_) {
    // The run ended (Ctrl-C, -T, exit()) while CMD still runs: it must not
    // outlive ntap. SIGTERM first so it can clean up, SIGKILL after a second.
    ::kill(pid_, SIGTERM);
    pollfd exited{pidfd_, POLLIN, 0};
    int ready;
    do {
      ready = pidfd_ >= 0 ? ::poll(&exited, 1, 1000) : 0;
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) ::kill(pid_, SIGKILL);
  }
  if (!reaped_) {
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pidfd_ >= 0) ::close(pidfd_);
}

}  // namespace ntap
