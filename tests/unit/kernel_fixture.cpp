// A small made-up kernel for the unit tests (support.h, fixture_kernel()):
// a BTF file written with libbpf's btf__add_* API, a kallsyms text, a tracefs
// event list, a build configuration and an online CPU list, laid out in a
// temporary directory as the running kernel's are under / (so the same
// directory also serves as an NTAP_SYSROOT).
//
// The types are shaped like the kernel's where the tests look (sk_buff keeps
// next/prev/dev in anonymous unions and its flags in bitfields, kuid_t is a
// struct around `val`), with offsets of their own: tests read offsets from
// the fixture's BTF, never hard-code the kernel's.
#include <bpf/btf.h>
#include <linux/btf.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tests/unit/support.h"

namespace ntap::test {
namespace {

namespace fs = std::filesystem;

// Ids of the types other types point at before they are defined (a struct's
// fields must follow it directly, so pointers to it come first): the BTF is
// built twice, the second time with the ids the first one gave.
struct Forward {
  int sk_buff = 0, net_device = 0, sock = 0, rb_node = 0, task_struct = 0, cred = 0;
  bool operator==(const Forward &) const = default;
};

int check(int id, const char *what) {
  if (id < 0) throw std::runtime_error(std::string("fixture BTF: cannot add ") + what);
  return id;
}

class Builder {
 public:
  explicit Builder(struct btf *b) : b_(b) {}

  int integer(const char *name, int size, int encoding) { return check(btf__add_int(b_, name, size, encoding), name); }
  int ptr(int to) { return check(btf__add_ptr(b_, to), "pointer"); }
  int typedef_(const char *name, int to) { return check(btf__add_typedef(b_, name, to), name); }
  int array(int element, int count) { return check(btf__add_array(b_, int_, element, count), "array"); }
  int constant(int to) { return check(btf__add_const(b_, to), "const"); }
  int structure(const char *name, int size) { return check(btf__add_struct(b_, name, size), name ? name : "struct"); }
  int union_(const char *name, int size) { return check(btf__add_union(b_, name, size), name ? name : "union"); }
  // A member `bits` wide (0: not a bitfield) at byte `byte` + bit `bit`.
  void field(const char *name, int type, int byte, int bit = 0, int bits = 0) {
    check(btf__add_field(b_, name, type, byte * 8 + bit, bits), name);
  }

  // btf_trace_<event> (typedef -> pointer -> prototype with unnamed
  // parameters, the first the ctx) and __traceiter_<event> (a function whose
  // prototype names them), as the kernel declares every tracepoint.
  void tracepoint(const std::string &event, const std::vector<std::pair<const char *, int>> &args) {
    int proto = check(btf__add_func_proto(b_, 0), "prototype");
    check(btf__add_func_param(b_, nullptr, void_ptr_), "parameter");
    for (const auto &arg : args) check(btf__add_func_param(b_, nullptr, arg.second), "parameter");
    typedef_(("btf_trace_" + event).c_str(), ptr(proto));
    int named = check(btf__add_func_proto(b_, int_), "prototype");
    check(btf__add_func_param(b_, "__data", void_ptr_), "parameter");
    for (const auto &arg : args) check(btf__add_func_param(b_, arg.first, arg.second), "parameter");
    check(btf__add_func(b_, ("__traceiter_" + event).c_str(), BTF_FUNC_GLOBAL, named), "function");
  }

  // A kernel function: a FUNC whose prototype names its parameters.
  void function(const char *name, int returns, const std::vector<std::pair<const char *, int>> &params) {
    int proto = check(btf__add_func_proto(b_, returns), "prototype");
    for (const auto &param : params) check(btf__add_func_param(b_, param.first, param.second), "parameter");
    check(btf__add_func(b_, name, BTF_FUNC_GLOBAL, proto), name);
  }

  Forward build(const Forward &fwd) {
    Forward got;
    int_ = integer("int", 4, BTF_INT_SIGNED);
    const int uint = integer("unsigned int", 4, 0);
    const int ulong = integer("long unsigned int", 8, 0);
    const int chr = integer("char", 1, BTF_INT_CHAR);
    const int uchar = integer("unsigned char", 1, 0);
    const int ushort = integer("short unsigned int", 2, 0);
    const int llong = integer("long long int", 8, BTF_INT_SIGNED);
    const int slong = integer("long int", 8, BTF_INT_SIGNED);
    typedef_("u32", uint);
    const int u16 = typedef_("__u16", ushort);
    const int be16 = typedef_("__be16", u16);
    const int u8 = typedef_("__u8", uchar);
    const int be32 = typedef_("__be32", uint);
    const int ktime = typedef_("ktime_t", typedef_("s64", llong));
    void_ptr_ = ptr(0);
    const int skb_ptr = ptr(fwd.sk_buff), dev_ptr = ptr(fwd.net_device), sock_ptr = ptr(fwd.sock);
    const int rb_ptr = ptr(fwd.rb_node), task_ptr = ptr(fwd.task_struct);
    const int cred_ptr = ptr(constant(fwd.cred));
    const int uchar_ptr = ptr(uchar);
    const int name16 = array(chr, 16);

    got.rb_node = structure("rb_node", 24);
    field("__rb_parent_color", ulong, 0);
    field("rb_right", rb_ptr, 8);
    field("rb_left", rb_ptr, 16);

    const int stats = structure("net_device_stats", 16);
    field("rx_packets", ulong, 0);
    field("tx_packets", ulong, 8);
    got.net_device = structure("net_device", 48);
    field("priv_flags", uint, 0);
    field("mtu", uint, 4);
    field("name", name16, 8);
    field("ifindex", int_, 24);
    field("flags", uint, 28);
    field("stats", stats, 32);

    const int common = structure("sock_common", 24);
    field("skc_daddr", be32, 0);
    field("skc_rcv_saddr", be32, 4);
    field("skc_dport", be16, 12);
    field("skc_num", u16, 14);
    field("skc_family", ushort, 16);
    field("skc_state", uchar, 18);
    got.sock = structure("sock", 32);
    field("__sk_common", common, 0);
    field("sk_rcvbuf", int_, 24);
    field("sk_sndbuf", int_, 28);

    // union { struct { next; prev; union { dev; dev_scratch; }; }; struct rb_node rbnode; }
    const int dev_union = union_(nullptr, 8);
    field("dev", dev_ptr, 0);
    field("dev_scratch", ulong, 0);
    const int links = structure(nullptr, 24);
    field("next", skb_ptr, 0);
    field("prev", skb_ptr, 8);
    field("", dev_union, 16);
    const int head_union = union_(nullptr, 24);
    field("", links, 0);
    field("rbnode", got.rb_node, 0);
    // The flags: two bytes of bitfields in an anonymous struct.
    const int flags = structure(nullptr, 2);
    field("cloned", u8, 0, 0, 1);
    field("nohdr", u8, 0, 1, 1);
    field("fclone", u8, 0, 2, 2);
    field("peeked", u8, 0, 4, 1);
    field("head_frag", u8, 0, 5, 1);
    field("pfmemalloc", u8, 0, 6, 1);
    field("pp_recycle", u8, 0, 7, 1);
    field("pkt_type", u8, 1, 0, 3);
    field("ignore_df", u8, 1, 3, 1);
    field("ip_summed", u8, 1, 4, 2);
    const int cb = array(chr, 48);
    got.sk_buff = structure("sk_buff", 192);
    field("", head_union, 0);
    field("sk", sock_ptr, 24);
    field("tstamp", ktime, 32);
    field("cb", cb, 40);
    field("_skb_refdst", ulong, 88);
    field("destructor", void_ptr_, 96);
    field("_nfct", ulong, 104);
    field("len", uint, 112);
    field("data_len", uint, 116);
    field("mac_len", u16, 120);
    field("hdr_len", u16, 122);
    field("queue_mapping", u16, 124);
    field("", flags, 126);
    field("priority", uint, 128);
    field("skb_iif", int_, 132);
    field("hash", uint, 136);
    field("vlan_proto", be16, 140);
    field("vlan_tci", u16, 142);
    field("mark", uint, 144);
    field("protocol", be16, 148);
    field("transport_header", u16, 150);
    field("network_header", u16, 152);
    field("mac_header", u16, 154);
    field("tail", uint, 156);
    field("end", uint, 160);
    field("head", uchar_ptr, 168);
    field("data", uchar_ptr, 176);
    field("truesize", uint, 184);
    field("users", int_, 188);

    // kuid_t / kgid_t: a struct around the id, as the kernel's.
    const int uid = typedef_("uid_t", uint);
    const int kuid_struct = structure(nullptr, 4);
    field("val", uid, 0);
    const int kuid = typedef_("kuid_t", kuid_struct);
    const int gid = typedef_("gid_t", uint);
    const int kgid_struct = structure(nullptr, 4);
    field("val", gid, 0);
    const int kgid = typedef_("kgid_t", kgid_struct);
    got.cred = structure("cred", 20);
    field("usage", int_, 0);
    field("uid", kuid, 4);
    field("gid", kgid, 8);
    field("euid", kuid, 12);
    field("egid", kgid, 16);
    // The kernel's thread_info comes first in task_struct; here it is last,
    // so the older members keep the offsets tests expect.
    const int thread_info = structure("thread_info", 16);
    field("flags", ulong, 0);
    field("status", uint, 8);
    got.task_struct = structure("task_struct", 72);
    field("__state", uint, 0);
    field("pid", int_, 8);
    field("tgid", int_, 12);
    field("real_parent", task_ptr, 16);
    field("parent", task_ptr, 24);
    field("cred", cred_ptr, 32);
    field("comm", name16, 40);
    field("thread_info", thread_info, 56);

    const int reason = check(btf__add_enum(b_, "skb_drop_reason", 4), "enum");
    const std::pair<const char *, int> reasons[] = {
        {"SKB_NOT_DROPPED_YET", 0},          {"SKB_CONSUMED", 1},
        {"SKB_DROP_REASON_NOT_SPECIFIED", 2}, {"SKB_DROP_REASON_NO_SOCKET", 3},
        {"SKB_DROP_REASON_PKT_TOO_SMALL", 4}, {"SKB_DROP_REASON_NETFILTER_DROP", 12},
    };
    for (const auto &[name, value] : reasons) check(btf__add_enum_value(b_, name, value), name);

    const int const_sock_ptr = ptr(constant(fwd.sock));
    const int const_skb_ptr = ptr(constant(fwd.sk_buff));
    const int const_int = constant(int_);
    tracepoint("kfree_skb", {{"skb", skb_ptr}, {"location", void_ptr_}, {"reason", reason}, {"rx_sk", sock_ptr}});
    tracepoint("consume_skb", {{"skb", skb_ptr}, {"location", void_ptr_}});
    tracepoint("inet_sock_set_state", {{"sk", const_sock_ptr}, {"oldstate", const_int}, {"newstate", const_int}});
    tracepoint("tcp_probe", {{"sk", sock_ptr}, {"skb", const_skb_ptr}});
    tracepoint("tcp_retransmit_skb", {{"sk", const_sock_ptr}, {"skb", const_skb_ptr}});
    tracepoint("tcp_rcv_space_adjust", {{"sk", sock_ptr}});
    tracepoint("tcp_destroy_sock", {{"sk", sock_ptr}});

    // The registers as x86-64 saves them: kprobes and the raw_syscalls
    // tracepoints read arguments and system call numbers from here.
    const int regs = structure("pt_regs", 168);
    const char *registers[] = {"r15", "r14", "r13", "r12", "bp", "bx",      "r11", "r10", "r9",    "r8", "ax",
                               "cx",  "dx",  "si",  "di",  "orig_ax", "ip", "cs",  "flags", "sp", "ss"};
    for (int i = 0; i < 21; ++i) field(registers[i], ulong, i * 8);
    const int regs_ptr = ptr(regs);
    tracepoint("sys_enter", {{"regs", regs_ptr}, {"id", slong}});
    tracepoint("sys_exit", {{"regs", regs_ptr}, {"ret", slong}});

    // Kernel functions for kernel.function probes.
    const int packet_type = structure("packet_type", 8);
    field("type", be16, 0);
    function("ip_rcv", int_, {{"skb", skb_ptr}, {"dev", dev_ptr}, {"pt", ptr(packet_type)}, {"orig_dev", dev_ptr}});
    function("tcp_v4_rcv", int_, {{"skb", skb_ptr}});
    function("tcp_v4_do_rcv", int_, {{"sk", sock_ptr}, {"skb", skb_ptr}});
    // In the init text (kallsyms_small): freed after boot.
    function("ip_auto_config_setup", int_, {{"addrs", ptr(chr)}});
    return got;
  }

 private:
  struct btf *b_;
  int int_ = 0;
  int void_ptr_ = 0;
};

void write_text(const fs::path &path, const std::string &text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_btf(const fs::path &path) {
  Forward first;
  {
    struct btf *draft = btf__new_empty();
    first = Builder(draft).build({});
    btf__free(draft);
  }
  struct btf *b = btf__new_empty();
  const Forward second = Builder(b).build(first);
  if (!(second == first)) throw std::runtime_error("fixture BTF: type ids differ between the two builds");
  uint32_t size = 0;
  const void *raw = btf__raw_data(b, &size);
  write_text(path, std::string(static_cast<const char *>(raw), size));
  btf__free(b);
}

// Events of the fixture's tracefs; syscalls:sys_enter_read has no
// btf_trace_ typedef, so kernel.trace never offers it.
constexpr const char *kEvents =
    "skb:kfree_skb\nskb:consume_skb\nsock:inet_sock_set_state\ntcp:tcp_probe\ntcp:tcp_retransmit_skb\n"
    "tcp:tcp_rcv_space_adjust\ntcp:tcp_destroy_sock\nsyscalls:sys_enter_read\nraw_syscalls:sys_enter\n"
    "raw_syscalls:sys_exit\n";

constexpr const char *kConfig = "CONFIG_HZ=300\nCONFIG_BPF=y\nCONFIG_NET=y\n# CONFIG_KPROBES is not set\n";

// The directory, removed when the tests end.
struct FixtureDir {
  fs::path root;
  FixtureDir() {
    char pattern[] = "/tmp/ntap-kernel-fixture-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("cannot make a fixture directory");
    root = pattern;
    try {
      write_files();
    } catch (...) {
      std::error_code ignored;
      fs::remove_all(root, ignored);  // a failed write leaves nothing behind
      throw;
    }
  }
  void write_files() const {
    write_btf(root / "sys/kernel/btf/vmlinux");
    std::ifstream kallsyms(std::string(NTAP_TEST_DATA) + "/kallsyms_small");
    std::string symbols((std::istreambuf_iterator<char>(kallsyms)), std::istreambuf_iterator<char>());
    if (symbols.empty()) throw std::runtime_error("cannot read the kallsyms fixture");
    write_text(root / "proc/kallsyms", symbols);
    write_text(root / "sys/kernel/tracing/available_events", kEvents);
    write_text(root / "boot/config", kConfig);
    write_text(root / "sys/devices/system/cpu/online", "0-1,3\n");
  }
  ~FixtureDir() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
};

const FixtureDir &fixture_dir() {
  static const FixtureDir dir;
  return dir;
}

}  // namespace

const std::string &fixture_root() {
  static const std::string root = fixture_dir().root.string();
  return root;
}

KernelPaths fixture_paths() {
  const std::string &root = fixture_root();
  KernelPaths paths;
  paths.btf = root + "/sys/kernel/btf/vmlinux";
  paths.kallsyms = root + "/proc/kallsyms";
  paths.tracefs = {root + "/sys/kernel/tracing"};
  paths.config = root + "/boot/config";
  paths.config_gz = root + "/proc/config.gz";
  paths.cpus_online = root + "/sys/devices/system/cpu/online";
  paths.module_btf = root + "/sys/kernel/btf";
  paths.vmlinux = root + "/boot/vmlinux-with-debug-info";  // absent: addresses print in hex
  paths.running_kernel = false;
  return paths;
}

const KernelInfo &fixture_kernel() {
  static const KernelInfo kernel(fixture_paths());
  return kernel;
}

const KernelInfo &host_kernel() {
  static const KernelInfo kernel(KernelInfo::host_paths());
  return kernel;
}

}  // namespace ntap::test
