// procfs("PATH").read / .write: files a user reads or writes while the
// script runs, as stap's /proc/systemtap/MODULE/PATH. There is no kernel
// module to own a /proc entry, so ntap serves them itself (a FUSE file system
// under /run/ntap/MODULE, runtime/procfs_server.h) and runs the probes in its
// own process: a read runs the .read probe once per open and returns the
// $value it set; each write() runs the .write probe with $value holding the
// bytes written.
//
//   procfs("PATH")[.umask(N)].read[.maxsize(N)]    procfs("PATH")[.umask(N)].write
//   procfs[.umask(N)].read[.maxsize(N)]            (the file "command")
#include <fmt/format.h>

#include "kernel/providers/user_providers.h"

namespace ntap {
namespace {

class ProcfsProvider final : public Provider {
 public:
  std::string_view family() const override { return "procfs"; }
  ast::Side side() const override { return ast::Side::User; }

  bool handles(const ast::ProbePoint &point) const override {
    return !point.components.empty() && point.components[0].name == "procfs";
  }

  std::vector<PointShape> list_components() const override {
    using Arg = PointShape::Arg;
    return {
        PointShape{{{"procfs", Arg::String}, {"read", Arg::None}}},
        PointShape{{{"procfs", Arg::String}, {"read", Arg::None}, {"maxsize", Arg::Number}}},
        PointShape{{{"procfs", Arg::String}, {"write", Arg::None}}},
        PointShape{{{"procfs", Arg::String}, {"umask", Arg::Number}, {"read", Arg::None}}},
        PointShape{{{"procfs", Arg::String}, {"umask", Arg::Number}, {"write", Arg::None}}},
        PointShape{{{"procfs", Arg::None}, {"read", Arg::None}}},
        PointShape{{{"procfs", Arg::None}, {"write", Arg::None}}},
    };
  }

  std::vector<ast::ResolvedProbe> resolve(const ast::ProbePoint &point) const override {
    const auto &c = point.components;
    const std::string file = c[0].string_arg.value_or("command");
    if (file.empty() || file.front() == '/' || file.find("..") != std::string::npos ||
        file.find('/') != std::string::npos)
      probe_error(point, fmt::format("procfs(\"{}\"): the file name must be one name in the run's procfs "
                                     "directory (no '/', no '..')",
                                     file));
    size_t i = 1;
    int64_t umask = 0;
    if (i < c.size() && c[i].name == "umask") {
      if (!c[i].number_arg || *c[i].number_arg < 0 || *c[i].number_arg > 0777)
        probe_error(point, "procfs .umask(N) needs a mode mask from 0 to 0777");
      umask = *c[i].number_arg;
      ++i;
    }
    if (i >= c.size() || (c[i].name != "read" && c[i].name != "write"))
      probe_error(point, "procfs probes end in .read or .write: procfs(\"PATH\").read");
    const bool read = c[i].name == "read";
    ++i;
    int64_t maxsize = 0;
    if (read && i < c.size() && c[i].name == "maxsize") {
      if (!c[i].number_arg || *c[i].number_arg <= 0) probe_error(point, "procfs .maxsize(N) needs a positive size");
      maxsize = *c[i].number_arg;
      ++i;
    }
    if (i < c.size()) probe_error(point, fmt::format("unexpected '.{}' in a procfs probe point", c[i].name));

    ast::ResolvedProbe probe;
    probe.provider = this;
    probe.kind = read ? ast::ProbeKind::ProcfsRead : ast::ProbeKind::ProcfsWrite;
    probe.binary = file;
    // stap's modes: readable by all, writable by the owner; .umask clears bits.
    probe.file_mode = static_cast<uint32_t>((read ? 0444 : 0200) & ~umask);
    probe.param = maxsize;
    probe.name = fmt::format("procfs(\"{}\").{}", file, read ? "read" : "write");
    probe.point = probe.name;
    probe.context_vars = {"$value"};
    return {probe};
  }

  bool resolve_target(const ast::ResolvedProbe &probe, ast::TargetVarExpr &var) const override {
    return false;  // $value is the run's procfs buffer: passes/resolve_probes.cpp makes it a string
  }

  std::vector<std::string> describe_context(const ast::ResolvedProbe &probe) const override {
    return {"$value:string"};
  }
};

}  // namespace

std::unique_ptr<Provider> make_procfs_provider(const KernelInfo &) { return std::make_unique<ProcfsProvider>(); }

}  // namespace ntap
