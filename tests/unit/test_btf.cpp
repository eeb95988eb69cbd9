// BTF queries (kernel/btf.h) against the fixture kernel's BTF
// (tests/unit/kernel_fixture.cpp), and one check that the running kernel's
// vmlinux BTF loads.
#include <bpf/btf.h>

#include <catch2/catch.hpp>
#include <string>

#include "kernel/btf.h"
#include "tests/unit/support.h"

namespace {

const ntap::Btf &types() { return ntap::test::fixture_kernel().btf(); }

// Byte offset of a direct (non-anonymous) member, read straight from BTF so
// the test does not share code with the resolver under test.
int direct_member_offset(const char *struct_name, const char *member) {
  const struct btf *vmlinux = types().handle();
  int id = btf__find_by_name_kind(vmlinux, struct_name, BTF_KIND_STRUCT);
  if (id <= 0) return -1;
  const btf_type *t = btf__type_by_id(vmlinux, id);
  const btf_member *members = btf_members(t);
  for (int i = 0; i < btf_vlen(t); ++i)
    if (std::string(btf__name_by_offset(vmlinux, members[i].name_off)) == member)
      return static_cast<int>(btf_member_bit_offset(t, i) / 8);
  return -1;
}

// Bit offset and width of a member that may sit in an anonymous union or
// struct (sk_buff keeps its flag bitfields in one), read straight from BTF.
bool member_bits(const btf_type *t, const char *member, uint32_t base, uint32_t &offset, uint32_t &bits) {
  const struct btf *vmlinux = types().handle();
  const btf_member *members = btf_members(t);
  for (int i = 0; i < btf_vlen(t); ++i) {
    const char *name = btf__name_by_offset(vmlinux, members[i].name_off);
    if (name && std::string(name) == member) {
      offset = base + btf_member_bit_offset(t, i);
      bits = btf_member_bitfield_size(t, i);
      return true;
    }
    if (name && *name) continue;
    const btf_type *inner = btf__type_by_id(vmlinux, members[i].type);
    if (inner && btf_is_composite(inner) && member_bits(inner, member, base + btf_member_bit_offset(t, i), offset, bits))
      return true;
  }
  return false;
}

const ntap::btf::TracepointArg *find_arg(const std::vector<ntap::btf::TracepointArg> &args, const std::string &name) {
  for (const auto &arg : args)
    if (arg.name == name) return &arg;
  return nullptr;
}

}  // namespace

TEST_CASE("BTF loads once and knows its tracepoints", "[btf]") {
  REQUIRE(types().handle() != nullptr);
  CHECK(types().handle() == types().handle());
  CHECK(types().has_tracepoint("kfree_skb"));
  CHECK(types().has_tracepoint("inet_sock_set_state"));
  CHECK_FALSE(types().has_tracepoint("no_such_tracepoint_xyz"));
  CHECK(types().tracepoint_names() ==
        std::vector<std::string>{"consume_skb", "inet_sock_set_state", "kfree_skb", "sys_enter", "sys_exit", "tcp_destroy_sock", "tcp_probe",
                                 "tcp_rcv_space_adjust", "tcp_retransmit_skb"});
}

TEST_CASE("BTF released is loaded again on the next question; the tracepoint index stays", "[btf]") {
  ntap::Btf btf(ntap::test::fixture_paths().btf, false);
  REQUIRE(btf.tracepoint_attach_id("kfree_skb"));
  CHECK(btf.loaded());
  btf.release();
  CHECK_FALSE(btf.loaded());
  CHECK(btf.tracepoint_attach_id("kfree_skb"));  // from the index: nothing loaded
  CHECK_FALSE(btf.loaded());
  CHECK(btf.find_composite_type("sk_buff"));
  CHECK(btf.loaded());
}

TEST_CASE("BTF that cannot be read says why, and answers nothing", "[btf]") {
  ntap::Btf missing(ntap::test::fixture_root() + "/no/such/btf", false);
  CHECK(missing.handle() == nullptr);
  CHECK(missing.load_error() == "cannot load kernel BTF: No such file or directory");
  CHECK_FALSE(missing.has_tracepoint("kfree_skb"));
  CHECK(missing.tracepoint_names().empty());
  CHECK_FALSE(missing.find_composite_type("sk_buff"));
  auto result = missing.resolve_access_path(1, ntap::btf::AccessStart::Value, {{"len", false}}, false);
  REQUIRE(result.error);
  CHECK(result.error->message == missing.load_error());
}

TEST_CASE("the running kernel's vmlinux BTF loads and knows kfree_skb", "[btf][host]") {
  const ntap::Btf &host = ntap::test::host_kernel().btf();
  REQUIRE(host.handle() != nullptr);
  CHECK(host.has_tracepoint("kfree_skb"));
  CHECK(host.tracepoint_names().size() > 100);
  const auto *args = host.tracepoint_args("kfree_skb");
  REQUIRE(args != nullptr);
  REQUIRE(args->size() >= 3);
  CHECK((*args)[0].c_type == "struct sk_buff*");
}

TEST_CASE("kfree_skb arguments come from TP_PROTO with names and types", "[btf]") {
  const auto *args = types().tracepoint_args("kfree_skb");
  REQUIRE(args != nullptr);
  REQUIRE(args->size() >= 3);
  CHECK((*args)[0].name == "skb");
  CHECK((*args)[1].name == "location");
  CHECK((*args)[2].name == "reason");

  const auto &skb = (*args)[0];
  CHECK(skb.c_type == "struct sk_buff*");
  CHECK(skb.is_pointer);
  CHECK(skb.points_to_struct);
  CHECK(skb.size == 8);

  const auto &location = (*args)[1];
  CHECK(location.c_type == "void*");
  CHECK(location.is_pointer);
  CHECK_FALSE(location.points_to_struct);

  const auto &reason = (*args)[2];
  CHECK(reason.c_type == "enum skb_drop_reason");
  CHECK_FALSE(reason.is_pointer);
  CHECK(reason.size == 4);
  CHECK_FALSE(reason.is_signed);

  CHECK(types().tracepoint_args("no_such_tracepoint_xyz") == nullptr);
  // The cache hands back the same vector.
  CHECK(types().tracepoint_args("kfree_skb") == args);
}

namespace {

using ntap::ast::TargetStep;
using Op = TargetStep::Op;

std::vector<ntap::btf::AccessComponent> fields(std::initializer_list<const char *> names) {
  std::vector<ntap::btf::AccessComponent> components;
  for (const char *name : names) components.push_back({name[0] == '[' ? "" : name, name[0] == '['});
  return components;
}

ntap::btf::AccessResult resolve(uint32_t type, std::initializer_list<const char *> names, bool address_of = false,
                                ntap::btf::AccessStart start = ntap::btf::AccessStart::Value) {
  return types().resolve_access_path(type, start, fields(names), address_of);
}

TargetStep step(Op op, uint32_t amount, bool is_signed = false, uint32_t component = 0) {
  return TargetStep{op, amount, is_signed, component};
}

}  // namespace

TEST_CASE("access paths resolve offsets, loads, sizes and signedness", "[btf]") {
  const auto *args = types().tracepoint_args("kfree_skb");
  REQUIRE(args != nullptr);
  const auto *skb = find_arg(*args, "skb");
  REQUIRE(skb != nullptr);
  const uint32_t len = direct_member_offset("sk_buff", "len");

  SECTION("a direct member") {
    auto result = resolve(skb->type_id, {"len"});
    REQUIRE(result.path);
    CHECK(result.path->steps == std::vector{step(Op::Add, len), step(Op::Load, 4)});
  }
  SECTION("members inside anonymous unions and structs, then a second dereference") {
    auto result = resolve(skb->type_id, {"dev", "ifindex"});
    REQUIRE(result.path);
    REQUIRE(result.path->steps.size() == 4);
    CHECK(result.path->steps[1] == step(Op::Load, 8));
    CHECK(result.path->steps[2] == step(Op::Add, direct_member_offset("net_device", "ifindex")));
    CHECK(result.path->steps[3] == step(Op::Load, 4, true));
    auto protocol = resolve(skb->type_id, {"protocol"});
    REQUIRE(protocol.path);
    CHECK(protocol.path->steps.back() == step(Op::Load, 2));
  }
  SECTION("an embedded struct adds to the same dereference") {
    const auto *rx_sk = find_arg(*args, "rx_sk");
    if (!rx_sk) return;  // older kernels have no rx_sk argument
    auto result = resolve(rx_sk->type_id, {"__sk_common", "skc_family"});
    REQUIRE(result.path);
    CHECK(result.path->steps ==
          std::vector{step(Op::Add, direct_member_offset("sock", "__sk_common") +
                                        direct_member_offset("sock_common", "skc_family")),
                      step(Op::Load, 2)});
  }
  SECTION("a char array is its address; a subscript reads one element") {
    auto name = resolve(skb->type_id, {"dev", "name"});
    REQUIRE(name.path);
    CHECK(name.path->steps.back().op == Op::Add);  // no load: the array's address
    auto first = resolve(skb->type_id, {"dev", "name", "[0]"});
    REQUIRE(first.path);
    CHECK(first.path->steps.back().op == Op::Load);  // char's signedness is the kernel's (-funsigned-char)
    CHECK(first.path->steps.back().amount == 1);
    CHECK(first.path->steps[first.path->steps.size() - 2] == step(Op::AddScaled, 1, false, 2));
  }
  SECTION("a subscript on a pointer loads it and scales by the pointee") {
    auto result = resolve(skb->type_id, {"[1]", "len"});
    REQUIRE(result.path);
    REQUIRE(result.path->steps.size() == 3);
    CHECK(result.path->steps[0].op == Op::AddScaled);
    CHECK(result.path->steps[0].amount > 100);  // sizeof(struct sk_buff)
  }
  SECTION("a bitfield: the smallest load that covers it, then its bits") {
    const struct btf *vmlinux = types().handle();
    const btf_type *sk_buff = btf__type_by_id(vmlinux, btf__find_by_name_kind(vmlinux, "sk_buff", BTF_KIND_STRUCT));
    REQUIRE(sk_buff);
    for (const char *member : {"pkt_type", "ip_summed", "cloned"}) {
      uint32_t offset = 0, bits = 0;
      REQUIRE(member_bits(sk_buff, member, 0, offset, bits));
      REQUIRE(bits > 0);
      auto result = resolve(skb->type_id, {member});
      REQUIRE(result.path);
      const auto &steps = result.path->steps;
      REQUIRE(steps.size() == 3);
      CHECK(steps[0] == step(Op::Add, offset / 8));
      CHECK(steps[1].op == Op::Load);
      CHECK(steps[1].amount * 8 >= offset % 8 + bits);
      CHECK(steps[2] == step(Op::Bitfield, bits, false, offset % 8));
    }
    CHECK(resolve(skb->type_id, {"pkt_type"}, true).error);  // no address of a bitfield
    CHECK(resolve(skb->type_id, {"pkt_type", "x"}).error);
  }
  SECTION("address-of stops before the load") {
    auto result = resolve(skb->type_id, {"len"}, true);
    REQUIRE(result.path);
    CHECK(result.path->steps == std::vector{step(Op::Add, len)});
    CHECK(resolve(skb->type_id, {}, true).error);
  }
  SECTION("an object at an address, as @cast has it") {
    auto type = types().find_composite_type("kernel<linux/skbuff.h>:struct sk_buff");
    REQUIRE(type);
    CHECK(types().find_composite_type("sk_buff") == type);
    CHECK(types().find_composite_type("struct sk_buff") == type);
    CHECK_FALSE(types().find_composite_type("union sk_buff"));
    CHECK_FALSE(types().find_composite_type("no_such_type_xyz"));
    auto result = resolve(*type, {"len"}, false, ntap::btf::AccessStart::Object);
    REQUIRE(result.path);
    CHECK(result.path->steps == std::vector{step(Op::Add, len), step(Op::Load, 4)});
  }
  SECTION("errors") {
    auto missing = resolve(skb->type_id, {"no_such_member"});
    REQUIRE(missing.error);
    CHECK(missing.error->kind == ntap::btf::FieldError::NoSuchField);

    auto into_bitfield = resolve(skb->type_id, {"cloned", "x"});
    REQUIRE(into_bitfield.error);
    CHECK(into_bitfield.error->kind == ntap::btf::FieldError::Unsupported);
    CHECK(into_bitfield.error->message.find("bitfield") != std::string::npos);

    auto structure = resolve(skb->type_id, {"dev", "stats"});
    REQUIRE(structure.error);
    CHECK(structure.error->message.find("not a scalar") != std::string::npos);

    auto through_scalar = resolve(skb->type_id, {"len", "x"});
    REQUIRE(through_scalar.error);
    CHECK(through_scalar.error->kind == ntap::btf::FieldError::Unsupported);

    auto index_scalar = resolve(skb->type_id, {"len", "[0]"});
    REQUIRE(index_scalar.error);
    CHECK(index_scalar.error->message.find("cannot index") != std::string::npos);
  }
}

TEST_CASE("C spellings of types", "[btf]") {
  const struct btf *vmlinux = types().handle();
  REQUIRE(vmlinux != nullptr);
  CHECK(types().type_to_c(0) == "void");
  int u32 = btf__find_by_name_kind(vmlinux, "u32", BTF_KIND_TYPEDEF);
  REQUIRE(u32 > 0);
  CHECK(types().type_to_c(u32) == "u32");
  auto shape = types().scalar_shape(u32);
  REQUIRE(shape);
  CHECK(shape->size == 4);
  CHECK_FALSE(shape->is_signed);
  int sk_buff = btf__find_by_name_kind(vmlinux, "sk_buff", BTF_KIND_STRUCT);
  REQUIRE(sk_buff > 0);
  CHECK(types().type_to_c(sk_buff) == "struct sk_buff");
  CHECK_FALSE(types().scalar_shape(sk_buff));
}
