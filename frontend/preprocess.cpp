// The preprocessor: conditionals, macros and command-line arguments.
//
// One left-to-right pass over the tokens (see preprocess_lexer.h). At the top
// level the script's bytes are copied as they are, and what the preprocessor
// consumes (markers, conditions, unchosen branches, @define) is replaced by
// spaces with every newline kept. Inside a macro expansion the body's tokens
// are emitted with single spaces between them; a macro's arguments are
// expanded where its body names them, in the context of the macro's caller,
// so arguments written in the script keep their own locations.
#include "frontend/preprocess.h"

#include <sys/utsname.h>

#include <algorithm>
#include <memory>
#include <map>

#include "frontend/preprocess_condition.h"
#include "frontend/preprocess_lexer.h"

namespace ntap {

// ---------------------------------------------------------------- SourceMap

const SourceMap::Segment *SourceMap::segment_at(size_t offset) const {
  auto after = std::upper_bound(segments_.begin(), segments_.end(), offset,
                                [](size_t value, const Segment &s) { return value < s.output_begin; });
  return after == segments_.begin() ? nullptr : &*(after - 1);
}

Location SourceMap::locate(size_t offset) const {
  if (offset >= output_size_) return pp::location_in(*file_, file_->text.size());
  const Segment *segment = segment_at(offset);
  if (!segment) return pp::location_in(*file_, offset);
  if (!segment->copy) return pp::location_in(*file_, segment->source_offset);
  return pp::location_in(*file_, segment->source_offset + (offset - segment->output_begin));
}

std::string SourceMap::expansion_note(size_t offset) const {
  const Segment *segment = segment_at(offset);
  return segment && segment->note ? notes_[segment->note - 1] : std::string();
}

void SourceMap::copied(size_t output_offset, size_t source_offset) {
  if (!segments_.empty()) {
    const Segment &last = segments_.back();
    if (last.copy && last.source_offset + (output_offset - last.output_begin) == source_offset) return;
  }
  segments_.push_back(Segment{output_offset, source_offset, true, 0});
}

void SourceMap::expanded(size_t output_offset, size_t use_offset, const std::string &note) {
  uint32_t note_index = 0;
  if (!note.empty()) {
    if (notes_.empty() || notes_.back() != note) notes_.push_back(note);
    note_index = static_cast<uint32_t>(notes_.size());
  }
  if (!segments_.empty()) {
    const Segment &last = segments_.back();
    if (!last.copy && last.source_offset == use_offset && last.note == note_index) return;
  }
  segments_.push_back(Segment{output_offset, use_offset, false, note_index});
}

// ---------------------------------------------------------------- target

namespace {

// uname's machine in SystemTap's spelling (stap's normalize_machine).
std::string stap_arch(std::string machine) {
  if (machine.size() == 4 && machine[0] == 'i' && machine.substr(2) == "86") return "i386";
  if (machine == "aarch64") return "arm64";
  if (machine.rfind("arm", 0) == 0) return "arm";
  if (machine == "s390x") return "s390";
  if (machine.rfind("ppc", 0) == 0) return "powerpc";
  if (machine.rfind("mips", 0) == 0) return "mips";
  if (machine.rfind("sh", 0) == 0) return "sh";
  return machine;
}

}  // namespace

const PreprocessTarget &PreprocessTarget::running_system() {
  static const PreprocessTarget target = [] {
    PreprocessTarget t;
    utsname uts{};
    if (uname(&uts) == 0) {
      t.kernel_release = uts.release;
      t.arch = stap_arch(uts.machine);
    }
    return t;
  }();
  return target;
}

// ---------------------------------------------------------------- the pass

namespace {

using namespace pp;
constexpr size_t kNoUse = static_cast<size_t>(-1);

struct Macro {
  std::string name;  // without the '@'
  std::vector<std::string> params;
  bool takes_arguments = false;  // defined as NAME(...), so used as @NAME(...)
  size_t name_offset = 0;
  size_t body_begin = 0, body_end = 0;
  const SourceFile *file = nullptr;  // where it is defined: the script or a macro library
};

struct ArgumentText {
  size_t begin, end;
  std::string_view text;  // of the file the use is in
};

// Where tokens are being read from: the script itself (no macro) or a macro
// body expanded at `use_offset`, the outermost macro use in the script.
struct Frame {
  const Frame *caller = nullptr;
  const Macro *macro = nullptr;
  const SourceFile *file = nullptr;  // the text its tokens are in
  std::vector<ArgumentText> args;  // one per macro parameter, read in `caller`
  size_t use_offset = kNoUse;
  // "in expansion of macro '@m' defined at ...", shared by the frames of one
  // use in the script (copying it per nested expansion dominated their cost).
  std::shared_ptr<const std::string> note;
  bool in_script() const { return macro == nullptr; }
  // Whether `m` is being expanded here or in a frame this one is inside.
  bool expanding(const Macro &m) const {
    for (const Frame *f = this; f; f = f->caller)
      if (f->macro == &m) return true;
    return false;
  }
};

enum StopAt : unsigned { kStopAtEnd = 0, kStopAtElse = 1, kStopAtClose = 2 };

// Each nested conditional and each macro expansion is one more level of
// recursion here (as nested constructs are in the parser, grammar.h's
// max_nesting): deeper input is an error, not a stack overflow.
constexpr unsigned kMaxPreprocessorNesting = 1000;
// Each expansion costs a frame and a source-map entry whatever its size, so
// macros that double (each using the one before twice) are bounded by count
// as well as by the size of what they produce (generate()).
constexpr size_t kMaxMacroExpansions = 100000;

class Preprocessor {
 public:
  Preprocessor(const SourceFile &file, const PreprocessOptions &options)
      : file_(file),
        text_(file.text),
        args_(options.script_args),
        libraries_(options.macro_libraries),
        target_(options.target ? *options.target : PreprocessTarget::running_system()),
        out_{std::string(), SourceMap(file)} {}

  PreprocessedSource run() {
    out_.text.reserve(text_.size());
    for (const SourceFile *library : libraries_) define_library_macros(*library);
    Lexer lexer(text_, 0, text_.size());
    Frame script;
    script.file = &file_;
    process(lexer, script, kStopAtEnd, nullptr);
    out_.map.finish(out_.text.size());
    return std::move(out_);
  }

 private:
  const SourceFile &file_;
  const std::string &text_;
  const std::vector<std::string> &args_;
  const std::vector<const SourceFile *> &libraries_;
  const PreprocessTarget &target_;
  PreprocessedSource out_;
  std::map<std::string, Macro, std::less<>> macros_;
  unsigned nesting_ = 0;  // conditionals and expansions open (kMaxPreprocessorNesting)
  size_t expansions_ = 0;  // macro uses expanded so far (kMaxMacroExpansions)

  // One more level of conditionals or expansions, opened by `token`, for
  // the life of the guard.
  class Level {
   public:
    Level(Preprocessor &pp, const Frame &frame, const Token &token, const Lexer &lexer) : pp_(pp) {
      if (++pp_.nesting_ > kMaxPreprocessorNesting)
        pp_.fail(frame, token,
                 "preprocessor conditionals and macro expansions nested too deeply (more than " +
                     std::to_string(kMaxPreprocessorNesting) + " levels)",
                 lexer);
    }
    ~Level() { --pp_.nesting_; }
    Level(const Level &) = delete;
    Level &operator=(const Level &) = delete;

   private:
    Preprocessor &pp_;
  };

  // ---------------------------------------------------------- emitting
  void copy(size_t begin, size_t end) {
    if (begin >= end) return;
    out_.map.copied(out_.text.size(), begin);
    out_.text.append(text_, begin, end - begin);
  }

  // Generated text, located at `source_offset` in the script, or at the
  // macro use when inside an expansion.
  void generate(const Frame &frame, std::string_view text, size_t source_offset) {
    if (text.empty()) return;
    // Macros that each use the previous one twice double the text per
    // definition: a few lines would expand past any memory. The bound is
    // the one a script file has (SourceManager::kMaxScriptBytes).
    if (out_.text.size() + text.size() > SourceManager::kMaxScriptBytes)
      fail_at(file_, frame.in_script() ? source_offset : frame.use_offset,
              "macro expansion makes the script larger than " +
                  std::to_string(SourceManager::kMaxScriptBytes >> 20) + " MiB");
    if (frame.in_script())
      out_.map.expanded(out_.text.size(), source_offset, {});
    else
      out_.map.expanded(out_.text.size(), frame.use_offset, frame.note ? *frame.note : std::string());
    out_.text.append(text);
  }

  // Consumed script text: spaces, newlines kept.
  void blank(const Frame &frame, size_t begin, size_t end) {
    if (begin >= end) return;
    if (!frame.in_script()) return generate(frame, " ", begin);
    out_.map.copied(out_.text.size(), begin);
    for (size_t i = begin; i < end; ++i) out_.text += text_[i] == '\n' ? '\n' : ' ';
  }

  void gap(const Frame &frame, const Token &token) {
    if (frame.in_script())
      copy(token.gap_begin, token.begin);
    else if (token.gap_begin < token.begin)
      generate(frame, " ", token.gap_begin);
  }

  void emit(const Frame &frame, const Token &token, const Lexer &lexer) {
    gap(frame, token);
    if (frame.in_script())
      copy(token.begin, token.end);
    else
      generate(frame, lexer.text(token), token.begin);
  }

  [[noreturn]] void fail(const Frame &frame, const Token &token, const std::string &message, const Lexer &lexer) {
    std::string full = frame.in_script() || !frame.note ? message : message + " (" + *frame.note + ")";
    fail_at(*frame.file, token.begin, full, describe_token(lexer, token));
  }

  // A macro library (*.stpm in a tapset directory, as stap's): its @define
  // macros are seen by every script; it holds nothing else.
  void define_library_macros(const SourceFile &library) {
    Frame frame;
    frame.file = &library;
    Lexer lexer(library.text, 0, library.text.size());
    for (;;) {
      Token token = lexer.next();
      if (token.kind == TokenKind::End) return;
      if (token.kind != TokenKind::AtName || lexer.text(token) != "@define")
        fail(frame, token, "a macro library (.stpm) may only define macros (@define NAME %( ... %))", lexer);
      define(lexer, frame, token);
    }
  }

  // ---------------------------------------------------------- the token loop

  // Reads tokens until the end of the lexer's range or, when `stops` allows,
  // the `%:` / `%)` of the conditional opened at `open`; returns that token.
  Token process(Lexer &lexer, const Frame &frame, unsigned stops, const Token *open) {
    for (;;) {
      Token token = lexer.next();
      std::string_view spelled = lexer.text(token);
      switch (token.kind) {
        case TokenKind::End:
          if (open) unterminated(frame, *open, lexer);
          gap(frame, token);
          return token;
        case TokenKind::CondElse:
        case TokenKind::CondClose: {
          unsigned wanted = token.kind == TokenKind::CondElse ? kStopAtElse : kStopAtClose;
          if (!(stops & wanted))
            fail(frame, token,
                 open ? "unexpected '" + std::string(spelled) + "': this conditional already had its '%:'"
                      : "unexpected '" + std::string(spelled) + "' outside a preprocessor conditional",
                 lexer);
          gap(frame, token);
          blank(frame, token.begin, token.end);
          return token;
        }
        case TokenKind::CondThen:
          fail(frame, token,
               open ? "unexpected '%?': this conditional already had its '%?'"
                    : "unexpected '%?' outside a preprocessor condition",
               lexer);
        case TokenKind::CondOpen:
          conditional(lexer, frame, token);
          break;
        case TokenKind::AtName:
          at_name(lexer, frame, token, spelled.substr(1));
          break;
        case TokenKind::ArgNumber: {
          // As stap, $N stands for the argument's tokens, whatever they are:
          // `probe $1` with `begin`, `x = $1` with `3 + 4`. A number is
          // written in the one form the parser reads ("+5" is 5).
          const std::string &arg = script_arg(file_, token, spelled, args_);
          if (has_nested_argument(arg))
            fail(frame, token, "invalid nested substitution of command line arguments: argument " +
                                   std::string(spelled.substr(1)) + " holds a script argument of its own",
                 lexer);
          std::string number = numeric_arg_text(arg);
          if (!number.empty() && number[0] == '+') number.erase(0, 1);
          gap(frame, token);
          generate(frame, " " + (number.empty() ? arg : number) + " ", token.begin);
          break;
        }
        case TokenKind::ArgString:
          gap(frame, token);
          generate(frame, " " + quoted_string_literal(script_arg(file_, token, spelled, args_)) + " ", token.begin);
          break;
        case TokenKind::ArgCountNumber:
          gap(frame, token);
          generate(frame, " " + std::to_string(args_.size()) + " ", token.begin);
          break;
        case TokenKind::ArgCountString:
          gap(frame, token);
          generate(frame, " \"" + std::to_string(args_.size()) + "\" ", token.begin);
          break;
        default:
          emit(frame, token, lexer);
      }
    }
  }

  [[noreturn]] void unterminated(const Frame &frame, const Token &open, const Lexer &lexer) {
    fail(frame, open, "unterminated preprocessor conditional: missing '%)'", lexer);
  }

  // ---------------------------------------------------------- %( %? %: %)

  void conditional(Lexer &lexer, const Frame &frame, const Token &open) {
    Level level(*this, frame, open, lexer);
    gap(frame, open);
    ConditionScope scope{file_, target_, args_};
    bool chosen = evaluate_condition(lexer, open, scope);
    blank(frame, open.begin, lexer.position());
    if (chosen) {
      Token stop = process(lexer, frame, kStopAtElse | kStopAtClose, &open);
      if (stop.kind == TokenKind::CondElse) skip_branch(lexer, frame, kStopAtClose, open);
    } else {
      Token stop = skip_branch(lexer, frame, kStopAtElse | kStopAtClose, open);
      if (stop.kind == TokenKind::CondElse) process(lexer, frame, kStopAtClose, &open);
    }
  }

  // Blanks an unchosen branch, nested conditionals included, through the
  // `%:` or `%)` that ends it.
  Token skip_branch(Lexer &lexer, const Frame &frame, unsigned stops, const Token &open) {
    int depth = 0;
    for (;;) {
      Token token = lexer.next();
      blank(frame, token.gap_begin, token.end);
      switch (token.kind) {
        case TokenKind::End: unterminated(frame, open, lexer);
        case TokenKind::CondOpen: ++depth; break;
        case TokenKind::CondClose:
          if (depth == 0) return token;
          --depth;
          break;
        case TokenKind::CondElse:
          if (depth > 0) break;
          if (stops & kStopAtElse) return token;
          fail(frame, token, "unexpected '%:': this conditional already had its '%:'", lexer);
        case TokenKind::CondThen:
          // A nested conditional's `%?` is its own; a second one of this
          // conditional is an error even in the branch not taken, as in stap.
          if (depth == 0) fail(frame, token, "unexpected '%?': this conditional already had its '%?'", lexer);
          break;
        default: break;
      }
    }
  }

  // ---------------------------------------------------------- macros

  void at_name(Lexer &lexer, const Frame &frame, const Token &token, std::string_view name) {
    if (name == "define") return define(lexer, frame, token);
    if (frame.macro) {
      const auto &params = frame.macro->params;
      auto param = std::find(params.begin(), params.end(), name);
      if (param != params.end()) return expand_argument(frame, token, static_cast<size_t>(param - params.begin()));
    }
    auto macro = macros_.find(name);
    if (macro != macros_.end()) return expand_macro(lexer, frame, macro->second, token);
    emit(frame, token, lexer);  // an @-operator such as @count, for the grammar
  }

  void define(Lexer &lexer, const Frame &frame, const Token &at) {
    if (!frame.in_script()) fail(frame, at, "@define is not allowed inside a macro body", lexer);
    Token name = lexer.next();
    if (name.kind != TokenKind::Identifier) fail(frame, name, "expected macro name after @define", lexer);
    Macro macro;
    macro.name = std::string(lexer.text(name));
    macro.name_offset = name.begin;
    macro.file = frame.file;
    if (macro.name == "define") fail(frame, name, "attempt to redefine '@define'", lexer);
    // A script's own macro replaces a library's of the same name.
    if (auto found = macros_.find(macro.name); found != macros_.end()) {
      if (found->second.file == frame.file || frame.file != &file_)
        fail(frame, name, "attempt to redefine macro '@" + macro.name + "'", lexer);
      macros_.erase(found);
    }
    Token next = lexer.next();
    if (next.kind == TokenKind::Operator && lexer.text(next) == "(") {
      macro.takes_arguments = true;
      read_parameters(lexer, frame, macro);
      next = lexer.next();
    }
    if (next.kind != TokenKind::CondOpen)
      fail(frame, next, "expected '%(' to begin the body of macro '@" + macro.name + "'", lexer);
    macro.body_begin = next.end;
    int depth = 0;
    for (;;) {
      Token token = lexer.next();
      if (token.kind == TokenKind::End)
        fail(frame, next, "unterminated body of macro '@" + macro.name + "': missing '%)'", lexer);
      if (token.kind == TokenKind::CondOpen) ++depth;
      if (token.kind == TokenKind::CondClose && depth-- == 0) {
        macro.body_end = token.begin;
        break;
      }
    }
    if (frame.file == &file_) {  // in the script: the definition becomes blanks
      gap(frame, at);
      blank(frame, at.begin, lexer.position());
    }
    macros_.emplace(macro.name, std::move(macro));
  }

  // NAME(a, b): the parameter names after the opening parenthesis.
  void read_parameters(Lexer &lexer, const Frame &frame, Macro &macro) {
    Token first = lexer.peek();
    if (first.kind == TokenKind::Operator && lexer.text(first) == ")") {
      lexer.next();
      return;
    }
    for (;;) {
      Token param = lexer.next();
      if (param.kind != TokenKind::Identifier) fail(frame, param, "expected macro parameter name", lexer);
      macro.params.emplace_back(lexer.text(param));
      Token separator = lexer.next();
      if (separator.kind == TokenKind::Operator && lexer.text(separator) == ")") return;
      if (separator.kind != TokenKind::Operator || lexer.text(separator) != ",")
        fail(frame, separator, "expected ',' or ')' in macro parameter list", lexer);
    }
  }

  // The arguments of a use, split at top-level commas; the lexer is left
  // after the closing parenthesis.
  std::vector<ArgumentText> read_arguments(Lexer &lexer, const Frame &frame, const Macro &macro, const Token &use) {
    std::vector<ArgumentText> args;
    Token open = lexer.peek();
    if (open.kind != TokenKind::Operator || lexer.text(open) != "(")
      fail(frame, use, "macro '@" + macro.name + "' needs " + std::to_string(macro.params.size()) + " argument(s)",
           lexer);
    lexer.next();
    size_t start = open.end;
    int depth = 0;
    for (;;) {
      Token token = lexer.next();
      std::string_view t = lexer.text(token);
      if (token.kind == TokenKind::End)
        fail(frame, open, "unterminated argument list of macro '@" + macro.name + "'", lexer);
      if (token.kind != TokenKind::Operator) continue;
      if (t == "(" || t == "[") ++depth;
      if ((t == ")" || t == "]") && depth > 0) {
        --depth;
        continue;
      }
      if (depth == 0 && (t == "," || t == ")")) {
        args.push_back(ArgumentText{start, token.begin, lexer.source()});
        start = token.end;
        if (t == ")") break;
      }
    }
    // `@m()` passes no arguments, not one empty one.
    if (args.size() == 1 && Lexer(args[0].text, args[0].begin, args[0].end).next().kind == TokenKind::End)
      args.clear();
    if (args.size() != macro.params.size())
      fail(frame, use,
           "macro '@" + macro.name + "' takes " + std::to_string(macro.params.size()) + " argument(s), not " +
               std::to_string(args.size()),
           lexer);
    return args;
  }

  void expand_macro(Lexer &lexer, const Frame &frame, const Macro &macro, const Token &use) {
    if (frame.expanding(macro))
      fail(frame, use, "recursive macro invocation of '@" + macro.name + "'", lexer);
    Level level(*this, frame, use, lexer);
    if (++expansions_ > kMaxMacroExpansions)
      fail_at(file_, frame.in_script() ? use.begin : frame.use_offset,
              "macro expansion: more than " + std::to_string(kMaxMacroExpansions) + " macro uses expanded");
    gap(frame, use);
    Frame body;
    body.caller = &frame;
    body.macro = &macro;
    body.file = macro.file;
    if (macro.takes_arguments) body.args = read_arguments(lexer, frame, macro, use);
    body.use_offset = frame.in_script() ? use.begin : frame.use_offset;
    body.note = frame.in_script() ? std::make_shared<const std::string>("in expansion of macro '@" + macro.name +
                                                                        "' defined at " +
                                                                        location_in(*macro.file, macro.name_offset).str())
                                  : frame.note;
    generate(body, " ", use.begin);
    Lexer body_lexer(macro.file->text, macro.body_begin, macro.body_end);
    process(body_lexer, body, kStopAtEnd, nullptr);
    generate(body, " ", use.begin);
  }

  void expand_argument(const Frame &frame, const Token &use, size_t index) {
    gap(frame, use);
    const ArgumentText &arg = frame.args[index];
    generate(frame, " ", use.begin);
    Lexer arg_lexer(arg.text, arg.begin, arg.end);
    process(arg_lexer, *frame.caller, kStopAtEnd, nullptr);
    generate(frame, " ", use.begin);
  }
};

}  // namespace

PreprocessedSource preprocess(const SourceFile &file, const PreprocessOptions &options) {
  return Preprocessor(file, options).run();
}

}  // namespace ntap
