// procfs("NAME").read/.write: resolution (file, mode, maxsize), $value's
// rules and the errors (kernel/providers/procfs.cpp, passes/resolve_probes.cpp).
#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/support.h"

using namespace ntap;

namespace {

using test::error_of;
using test::only_probe;

}  // namespace

TEST_CASE("procfs probes: file, direction, mode and maxsize", "[probes][procfs]") {
  auto read = test::check_script("probe procfs(\"stats\").umask(022).read.maxsize(64) { $value = \"x\" }");
  const ast::ResolvedProbe &r = only_probe(read);
  CHECK(read->program->probes[0]->side == ast::Side::User);
  CHECK(r.kind == ast::ProbeKind::ProcfsRead);
  CHECK(r.binary == "stats");
  CHECK(r.file_mode == 0444);
  CHECK(r.param == 64);
  CHECK(r.point == "procfs(\"stats\").read");

  auto write = test::check_script("global last probe procfs.umask(2).write { last = $value }");
  const ast::ResolvedProbe &w = only_probe(write);
  CHECK(w.kind == ast::ProbeKind::ProcfsWrite);
  CHECK(w.binary == "command");
  CHECK(w.file_mode == 0200);
}

TEST_CASE("procfs probes: malformed points and $value misuse", "[probes][procfs]") {
  CHECK(error_of("probe procfs(\"a/b\").read { $value = \"\" }").find("must be one name") != std::string::npos);
  CHECK(error_of("probe procfs(\"..\").read { $value = \"\" }").find("must be one name") != std::string::npos);
  CHECK(error_of("probe procfs(\"f\") { }").find("end in .read or .write") != std::string::npos);
  CHECK(error_of("probe procfs(\"f\").write.maxsize(5) { }").find("unexpected '.maxsize'") != std::string::npos);
  CHECK(error_of("probe procfs(\"f\").umask(01000).read { }").find("mode mask from 0 to 0777") != std::string::npos);
  CHECK(error_of("probe procfs.write { $value = \"x\" }") ==
        "1:22 procfs $value variable is read-only in a procfs write probe");
  CHECK(error_of("probe procfs.read { x = $value; $value = x }") ==
        "1:25 procfs $value variable cannot be read in a procfs read probe");
  CHECK(error_of("probe procfs(\"a\").read, procfs(\"b\").write { }") ==
        "1:1 procfs(\"a\").read and procfs(\"b\").write are in one probe: $value differs between procfs .read and "
        ".write probes (and other probes have none); write a separate probe for each");
  CHECK(error_of("probe procfs.read, begin { }").find("procfs(\"command\").read and begin are in one probe") !=
        std::string::npos);
  CHECK(error_of("probe procfs.read { println($other) }").find("unable to find target variable $other") !=
        std::string::npos);
}
