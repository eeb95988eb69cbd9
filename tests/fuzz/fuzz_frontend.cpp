// Fuzz target: script text through what `ntap -p1` and `ntap -p2` do, the
// preprocessor, parser, tapset loading, every elaboration pass, and both
// printouts (written nowhere).
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <streambuf>

#include "cli/listing.h"
#include "frontend/printer.h"
#include "tests/fuzz/fuzz_script.h"

namespace {

// An ostream that drops what it is given: the printers still walk the whole tree.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char *, std::streamsize n) override { return n; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  NullBuffer buffer;
  std::ostream discard(&buffer);
  ntap::SourceManager sources;
  auto program = ntap::fuzz::elaborate(sources, data, size,
                                       [&](const ntap::ast::Program &parsed) { ntap::print_program(parsed, discard); });
  if (program) ntap::print_elaborated(*program, discard);
  return 0;
}
