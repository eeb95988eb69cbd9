// The runtime API is listed once (abi/runtime_api.def): what the host code
// generator declares and what the runtime exports to the JIT must be the same
// functions.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "abi/runtime_api.h"
#include "codegen/host/host_codegen.h"

using namespace ntap;

TEST_CASE("the host code generator declares exactly the functions the runtime exports", "[api]") {
  std::vector<std::string> exported;
  for (const ntap_symbol *s = ntap_runtime_symbols; s->name; ++s) {
    CHECK(s->address != nullptr);
    exported.emplace_back(s->name);
  }
  const std::vector<std::string> declared = declare_every_runtime_function(ntap_runtime_symbols);

  CHECK(declared.size() == exported.size());
  CHECK(std::set<std::string>(declared.begin(), declared.end()) ==
        std::set<std::string>(exported.begin(), exported.end()));
  // No name twice in either list.
  CHECK(std::set<std::string>(exported.begin(), exported.end()).size() == exported.size());
  CHECK(std::set<std::string>(declared.begin(), declared.end()).size() == declared.size());
}

TEST_CASE("a runtime function the JIT cannot bind is not declared", "[api]") {
  // Bind every function but ntap_printf: declaring it must fail with its name.
  std::vector<ntap_symbol> without_printf;
  for (const ntap_symbol *s = ntap_runtime_symbols; s->name; ++s)
    if (std::string(s->name) != "ntap_printf") without_printf.push_back(*s);
  without_printf.push_back({nullptr, nullptr});
  CHECK_THROWS_WITH(declare_every_runtime_function(without_printf.data()), Catch::Matchers::Contains("ntap_printf"));
}
