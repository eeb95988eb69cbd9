// The target process of a run (stap's -c CMD), started held back.
//
// `ntap -c CMD` runs CMD through /bin/sh -c, as stap does; its pid is what
// target() returns on both sides (a simple command is exec'd by the shell, so
// the pid is the command's own, as with stap's execvp). The child is forked before the probes are
// attached but waits (blocked reading a pipe) until release() is called after
// the begin probes, so nothing it does escapes the probes. The run ends when
// it exits: exit_fd() becomes readable then (a pidfd) and finish() reaps it.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>

namespace ntap {

class TargetProcess {
 public:
  // Forks `/bin/sh -c command`, held before exec. Throws std::runtime_error
  // when the process cannot be created.
  static std::unique_ptr<TargetProcess> start_held(const std::string &command);
  // A process that was never released exits without running CMD; a released
  // one still running is stopped (SIGTERM, then SIGKILL after a second) and
  // reaped, so CMD never outlives the run that started it.
  ~TargetProcess();
  TargetProcess(const TargetProcess &) = delete;
  TargetProcess &operator=(const TargetProcess &) = delete;

  pid_t pid() const { return pid_; }
  // Lets the held child exec CMD.
  void release();
  // Readable (EPOLLIN) once the process has exited.
  int exit_fd() const { return pidfd_; }
  // Reaps an exited process. Returns the exit status the run should take on
  // (1 when CMD failed), after a stap-style warning on stderr for a non-zero
  // exit status or a fatal signal.
  int finish();

 private:
  TargetProcess(pid_t pid, int release_fd, int pidfd) : pid_(pid), release_fd_(release_fd), pidfd_(pidfd) {}
  pid_t pid_;
  int release_fd_;  // write end of the pipe the child waits on; -1 after release
  int pidfd_;
  bool reaped_ = false;
};

}  // namespace ntap
