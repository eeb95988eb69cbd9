// The files of procfs("NAME").read/.write probes. stap's kernel module owns
// /proc/systemtap/MODULE/NAME; ntap has no module, so it serves the files
// itself: a FUSE file system mounted at /run/ntap/MODULE for the run. Requests
// are answered on ntap's event loop (fd() becomes readable, process() answers),
// so the probes they run are ordinary user probes, one at a time.
//
// Opening a file for reading runs its .read probe once; the reads of that
// open return the text it left in $value. Each write() runs the .write probe
// with the bytes written. A file without a .read (or .write) probe refuses
// that direction (EACCES), as its mode bits say.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

struct fuse_session;

namespace ntap {

class ProcfsServer {
 public:
  struct File {
    std::string name;
    uint32_t mode = 0;  // permission bits
    bool readable = false, writable = false;
  };
  using ReadProbe = std::function<std::string(const std::string &name)>;  // the new $value
  using WriteProbe = std::function<void(const std::string &name, const std::string &data)>;

  // Mounts at `dir` (created if needed). Throws std::runtime_error saying why
  // the file system could not be mounted.
  ProcfsServer(std::string dir, std::vector<File> files, ReadProbe read, WriteProbe write);
  ~ProcfsServer();  // unmounts and removes the directory
  ProcfsServer(const ProcfsServer &) = delete;
  ProcfsServer &operator=(const ProcfsServer &) = delete;

  int fd() const;
  void process();  // answers the requests waiting on fd()
  const std::string &dir() const { return dir_; }

  // FUSE's callbacks (procfs_server.cpp) reach the server through these.
  const File *file_by_inode(uint64_t inode) const;
  uint64_t inode_of(const std::string &name) const;  // 0: no such file
  const std::vector<File> &files() const { return files_; }
  uint64_t open_for_read(const File &file);  // runs the .read probe; the handle
  const std::string *opened_text(uint64_t handle) const;
  void release(uint64_t handle) { opened_.erase(handle); }
  void write(const File &file, const std::string &data) { write_(file.name, data); }

 private:
  std::string dir_;
  std::vector<File> files_;
  ReadProbe read_;
  WriteProbe write_;
  fuse_session *session_ = nullptr;
  bool created_dir_ = false;
  std::map<uint64_t, std::string> opened_;  // per open: the text the .read probe gave
  uint64_t next_handle_ = 1;
};

}  // namespace ntap
