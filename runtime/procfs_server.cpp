// procfs files over FUSE's low-level interface (see procfs_server.h). Inode 1
// is the directory; file i is inode i + 2.
#define FUSE_USE_VERSION 34
#include "runtime/procfs_server.h"

#include <fmt/format.h>
#include <fuse_lowlevel.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ntap {
namespace {

constexpr uint64_t kFirstFileInode = 2;

ProcfsServer &server_of(fuse_req_t req) { return *static_cast<ProcfsServer *>(fuse_req_userdata(req)); }

struct stat attributes(const ProcfsServer &server, uint64_t inode) {
  struct stat st {};
  st.st_ino = inode;
  st.st_uid = getuid();
  st.st_gid = getgid();
  if (inode == FUSE_ROOT_ID) {
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
  } else if (const auto *file = server.file_by_inode(inode)) {
    st.st_mode = S_IFREG | file->mode;
    st.st_nlink = 1;
  }
  return st;
}

void on_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  ProcfsServer &server = server_of(req);
  const uint64_t inode = parent == FUSE_ROOT_ID ? server.inode_of(name) : 0;
  if (!inode) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param entry{};
  entry.ino = inode;
  entry.attr = attributes(server, inode);
  fuse_reply_entry(req, &entry);
}

void on_getattr(fuse_req_t req, fuse_ino_t inode, fuse_file_info *) {
  ProcfsServer &server = server_of(req);
  if (inode != FUSE_ROOT_ID && !server.file_by_inode(inode)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  const struct stat st = attributes(server, inode);
  fuse_reply_attr(req, &st, 0);
}

// `echo x > file` truncates first: nothing to truncate, the attributes stay.
void on_setattr(fuse_req_t req, fuse_ino_t inode, struct stat *, int, fuse_file_info *fi) {
  on_getattr(req, inode, fi);
}

void on_readdir(fuse_req_t req, fuse_ino_t inode, size_t size, off_t offset, fuse_file_info *) {
  ProcfsServer &server = server_of(req);
  if (inode != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  std::vector<std::pair<std::string, uint64_t>> entries = {{".", FUSE_ROOT_ID}, {"..", FUSE_ROOT_ID}};
  for (size_t i = 0; i < server.files().size(); ++i) entries.push_back({server.files()[i].name, kFirstFileInode + i});
  std::string reply(size, '\0');
  size_t used = 0;
  for (size_t i = static_cast<size_t>(offset); i < entries.size(); ++i) {
    struct stat st = attributes(server, entries[i].second);
    const size_t need = fuse_add_direntry(req, reply.data() + used, size - used, entries[i].first.c_str(), &st, i + 1);
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, reply.data(), used);
}

void on_open(fuse_req_t req, fuse_ino_t inode, fuse_file_info *fi) {
  ProcfsServer &server = server_of(req);
  const auto *file = server.file_by_inode(inode);
  if (!file) {
    fuse_reply_err(req, inode == FUSE_ROOT_ID ? EISDIR : ENOENT);
    return;
  }
  const int access = fi->flags & O_ACCMODE;
  const bool reads = access == O_RDONLY || access == O_RDWR, writes = access == O_WRONLY || access == O_RDWR;
  if ((reads && !file->readable) || (writes && !file->writable)) {
    fuse_reply_err(req, EACCES);
    return;
  }
  fi->fh = reads ? server.open_for_read(*file) : 0;
  fi->direct_io = 1;  // every read comes here: the size is not known in advance
  fuse_reply_open(req, fi);
}

void on_read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info *fi) {
  const std::string *text = server_of(req).opened_text(fi->fh);
  if (!text || offset < 0 || static_cast<size_t>(offset) >= text->size()) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  fuse_reply_buf(req, text->data() + offset, std::min(size, text->size() - static_cast<size_t>(offset)));
}

void on_write(fuse_req_t req, fuse_ino_t inode, const char *data, size_t size, off_t, fuse_file_info *) {
  ProcfsServer &server = server_of(req);
  const auto *file = server.file_by_inode(inode);
  if (!file) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  server.write(*file, std::string(data, size));
  fuse_reply_write(req, size);
}

void on_release(fuse_req_t req, fuse_ino_t, fuse_file_info *fi) {
  server_of(req).release(fi->fh);
  fuse_reply_err(req, 0);
}

const fuse_lowlevel_ops kOperations = [] {
  fuse_lowlevel_ops ops{};
  ops.lookup = on_lookup;
  ops.getattr = on_getattr;
  ops.setattr = on_setattr;
  ops.readdir = on_readdir;
  ops.open = on_open;
  ops.read = on_read;
  ops.write = on_write;
  ops.release = on_release;
  return ops;
}();

// libfuse logs to stderr by default; its messages are folded into ours.
void quiet_log(fuse_log_level, const char *, va_list) {}

}  // namespace

ProcfsServer::ProcfsServer(std::string dir, std::vector<File> files, ReadProbe read, WriteProbe write)
    : dir_(std::move(dir)), files_(std::move(files)), read_(std::move(read)), write_(std::move(write)) {
  // A directory left mounted by a run that was killed answers ENOTCONN.
  struct stat st {};
  if (stat(dir_.c_str(), &st) != 0 && errno == ENOTCONN) umount2(dir_.c_str(), MNT_DETACH);
  const std::string parent = dir_.substr(0, dir_.rfind('/'));
  if (!parent.empty()) mkdir(parent.c_str(), 0755);
  if (mkdir(dir_.c_str(), 0755) == 0) created_dir_ = true;
  else if (errno != EEXIST) throw std::runtime_error(fmt::format("cannot create {}: {}", dir_, strerror(errno)));

  fuse_set_log_func(quiet_log);
  const char *argv[] = {"ntap", "-o", "allow_other,default_permissions,fsname=ntap,subtype=procfs"};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char **>(argv));
  session_ = fuse_session_new(&args, &kOperations, sizeof kOperations, this);
  if (!session_) throw std::runtime_error("cannot start a FUSE session (is /dev/fuse available?)");
  if (fuse_session_mount(session_, dir_.c_str()) != 0) {
    const int err = errno;
    fuse_session_destroy(session_);
    session_ = nullptr;
    if (created_dir_) rmdir(dir_.c_str());
    throw std::runtime_error(fmt::format("cannot mount the procfs files at {}: {}", dir_,
                                         err ? strerror(err) : "FUSE refused (is /dev/fuse available?)"));
  }
}

ProcfsServer::~ProcfsServer() {
  if (session_) {
    fuse_session_unmount(session_);
    fuse_session_destroy(session_);
  }
  if (created_dir_) rmdir(dir_.c_str());
}

int ProcfsServer::fd() const { return fuse_session_fd(session_); }

void ProcfsServer::process() {
  fuse_buf buf{};
  const int received = fuse_session_receive_buf(session_, &buf);
  if (received > 0) fuse_session_process_buf(session_, &buf);
  free(buf.mem);
}

const ProcfsServer::File *ProcfsServer::file_by_inode(uint64_t inode) const {
  if (inode < kFirstFileInode || inode - kFirstFileInode >= files_.size()) return nullptr;
  return &files_[inode - kFirstFileInode];
}

uint64_t ProcfsServer::inode_of(const std::string &name) const {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i].name == name) return kFirstFileInode + i;
  return 0;
}

uint64_t ProcfsServer::open_for_read(const File &file) {
  const uint64_t handle = next_handle_++;
  opened_[handle] = read_(file.name);
  return handle;
}

const std::string *ProcfsServer::opened_text(uint64_t handle) const {
  auto it = opened_.find(handle);
  return it == opened_.end() ? nullptr : &it->second;
}

}  // namespace ntap
