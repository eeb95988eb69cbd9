// Kernel symbols from kallsyms files (synthetic ones in data/, the running
// kernel's when readable) and drop reason names from BTF.
#include <catch2/catch.hpp>

#include <bpf/btf.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "kernel/kernel_info.h"
#include "kernel/symbols.h"
#include "tests/unit/support.h"

using ntap::KernelSymbols;

namespace {

const std::string kData = NTAP_TEST_DATA;
constexpr uint64_t kTcpV4Rcv = 0xffffffff81abc000;

}  // namespace

TEST_CASE("symbols: symdata renders name+offset/size [module]", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  CHECK(syms.symdata(kTcpV4Rcv + 0xaa) == "tcp_v4_rcv+0xaa/0x8d0 [kernel]");
  CHECK(syms.symname(kTcpV4Rcv + 0xaa) == "tcp_v4_rcv");
  CHECK(syms.symdata(kTcpV4Rcv) == "tcp_v4_rcv+0x0/0x8d0 [kernel]");
}

TEST_CASE("symbols: unsorted lines are sorted before sizes are computed", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  // early_helper is listed after tcp_v4_rcv but lies before it.
  CHECK(syms.symdata(0xffffffff81000100 + 4) == "early_helper+0x4/0xabbf00 [kernel]");
  CHECK(syms.symdata(0xffffffff81abc8d0 + 0x10) == "tcp_v4_early_demux+0x10/0x330 [kernel]");
  CHECK(syms.symdata(0xffffffff81abcc00) == "tcp_v4_inbound_md5_hash+0x0/0x400 [kernel]");
  CHECK(syms.symname(0xffffffff81abd010) == "weak_default");
}

TEST_CASE("symbols: aliases at one address resolve to the first listed", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  CHECK(syms.symname(0xffffffff81000000) == "_stext");
  CHECK(syms.symdata(0xffffffff81000050) == "_stext+0x50/0x100 [kernel]");
}

TEST_CASE("symbols: module symbols carry their module", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  CHECK(syms.symdata(0xffffffffc0a00210) == "nft_do_chain+0x10/0x700 [nf_tables]");
  CHECK(syms.symdata(0xffffffffc0a00000) == "nf_mod_init+0x0/0x200 [nf_tables]");
  CHECK(syms.symdata(0xffffffffc0b00020) == "veth_xmit+0x20/0x300 [veth]");
  CHECK(syms.symname(0xffffffffc0201000) == "ftrace_trampoline");
  auto info = syms.lookup(0xffffffffc0b00301);  // veth_poll: the file's last line, no newline
  REQUIRE(!info);
  auto exact = syms.lookup(0xffffffffc0b00300);
  REQUIRE(exact);
  CHECK(exact->name == "veth_poll");
  CHECK(exact->module == "veth");
  CHECK(exact->size == 0);  // last symbol of its module: size unknown
}

TEST_CASE("symbols: lookup returns the parts", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  auto info = syms.lookup(kTcpV4Rcv + 0x123);
  REQUIRE(info);
  CHECK(info->name == "tcp_v4_rcv");
  CHECK(info->offset == 0x123);
  CHECK(info->size == 0x8d0);
  CHECK(info->module == "kernel");
  // D, R and W symbols count; absolute (A) ones and the aliases _text and
  // ip_auto_config_setup (at _sinittext) do not.
  CHECK(syms.load() == 17);
}

TEST_CASE("symbols: init text functions, aliases of _sinittext included", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  CHECK(syms.is_init_function("ip_auto_config_setup"));
  CHECK_FALSE(syms.is_init_function("tcp_v4_rcv"));
  CHECK_FALSE(syms.is_init_function("_einittext"));  // the end is past the init text
  CHECK_FALSE(syms.is_init_function("nf_mod_init"));  // modules' init text is not the kernel's
  KernelSymbols unreadable(kData + "/no_such_kallsyms");
  CHECK_FALSE(unreadable.is_init_function("ip_auto_config_setup"));
}

TEST_CASE("symbols: addresses outside every symbol are unknown and print as hex", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  CHECK(syms.symname(0xffffffff80000000) == "0xffffffff80000000");  // below the first
  CHECK(syms.symdata(0xffffffff80000000) == "0xffffffff80000000");
  CHECK(syms.symname(0) == "0x0");
  CHECK(syms.symname(0x1000) == "0x1000");  // an absolute symbol's value
  CHECK(syms.symdata(0xffffffff82000110) == "0xffffffff82000110");  // past the kernel's last symbol
  CHECK(syms.symdata(0xffffffff82000100) == "some_rodata+0x0/0x0 [kernel]");
  CHECK(syms.symname(0xffffffffc0a00950) == "0xffffffffc0a00950");  // past nf_tables' last
  CHECK(syms.symname(0xffffffffffffffff) == "0xffffffffffffffff");
}

TEST_CASE("symbols: lookups are cached per address", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  const std::string &first = syms.symdata(kTcpV4Rcv + 1);
  const std::string &second = syms.symdata(kTcpV4Rcv + 1);
  CHECK(&first == &second);
  CHECK(&syms.symname(kTcpV4Rcv) == &syms.symname(kTcpV4Rcv));
}

TEST_CASE("symbols: prefetch loads in the background, lookups wait for it", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  syms.prefetch();
  syms.prefetch();  // idempotent
  CHECK(syms.symdata(kTcpV4Rcv + 0xaa) == "tcp_v4_rcv+0xaa/0x8d0 [kernel]");
  CHECK(syms.load() == 17);
}

TEST_CASE("symbols: the cache stops growing but answers stay right", "[symbols]") {
  KernelSymbols syms(kData + "/kallsyms_small");
  for (uint64_t i = 0; i < KernelSymbols::kMaxCachedAddresses; ++i) syms.symname(kTcpV4Rcv + i % 0x8d0 + (i / 0x8d0) * 0x100000000);
  // Uncached results stay valid for the next kUncachedSlots - 1 lookups.
  const std::string &a = syms.symdata(kTcpV4Rcv + 1);
  const std::string &b = syms.symdata(kTcpV4Rcv + 2);
  for (int i = 0; i < 20000; ++i) syms.symdata(0xffffffff81abcc00 + (i % 0x400));
  const std::string &c = syms.symname(0xffffffffc0b00020);
  const std::string &d = syms.symname(0xffffffffc0b00021);
  CHECK(c == "veth_xmit");
  CHECK(d == "veth_xmit");
  CHECK(&c != &d);
  CHECK(a == "tcp_v4_rcv+0x1/0x8d0 [kernel]");  // cached before the limit
  CHECK(b == "tcp_v4_rcv+0x2/0x8d0 [kernel]");
}

TEST_CASE("symbols: zero addresses (not root) and missing files give no symbols", "[symbols]") {
  KernelSymbols hidden(kData + "/kallsyms_unprivileged");
  CHECK(hidden.load() == 0);
  CHECK(hidden.symname(kTcpV4Rcv) == "0xffffffff81abc000");
  KernelSymbols missing(kData + "/does_not_exist");
  CHECK(missing.load() == 0);
  CHECK(missing.symdata(0x10) == "0x10");
}

TEST_CASE("symbols: 122 k lines parse in a few ms", "[symbols][perf]") {
  // A synthetic file the size of a real kallsyms, half of it out of order.
  std::string path = "/tmp/ntap_test_kallsyms_" + std::to_string(::getpid());
  {
    std::ofstream out(path);
    char line[128];
    for (int i = 0; i < 122000; ++i) {
      int index = i < 61000 ? i : 183000 - i;  // second half descending
      uint64_t address = 0xffffffff81000000 + static_cast<uint64_t>(index) * 0x40;
      const char *type = (i % 7) ? "T" : "t";
      if (i % 1000 == 999)
        std::snprintf(line, sizeof line, "%016lx %s mod_fn_%d\t[mod%d]\n", (unsigned long)(address + 0x40000000),
                      type, i, i % 5);
      else
        std::snprintf(line, sizeof line, "%016lx %s function_number_%d\n", (unsigned long)address, type, i);
      out << line;
    }
  }
  KernelSymbols syms(path);
  size_t kept = syms.load();
  ::unlink(path.c_str());
  INFO("synthetic 122k lines: read " << syms.read_ms() << " ms, parse " << syms.parse_ms() << " ms");
  WARN("synthetic kallsyms (122k lines): read " << syms.read_ms() << " ms, parse " << syms.parse_ms() << " ms");
  CHECK(kept == 122000);
  CHECK(syms.symname(0xffffffff81000000 + 5 * 0x40 + 3) == "function_number_5");
  CHECK(syms.symname(0xffffffff81000000 + 61002 * 0x40) == "function_number_121998");
  CHECK(syms.symdata(0xffffffffc1000000 + 999 * 0x40 + 1) == "mod_fn_999+0x1/0xfa00 [mod4]");  // next mod4 symbol: mod_fn_1999
  CHECK(syms.parse_ms() < 100);  // generous: the machine is shared; typical is a few ms
}

TEST_CASE("symbols: a kernel's symbols come from its kallsyms file", "[symbols]") {
  ntap::KernelSymbols &syms = ntap::test::fixture_kernel().symbols();
  CHECK(syms.symname(kTcpV4Rcv) == "tcp_v4_rcv");
  CHECK(syms.symdata(0xffffffffc0a00210) == "nft_do_chain+0x10/0x700 [nf_tables]");
}

TEST_CASE("symbols: the running kernel's kallsyms", "[symbols][kernel][host]") {
  // Find tcp_v4_rcv's address the slow way and check the fast table agrees.
  std::ifstream in("/proc/kallsyms");
  std::string address_text, type, name;
  uint64_t tcp_v4_rcv = 0;
  while (in >> address_text >> type >> name) {
    if (name == "tcp_v4_rcv") {
      tcp_v4_rcv = std::stoull(address_text, nullptr, 16);
      break;
    }
  }
  if (tcp_v4_rcv == 0) {
    WARN("skipped: /proc/kallsyms unreadable or addresses hidden (not root)");
    return;
  }
  KernelSymbols &syms = ntap::test::host_kernel().symbols();
  size_t kept = syms.load();
  WARN("/proc/kallsyms: " << kept << " symbols, read " << syms.read_ms() << " ms, parse " << syms.parse_ms()
                          << " ms");
  CHECK(kept > 10000);
  CHECK(syms.symname(tcp_v4_rcv) == "tcp_v4_rcv");
  std::string data = syms.symdata(tcp_v4_rcv + 0x10);
  CHECK(data.rfind("tcp_v4_rcv+0x10/0x", 0) == 0);
  CHECK(data.size() > 9);
  CHECK(data.substr(data.size() - 9) == " [kernel]");
}

// ---- drop reasons ----

TEST_CASE("drop reasons: names come from the enum, without the prefix", "[symbols][btf]") {
  struct btf *btf = btf__new_empty();
  REQUIRE(btf);
  REQUIRE(btf__add_int(btf, "int", 4, BTF_INT_SIGNED) > 0);
  REQUIRE(btf__add_enum(btf, "skb_drop_reason", 4) > 0);
  REQUIRE(btf__add_enum_value(btf, "SKB_NOT_DROPPED_YET", 0) == 0);
  REQUIRE(btf__add_enum_value(btf, "SKB_CONSUMED", 1) == 0);
  REQUIRE(btf__add_enum_value(btf, "SKB_DROP_REASON_NOT_SPECIFIED", 2) == 0);
  REQUIRE(btf__add_enum_value(btf, "SKB_DROP_REASON_NO_SOCKET", 3) == 0);
  REQUIRE(btf__add_enum_value(btf, "SKB_DROP_REASON_NETFILTER_DROP", 12) == 0);
  ntap::DropReasons reasons(btf);
  btf__free(btf);
  CHECK(reasons.size() == 5);
  CHECK(reasons.name(2) == "NOT_SPECIFIED");
  CHECK(reasons.name(3) == "NO_SOCKET");
  CHECK(reasons.name(12) == "NETFILTER_DROP");
  CHECK(reasons.name(1) == "SKB_CONSUMED");  // no prefix to strip
  CHECK(reasons.name(999) == "999");
  CHECK(reasons.name(-4) == "-4");
}

TEST_CASE("drop reasons: no enum or no BTF falls back to numbers", "[symbols][btf]") {
  struct btf *btf = btf__new_empty();
  REQUIRE(btf__add_int(btf, "int", 4, BTF_INT_SIGNED) > 0);
  ntap::DropReasons without_enum(btf);
  btf__free(btf);
  CHECK(without_enum.size() == 0);
  CHECK(without_enum.name(3) == "3");
  CHECK(ntap::DropReasons(nullptr).name(2) == "2");
  CHECK(ntap::DropReasons::from_file(kData + "/does_not_exist").size() == 0);
}

TEST_CASE("drop reasons: a kernel's come from its BTF and outlive releasing it", "[symbols][btf]") {
  ntap::KernelInfo kernel(ntap::test::fixture_paths());
  CHECK(kernel.btf().find_composite_type("sk_buff"));  // loads the BTF
  kernel.release_btf();
  CHECK_FALSE(kernel.btf().loaded());
  CHECK(kernel.drop_reasons().name(3) == "NO_SOCKET");
  CHECK(kernel.drop_reasons().name(12) == "NETFILTER_DROP");
  CHECK(kernel.drop_reasons().size() == 6);
  CHECK_FALSE(kernel.btf().loaded());  // read before the release
  CHECK(ntap::DropReasons::from_file(ntap::test::fixture_paths().btf).size() == 6);
}

TEST_CASE("drop reasons: the running kernel's vmlinux BTF", "[symbols][btf][kernel][host]") {
  const ntap::KernelInfo &host = ntap::test::host_kernel();
  REQUIRE(host.btf().handle());
  CHECK(ntap::DropReasons::from_file(host.paths().btf).size() > 10);
  CHECK(host.drop_reasons().name(2) == "NOT_SPECIFIED");
  CHECK(host.drop_reasons().name(3) == "NO_SOCKET");
  CHECK(host.drop_reasons().name(1000000) == "1000000");
}
