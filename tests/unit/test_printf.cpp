// The printf engine against stap's documented/runtime behaviour, and against
// glibc where the two agree.
#include <catch2/catch.hpp>
#include <cctype>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include "runtime/output.h"
#include "abi/printf.h"

using ntap::ArgType;
using ntap::Format;
using ntap::FormatError;

namespace {

Format::Arg L(int64_t v) { return Format::Arg{v, {}}; }
Format::Arg S(std::string_view s) { return Format::Arg{0, s}; }

std::string fmt(std::string_view text, std::vector<Format::Arg> args = {}) {
  Format f = Format::parse(text);
  REQUIRE(f.arg_types().size() == args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    // Guard the test itself: a Long slot given a string (or vice versa) is a test bug.
    if (f.arg_types()[i] == ArgType::Long) REQUIRE(args[i].s.empty());
  }
  return f.format(args.data());
}

size_t error_offset(std::string_view text) {
  try {
    Format::parse(text);
  } catch (const FormatError &e) {
    CHECK_FALSE(e.message.empty());
    return e.offset;
  }
  FAIL("no FormatError for \"" << std::string(text) << "\"");
  return SIZE_MAX;
}

std::string glibc(const std::string &c_format, long long value) {
  char buf[256];
  std::snprintf(buf, sizeof buf, c_format.c_str(), value);
  return buf;
}

}  // namespace

TEST_CASE("printf: literal text without conversions", "[printf]") {
  CHECK(fmt("hello, world\n") == "hello, world\n");
  CHECK(fmt("") == "");
  CHECK(Format::parse("abc").arg_types().empty());
}

TEST_CASE("printf: %% folds to a single percent sign", "[printf]") {
  CHECK(fmt("100%%") == "100%");
  CHECK(fmt("%%d%%") == "%d%");
  CHECK(fmt("%5%") == "%");
}

TEST_CASE("printf: %d and %i are signed 64-bit", "[printf]") {
  CHECK(fmt("%d", {L(42)}) == "42");
  CHECK(fmt("%d", {L(-42)}) == "-42");
  CHECK(fmt("%i", {L(-7)}) == "-7");
  CHECK(fmt("%d", {L(INT64_MAX)}) == "9223372036854775807");
  CHECK(fmt("%d", {L(INT64_MIN)}) == "-9223372036854775808");
  CHECK(fmt("%d", {L(0)}) == "0");
}

TEST_CASE("printf: %u is unsigned 64-bit", "[printf]") {
  CHECK(fmt("%u", {L(-1)}) == "18446744073709551615");
  CHECK(fmt("%u", {L(123)}) == "123");
}

TEST_CASE("printf: %o and the # flag", "[printf]") {
  CHECK(fmt("%o", {L(8)}) == "10");
  CHECK(fmt("%#o", {L(8)}) == "010");
  CHECK(fmt("%#o", {L(0)}) == "00");  // stap always adds the 0
  CHECK(fmt("%o", {L(-1)}) == "1777777777777777777777");
}

TEST_CASE("printf: %x and %X", "[printf]") {
  CHECK(fmt("%x", {L(255)}) == "ff");
  CHECK(fmt("%X", {L(255)}) == "FF");
  CHECK(fmt("%x", {L(-1)}) == "ffffffffffffffff");
  CHECK(fmt("%X", {L(0xabcdef)}) == "ABCDEF");
}

TEST_CASE("printf: # on hex adds 0x / 0X, even for 0", "[printf]") {
  CHECK(fmt("%#x", {L(255)}) == "0xff");
  CHECK(fmt("%#X", {L(255)}) == "0XFF");
  CHECK(fmt("%#x", {L(0)}) == "0x0");
  CHECK(fmt("%#010x", {L(255)}) == "0x000000ff");
  CHECK(fmt("%#10x", {L(255)}) == "      0xff");
  CHECK(fmt("%-#10x|", {L(255)}) == "0xff      |");
}

TEST_CASE("printf: %p prints 0x and lowercase hex like stap", "[printf]") {
  CHECK(fmt("%p", {L(static_cast<int64_t>(0xffffffff814a104aULL))}) == "0xffffffff814a104a");
  CHECK(fmt("%p", {L(0)}) == "0x0");
  CHECK(fmt("%p", {L(0xABC)}) == "0xabc");
  CHECK(fmt("%10p|", {L(0x1234)}) == "    0x1234|");
  CHECK(fmt("%-10p|", {L(0x1234)}) == "0x1234    |");
  CHECK(fmt("%010p", {L(0x1234)}) == "0x00001234");
}

TEST_CASE("printf: width pads with spaces on the left, '-' on the right", "[printf]") {
  CHECK(fmt("%5d|", {L(42)}) == "   42|");
  CHECK(fmt("%-5d|", {L(42)}) == "42   |");
  CHECK(fmt("%2d", {L(12345)}) == "12345");  // never truncates
  CHECK(fmt("%5d", {L(-42)}) == "  -42");
}

TEST_CASE("printf: zero padding goes after the sign", "[printf]") {
  CHECK(fmt("%05d", {L(42)}) == "00042");
  CHECK(fmt("%05d", {L(-42)}) == "-0042");
  CHECK(fmt("%+05d", {L(42)}) == "+0042");
  CHECK(fmt("%-05d|", {L(42)}) == "42   |");  // '-' wins over '0'
}

TEST_CASE("printf: + and space signs apply to signed conversions only", "[printf]") {
  CHECK(fmt("%+d", {L(5)}) == "+5");
  CHECK(fmt("%+d", {L(-5)}) == "-5");
  CHECK(fmt("% d", {L(5)}) == " 5");
  CHECK(fmt("%+ d", {L(5)}) == "+5");
  CHECK(fmt("%+u", {L(5)}) == "5");
  CHECK(fmt("%+x", {L(5)}) == "5");
}

TEST_CASE("printf: precision on integers is a minimum digit count", "[printf]") {
  CHECK(fmt("%.5d", {L(42)}) == "00042");
  CHECK(fmt("%8.5d|", {L(42)}) == "   00042|");
  CHECK(fmt("%-8.5d|", {L(-42)}) == "-00042  |");
  CHECK(fmt("%.0d", {L(0)}) == "0");  // stap prints the 0 (glibc would not)
  CHECK(fmt("%.3x", {L(0xa)}) == "00a");
  CHECK(fmt("%.d", {L(7)}) == "7");
}

TEST_CASE("printf: %s with width and precision", "[printf]") {
  CHECK(fmt("%s", {S("abc")}) == "abc");
  CHECK(fmt("%6s|", {S("abc")}) == "   abc|");
  CHECK(fmt("%-6s|", {S("abc")}) == "abc   |");
  CHECK(fmt("%.2s", {S("abc")}) == "ab");
  CHECK(fmt("%6.2s|", {S("abc")}) == "    ab|");
  CHECK(fmt("%.10s", {S("abc")}) == "abc");
  CHECK(fmt("%s", {S("")}) == "");
  CHECK(fmt("%06s", {S("ab")}) == "    ab");  // no zero padding for strings
}

TEST_CASE("printf: %s stops at an embedded NUL", "[printf]") {
  std::string buffer("name\0garbage", 12);
  CHECK(fmt("[%s]", {S(buffer)}) == "[name]");
}

TEST_CASE("printf: %c prints one character", "[printf]") {
  CHECK(fmt("%c", {L('A')}) == "A");
  CHECK(fmt("%3c|", {L('x')}) == "  x|");
  CHECK(fmt("%-3c|", {L('x')}) == "x  |");
  CHECK(fmt("%c", {L(0x141)}) == "A");  // only the low byte
}

TEST_CASE("printf: %#c escapes unprintable characters", "[printf]") {
  CHECK(fmt("%#c", {L('\n')}) == "\\n");
  CHECK(fmt("%#c", {L('\t')}) == "\\t");
  CHECK(fmt("%#c", {L('\\')}) == "\\\\");
  CHECK(fmt("%#c", {L('\'')}) == "\\'");
  CHECK(fmt("%#c", {L(1)}) == "\\001");
  CHECK(fmt("%#c", {L(0xff)}) == "\\377");
  CHECK(fmt("%#c", {L('a')}) == "a");
  CHECK(fmt("%#5c|", {L(1)}) == " \\001|");
}

TEST_CASE("printf: %b writes the raw bytes of the integer", "[printf]") {
  CHECK(fmt("%b", {L(0x0102030405060708)}) == std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  CHECK(fmt("%1b", {L(0x41)}) == "A");
  CHECK(fmt("%2b", {L(0x4241)}) == "AB");
  CHECK(fmt("%4b", {L(0x44434241)}) == "ABCD");
  CHECK(fmt("%8b", {L(0x41)}) == std::string("A\0\0\0\0\0\0\0", 8));
  CHECK(fmt("%.2b", {L(0x4241)}) == "AB");
  CHECK(fmt("%4.2b", {L(0x4241)}) == std::string("\0\0AB", 4));   // padded with NULs
  CHECK(fmt("%-4.2b", {L(0x4241)}) == std::string("AB\0\0", 4));
  CHECK(fmt("%3b", {L(0x41)}).size() == 8);  // width 3 is not a byte count: 8 bytes
}

TEST_CASE("printf: %m dumps raw bytes, precision = length", "[printf]") {
  CHECK(fmt("%m", {S("xyz")}) == "x");
  CHECK(fmt("%.3m", {S("xyz")}) == "xyz");
  CHECK(fmt("%5.2m|", {S("xyz")}) == "   xy|");
  CHECK(fmt("%-5.2m|", {S("xyz")}) == "xy   |");
  CHECK(fmt("%.4m", {S("ab")}) == std::string("ab\0\0", 4));  // past the end reads as 0
}

TEST_CASE("printf: %M dumps hex bytes", "[printf]") {
  CHECK(fmt("%M", {S("A")}) == "41");
  CHECK(fmt("%.4M", {S("ABC\xff")}) == "414243ff");
  CHECK(fmt("%10.2M|", {S("AB")}) == "      4142|");
  CHECK(fmt("%.3M", {S("A")}) == "410000");
}

TEST_CASE("printf: * takes the width from the next argument", "[printf]") {
  CHECK(fmt("%*d|", {L(5), L(42)}) == "   42|");
  CHECK(fmt("%*d|", {L(-5), L(42)}) == "42   |");  // negative: left-justified
  CHECK(fmt("%*s|", {L(4), S("ab")}) == "  ab|");
  CHECK(fmt("%0*d", {L(4), L(7)}) == "0007");
}

TEST_CASE("printf: .* takes the precision from the next argument", "[printf]") {
  CHECK(fmt("%.*s", {L(2), S("abcdef")}) == "ab");
  CHECK(fmt("%*.*s|", {L(5), L(3), S("abcdef")}) == "  abc|");
  CHECK(fmt("%.*d", {L(4), L(7)}) == "0007");
  CHECK(fmt("%.*s|", {L(-1), S("abc")}) == "|");  // negative counts as 0, as in stap
  CHECK(fmt("%.*M", {L(2), S("AB")}) == "4142");
}

TEST_CASE("printf: arg_types lists every consumed argument in order", "[printf]") {
  Format f = Format::parse("%d %s %*x %.*s %m %M %c %b %p %% %u");
  std::vector<ArgType> expected{ArgType::Long, ArgType::String, ArgType::Long, ArgType::Long, ArgType::Long,
                                ArgType::String, ArgType::String, ArgType::String, ArgType::Long,
                                ArgType::Long, ArgType::Long, ArgType::Long};
  CHECK(f.arg_types() == expected);
  CHECK(f.text() == "%d %s %*x %.*s %m %M %c %b %p %% %u");
}

TEST_CASE("printf: length modifiers are accepted and ignored", "[printf]") {
  CHECK(fmt("%ld", {L(-3)}) == "-3");
  CHECK(fmt("%lld", {L(INT64_MIN)}) == "-9223372036854775808");
  CHECK(fmt("%hd", {L(100000)}) == "100000");  // still 64-bit
  CHECK(fmt("%lx %llX %hu", {L(255), L(255), L(7)}) == "ff FF 7");
}

TEST_CASE("printf: several conversions with text between", "[printf]") {
  CHECK(fmt("%d packets dropped at %s (%s)\n", {L(12), S("tcp_v4_rcv+0xaa/0x8d0 [kernel]"), S("NO_SOCKET")}) ==
        "12 packets dropped at tcp_v4_rcv+0xaa/0x8d0 [kernel] (NO_SOCKET)\n");
  CHECK(fmt("%s%s%s", {S("a"), S("b"), S("c")}) == "abc");
}

TEST_CASE("printf: format_to appends and allocates only for growth", "[printf]") {
  Format f = Format::parse("%-20s %10d %#x %p\n");
  std::vector<Format::Arg> args{S("kfree_skb"), L(123456), L(0xbeef), L(0xffffffff81000000)};
  std::string out = "prefix:";
  out.reserve(4096);
  const char *data = out.data();
  for (int i = 0; i < 50; ++i) f.format_to(out, args.data());
  CHECK(out.data() == data);  // no reallocation: nothing but `out` was written
  const std::string line = "kfree_skb                123456 0xbeef 0xffffffff81000000\n";
  CHECK(out.substr(0, 7) == "prefix:");
  CHECK(out.substr(7, line.size()) == line);
  CHECK(out.size() == 7 + 50 * line.size());
}

TEST_CASE("printf: widths and precisions are clamped", "[printf]") {
  CHECK(fmt("%99999999d", {L(1)}).size() == static_cast<size_t>(Format::kMaxFieldWidth));
  CHECK(fmt("%*d", {L(INT64_MAX), L(1)}).size() == static_cast<size_t>(Format::kMaxFieldWidth));
  CHECK(fmt("%*d", {L(INT64_MIN), L(1)}).size() == static_cast<size_t>(Format::kMaxFieldWidth));
}

TEST_CASE("printf: errors carry the offset of the bad conversion", "[printf]") {
  CHECK(error_offset("%") == 0);
  CHECK(error_offset("abc %q") == 4);
  CHECK(error_offset("%d %5") == 3);
  CHECK(error_offset("x %ll") == 2);
  CHECK(error_offset("%-#08.3") == 0);
  CHECK(error_offset("ok %d then %y") == 11);
  CHECK(error_offset("%*%") == 0);
}

TEST_CASE("printf: the message names the problem", "[printf]") {
  try {
    Format::parse("%z");
    FAIL("expected an error");
  } catch (const FormatError &e) {
    CHECK(e.message == "invalid or missing conversion specifier");
    CHECK(e.offset == 0);
  }
}

TEST_CASE("printf: %s passes bytes through unchanged", "[printf]") {
  CHECK(fmt("<%s>", {S("\xc3\xa9t\xc3\xa9")}) == "<\xc3\xa9t\xc3\xa9>");
  CHECK(fmt("%s", {S("\x7f\x80\xff")}) == "\x7f\x80\xff");
}

TEST_CASE("printf: one parsed format serves many calls", "[printf]") {
  Format f = Format::parse("[%3d|%-4s]");
  std::string out;
  for (int i = 0; i < 3; ++i) {
    std::string name(static_cast<size_t>(i), 'z');
    Format::Arg args[] = {L(i * 10), S(name)};
    f.format_to(out, args);
  }
  CHECK(out == "[  0|    ][ 10|z   ][ 20|zz  ]");
}

TEST_CASE("printf: # with zero padding on %X and %o", "[printf]") {
  CHECK(fmt("%#06X", {L(0xab)}) == "0X00AB");
  CHECK(fmt("%#6o", {L(8)}) == "   010");
  CHECK(fmt("%#06o", {L(8)}) == "000010");
}

TEST_CASE("printf: strings agree with glibc for width, precision and '-'", "[printf]") {
  const char *words[] = {"", "a", "drop", "tcp_v4_rcv+0xaa/0x8d0 [kernel]"};
  for (const char *word : words) {
    for (const char *spec : {"%s", "%8s", "%-8s", "%.3s", "%10.2s", "%-10.5s", "%.0s", "%1s"}) {
      char expected[128];
      std::snprintf(expected, sizeof expected, spec, word);
      INFO("format " << spec << " word '" << word << "'");
      CHECK(fmt(spec, {S(word)}) == expected);
    }
  }
}

TEST_CASE("printf: integers agree with glibc where stap and C agree", "[printf]") {
  // No '#' (stap prints 0x0), no precision (stap keeps zero padding and prints
  // 0 for "%.0d"): everywhere else the two must match digit for digit.
  std::mt19937_64 rng(12345);
  const char *flag_sets[] = {"", "-", "0", "+", " ", "-+", "0+", "0 ", "- "};
  const char conversions[] = {'d', 'u', 'x', 'X', 'o'};
  int checked = 0;
  for (int round = 0; round < 400; ++round) {
    int64_t value = static_cast<int64_t>(rng());
    if (round % 3 == 0) value >>= (rng() % 60);
    if (round % 5 == 0) value = -value;
    std::string flags = flag_sets[rng() % std::size(flag_sets)];
    char conv = conversions[rng() % std::size(conversions)];
    if ((conv != 'd') && (flags.find('+') != std::string::npos || flags.find(' ') != std::string::npos)) continue;
    std::string width = round % 4 ? std::to_string(rng() % 25) : "";
    std::string ours = fmt("%" + flags + width + conv, {L(value)});
    std::string theirs = glibc("%" + flags + width + "ll" + conv, value);
    INFO("format %" << flags << width << conv << " value " << value);
    REQUIRE(ours == theirs);
    ++checked;
  }
  CHECK(checked > 150);
}

// ---- output: everything printed goes through ntap::Output ----

namespace {

std::string temp_path(const char *name) {
  return "/tmp/ntap_test_" + std::to_string(::getpid()) + "_" + name;
}

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("output: text output writes only when flushed", "[output]") {
  std::string path = temp_path("text");
  {
    auto out = ntap::make_text_output(path);
    out->write("hello ");
    out->write("world\n");
    CHECK(slurp(path).empty());  // buffered until the handler run ends
    out->flush();
    CHECK(slurp(path) == "hello world\n");
    out->write("tail\n");
  }  // destruction flushes what is left
  CHECK(slurp(path) == "hello world\ntail\n");
  ::unlink(path.c_str());
}

TEST_CASE("output: a very large handler output is written before the flush", "[output]") {
  std::string path = temp_path("large");
  auto out = ntap::make_text_output(path);
  std::string chunk(4096, 'x');
  for (int i = 0; i < 400; ++i) out->write(chunk);  // 1.6 MB
  CHECK(slurp(path).size() >= (1u << 20));
  out->flush();
  CHECK(slurp(path).size() == 400 * chunk.size());
  ::unlink(path.c_str());
}

TEST_CASE("output: opening an impossible path names the file and the reason", "[output]") {
  try {
    ntap::make_text_output("/nonexistent-dir/out.txt");
    FAIL("expected an error");
  } catch (const std::runtime_error &e) {
    std::string what = e.what();
    CHECK(what.find("/nonexistent-dir/out.txt") != std::string::npos);
    CHECK(what.find("No such file or directory") != std::string::npos);
  }
}

namespace {
// The JSON lines with every "time_ns":N field removed (it is the clock's).
std::string without_times(std::string text) {
  for (size_t at; (at = text.find(",\"time_ns\":")) != std::string::npos;) {
    size_t end = at + 11;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    text.erase(at, end - at);
  }
  return text;
}
}  // namespace

TEST_CASE("output: JSON lines hold one object per probe run", "[output]") {
  std::string path = temp_path("json");
  {
    auto out = ntap::make_json_output(path);
    out->begin_probe("begin");
    out->write("a \"quoted\" line\n");
    out->flush();
    out->begin_probe("timer.s(5)");
    out->flush();  // printed nothing: no line
    out->begin_probe("end");
    out->write("tab\there\x01");
    out->write("!");
  }
  const std::string text = slurp(path);
  CHECK(text.find("\"time_ns\":1") != std::string::npos);
  CHECK(without_times(text) ==
        "{\"type\":\"printf\",\"probe\":\"begin\",\"text\":\"a \\\"quoted\\\" line\\n\"}\n"
        "{\"type\":\"printf\",\"probe\":\"end\",\"text\":\"tab\\there\\u0001!\"}\n");
  ::unlink(path.c_str());
}

TEST_CASE("output: JSON strings stay valid UTF-8", "[output]") {
  std::string out;
  ntap::append_json_string(out, "\xc3\xa9t\xc3\xa9 \xff\xc3 \xe2\x82\xac");
  CHECK(out == "\"\xc3\xa9t\xc3\xa9 \\ufffd\\ufffd \xe2\x82\xac\"");
}

TEST_CASE("output: JSON warnings, lost counters and histograms are objects", "[output]") {
  std::string path = temp_path("json-objects");
  ntap::ast::Global g;
  g.name = "lat";
  ntap::HistogramSpec spec = ntap::HistogramSpec::log();
  {
    auto out = ntap::make_json_output(path);
    out->begin_probe("end");
    out->write("before\n");
    ntap::HistogramPrint print;
    print.global = &g;
    print.spec = &spec;
    print.buckets.assign(spec.buckets, 0);
    print.buckets[spec.bucket_of(1)] = 2;
    print.buckets[spec.bucket_of(5)] = 3;
    out->histogram(print);
    out->warning("careful\n");
    ntap::LostCount lost{"map_full", 7, "7 updates lost", "lat", 16, ""};
    out->lost(lost);
  }
  CHECK(without_times(slurp(path)) ==
        "{\"type\":\"printf\",\"probe\":\"end\",\"text\":\"before\\n\"}\n"
        "{\"type\":\"histogram\",\"probe\":\"end\",\"global\":\"lat\",\"histogram\":\"log\",\"buckets\":["
        "{\"value\":1,\"count\":2},{\"value\":4,\"count\":3}]}\n"
        "{\"type\":\"warning\",\"probe\":\"end\",\"message\":\"careful\"}\n"
        "{\"type\":\"lost\",\"probe\":\"end\",\"kind\":\"map_full\",\"count\":7,\"global\":\"lat\",\"limit\":16,"
        "\"message\":\"7 updates lost\"}\n");
  ::unlink(path.c_str());
}

TEST_CASE("output: StringOutput collects text and counts flushes", "[output]") {
  ntap::StringOutput out;
  Format f = Format::parse("%s=%d\n");
  std::vector<Format::Arg> args{S("x"), L(3)};
  std::string line = f.format(args.data());
  out.write(line);
  out.flush();
  CHECK(out.text() == "x=3\n");
  CHECK(out.flushes() == 1);
}
