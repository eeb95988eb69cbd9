// Wildcard subscripts and wrap-around arrays in the runtime's storage: which
// keys a `*` pattern matches, and which element a full wrap-around array
// gives up for a new one.
#include <catch2/catch.hpp>

#include "runtime/store.h"

using namespace ntap;

TEST_CASE("wildcard: a pattern matches on its non-wildcard positions only", "[wildcard]") {
  const Key key{int64_t{1}, std::string("x")};
  CHECK(key_matches(key, Key{int64_t{1}, std::string("x")}, 0));
  CHECK_FALSE(key_matches(key, Key{int64_t{2}, std::string("x")}, 0));
  CHECK(key_matches(key, Key{int64_t{0}, std::string("x")}, 0b01));   // [*, "x"]
  CHECK_FALSE(key_matches(key, Key{int64_t{0}, std::string("y")}, 0b01));
  CHECK(key_matches(key, Key{int64_t{1}, int64_t{0}}, 0b10));        // [1, *]
  CHECK(key_matches(key, Key{int64_t{0}, int64_t{0}}, 0b11));        // [*, *]
  CHECK_FALSE(key_matches(key, Key{int64_t{1}}, 0));                   // arity differs
}

TEST_CASE("wildcard: a full wrap-around array evicts its oldest-inserted element", "[wildcard]") {
  HostStorage storage(ast::Type::Long, 2, nullptr, /*wrap=*/true);
  Value v;
  v.l = 1;
  REQUIRE(storage.update(Key{int64_t{1}}, v));
  REQUIRE(storage.update(Key{int64_t{2}}, v));
  REQUIRE(storage.update(Key{int64_t{1}}, v));  // an update does not make 1 younger
  REQUIRE(storage.update(Key{int64_t{3}}, v));
  CHECK_FALSE(storage.lookup(Key{int64_t{1}}));
  CHECK(storage.lookup(Key{int64_t{2}}));
  CHECK(storage.lookup(Key{int64_t{3}}));
  storage.erase(Key{int64_t{2}});
  REQUIRE(storage.update(Key{int64_t{4}}, v));  // room again: nothing evicted
  CHECK(storage.lookup(Key{int64_t{3}}));
  REQUIRE(storage.update(Key{int64_t{5}}, v));  // full: 3 is now the oldest
  CHECK_FALSE(storage.lookup(Key{int64_t{3}}));
  CHECK(storage.entries().size() == 2);
}

TEST_CASE("wildcard: a full array without wrap refuses new elements", "[wildcard]") {
  HostStorage storage(ast::Type::Long, 1);
  Value v;
  REQUIRE(storage.update(Key{int64_t{1}}, v));
  CHECK_FALSE(storage.update(Key{int64_t{2}}, v));
  CHECK(storage.lookup(Key{int64_t{1}}));
}
