// Loading the tapset directories into a program (see tapset.h).
#include "frontend/tapset.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <filesystem>
#include <system_error>

#include "frontend/parser.h"
#include "frontend/walk.h"

namespace ntap {

namespace fs = std::filesystem;

std::vector<std::string> tapset_directories(const std::string &installed_dir, const std::string &source_dir,
                                            const std::vector<std::string> &include_dirs) {
  std::vector<std::string> dirs;
  std::error_code ec;
  if (!installed_dir.empty() && fs::is_directory(installed_dir, ec))
    dirs.push_back(installed_dir);
  else if (!source_dir.empty() && fs::is_directory(source_dir, ec))
    dirs.push_back(source_dir);
  dirs.insert(dirs.end(), include_dirs.begin(), include_dirs.end());
  return dirs;
}

namespace {

// The files of `dir` with one of `extensions`, sorted by name.
std::vector<std::string> files_in(const std::string &dir, std::initializer_list<const char *> extensions) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    for (const char *extension : extensions)
      if (it->path().extension() == extension && it->is_regular_file(ec)) files.push_back(it->path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// SystemTap's own tapset files are .stp.
std::vector<std::string> tapset_files(const std::string &dir) { return files_in(dir, {".ntp", ".stp"}); }

}  // namespace

namespace {

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// A forward-only reader over a file's text that steps over comments (`//`,
// `#`, `/* */`) and string literals, which may mention any name.
class DefinitionScanner {
 public:
  explicit DefinitionScanner(std::string_view text) : text_(text) {}

  TapsetDefinitions scan() {
    TapsetDefinitions found;
    while (skip_to_token()) {
      if (!is_ident_start(text_[at_])) {
        ++at_;
        continue;
      }
      std::string_view word = identifier();
      if (word == "function") {
        if (skip_to_token() && is_ident_start(text_[at_])) found.functions.emplace_back(identifier());
      } else if (word == "probe") {
        alias_heads(found.alias_heads);
      } else if (word == "global" && previous_ != "private") {
        global_names(found.globals);
      }
      previous_ = word;
    }
    return found;
  }

 private:
  // Moves past blanks, comments and strings to the next other character;
  // false at the end of the text.
  bool skip_to_token() {
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++at_;
      } else if (c == '#' || text_.substr(at_, 2) == "//") {
        size_t end = text_.find('\n', at_);
        at_ = end == std::string_view::npos ? text_.size() : end + 1;
      } else if (text_.substr(at_, 2) == "/*") {
        size_t end = text_.find("*/", at_ + 2);
        at_ = end == std::string_view::npos ? text_.size() : end + 2;
      } else if (c == '"') {
        for (++at_; at_ < text_.size() && text_[at_] != '"'; ++at_)
          if (text_[at_] == '\\') ++at_;
        ++at_;
      } else {
        return true;
      }
    }
    return false;
  }

  std::string_view identifier() {
    size_t begin = at_;
    while (at_ < text_.size() && is_ident_char(text_[at_])) ++at_;
    return text_.substr(begin, at_ - begin);
  }

  // After `probe`: the names up to `=` or `+=` are aliases; a `{` first
  // opens a probe's body (which the full parse rejects in a tapset file).
  void alias_heads(std::vector<std::string> &heads) {
    std::vector<std::string> names(1);
    int depth = 0;
    while (skip_to_token()) {
      char c = text_[at_++];
      if (depth == 0 && (c == '=' || c == '+')) {
        for (std::string &name : names)
          if (!name.empty()) heads.push_back(name.substr(0, name.find_first_of(".(")));
        return;
      }
      if (depth == 0 && (c == '{' || c == '}' || c == ';')) return;
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (depth == 0 && c == ',')
        names.emplace_back();
      else if (depth == 0 && c != ')')
        names.back() += c;
    }
  }

  // After `global`: `a, b[10], c = 5, d%` up to the end of the line.
  void global_names(std::vector<std::string> &names) {
    for (;;) {
      while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t')) ++at_;
      if (at_ >= text_.size() || !is_ident_start(text_[at_])) return;
      names.emplace_back(identifier());
      // Past a size or an initial value to the next `,`, or the line's end.
      while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != '\n') {
        if (text_[at_] == '"')
          for (++at_; at_ < text_.size() && text_[at_] != '"'; ++at_)
            if (text_[at_] == '\\') ++at_;
        ++at_;
      }
      if (at_ >= text_.size() || text_[at_] == '\n') return;
      ++at_;  // the comma; the next name may be on the next line
      skip_to_token();
    }
  }

  std::string_view text_;
  size_t at_ = 0;
  std::string_view previous_;  // the word before this one (`private global`)
};

// The names a piece of the program asks the tapset for: the functions it
// calls and the first components of the probe points it names.
struct Wanted {
  std::set<std::string> calls;
  std::set<std::string> point_heads;
  // Variables named in probes, functions (besides their parameters) and
  // alias bodies, which a file's public global may be (stap's symbol
  // resolution looks for an undeclared one in the tapset); `declared` are
  // the script's own globals, which need no file.
  std::set<std::string> variables;
  std::set<std::string> declared;

  void add_point(const ast::ProbePoint &point) {
    if (!point.components.empty()) point_heads.insert(point.components.front().name);
  }
  void add_code(ast::Stmt *body, ast::ExprPtr *condition, const std::set<std::string> &parameters = {}) {
    auto variable = [&](const std::string &name) {
      if (!parameters.count(name)) variables.insert(name);
    };
    auto note = [&](ast::ExprPtr &slot) {
      switch (slot->kind) {
        case ast::ExprKind::Call: calls.insert(ast::cast<ast::CallExpr>(*slot).name); break;
        case ast::ExprKind::Symbol: variable(ast::cast<ast::SymbolExpr>(*slot).name); break;
        case ast::ExprKind::Index: variable(ast::cast<ast::IndexExpr>(*slot).name); break;
        case ast::ExprKind::InArray: variable(ast::cast<ast::InArrayExpr>(*slot).name); break;
        default: break;
      }
    };
    if (body) {
      ast::walk_exprs(*body, note);
      ast::walk_stmts(*body, [&](ast::Stmt &s) {
        if (s.kind == ast::StmtKind::Foreach) variable(ast::cast<ast::ForeachStmt>(s).array_name);
      });
    }
    if (condition && *condition) ast::walk_exprs(*condition, note);
  }
  void add_program(ast::Program &program) {
    for (auto &probe : program.probes) {
      for (const auto &point : probe->points) add_point(point);
      add_code(probe->body.get(), &probe->condition);
    }
    for (auto &alias : program.aliases) {
      for (const auto &point : alias->points) add_point(point);
      add_code(alias->body.get(), &alias->condition);
    }
    for (auto &function : program.functions) {
      std::set<std::string> parameters;
      parameters.insert(function->params.begin(), function->params.end());
      add_code(function->body.get(), nullptr, parameters);
    }
    for (auto &global : program.globals)
      if (!global->private_to) declared.insert(global->name);
  }

  // Whether a point head (which may hold `*` wildcards, or `{a,b}`
  // alternatives, taken as a wildcard here) could name alias head `head`.
  bool names_alias(const std::string &head) const {
    for (const std::string &pattern : point_heads) {
      if (pattern.find('{') != std::string::npos) return true;
      if (::fnmatch(pattern.c_str(), head.c_str(), 0) == 0) return true;
      // `*sys**pen` may span dots (syscall.open): its part before `**`,
      // then anything, must match the head.
      if (const size_t span = pattern.find("**"); span != std::string::npos) {
        const std::string head_pattern = pattern.substr(0, span) + "*";
        if (::fnmatch(head_pattern.c_str(), head.c_str(), 0) == 0) return true;
      }
    }
    return false;
  }
  bool needs(const TapsetDefinitions &defs) const {
    for (const std::string &f : defs.functions)
      if (calls.count(f)) return true;
    for (const std::string &head : defs.alias_heads)
      if (names_alias(head)) return true;
    for (const std::string &global : defs.globals)
      if (variables.count(global) && !declared.count(global)) return true;
    return false;
  }
};

// Parses one tapset file and moves its functions, aliases and globals into
// `program`.
void add_tapset_file(ast::Program &program, const SourceFile &file, const ParseOptions &options, Wanted &wanted) {
  std::unique_ptr<ast::Program> library = parse_script(file, options);
  wanted.add_program(*library);
  // A tapset keeps its own state in private globals. A public one is shared
  // with the script, as stap's MIB tapsets share the arrays their aliases
  // count into (ipmib's InReceives) with the scripts that print them. A
  // script's own global of the same name is the one both use, as a script's
  // function replaces a tapset's.
  for (auto &g : library->globals) {
    if (!g->private_to && program.find_global(g->name, nullptr)) continue;
    g->from_tapset = true;
    program.globals.push_back(std::move(g));
  }
  for (auto &f : library->functions) {
    f->from_tapset = true;
    program.functions.push_back(std::move(f));
  }
  for (auto &a : library->aliases) {
    a->from_tapset = true;
    program.aliases.push_back(std::move(a));
  }
  // A file's probes come with it, as stap's do (a begin probe filling its
  // tables); they run after the script's own of the same kind and priority.
  for (auto &p : library->probes) program.probes.push_back(std::move(p));
}

}  // namespace

TapsetDefinitions scan_tapset_definitions(std::string_view text) { return DefinitionScanner(text).scan(); }

std::vector<const SourceFile *> load_macro_libraries(SourceManager &sources, const std::vector<std::string> &dirs) {
  std::vector<const SourceFile *> libraries;
  for (const std::string &dir : dirs)
    for (const std::string &path : files_in(dir, {".stpm"})) libraries.push_back(&sources.load(path));
  return libraries;
}

std::vector<const SourceFile *> load_tapsets(ast::Program &program, SourceManager &sources,
                                             const std::vector<std::string> &dirs, const PreprocessTarget *target,
                                             const std::vector<const SourceFile *> *macro_libraries) {
  ParseOptions options;
  options.preprocessor.target = target;
  options.preprocessor.macro_libraries =
      macro_libraries ? *macro_libraries : load_macro_libraries(sources, dirs);
  struct Candidate {
    const SourceFile *file;
    TapsetDefinitions defines;
    bool loaded = false;
  };
  std::vector<Candidate> candidates;
  for (const std::string &dir : dirs)
    for (const std::string &path : tapset_files(dir)) {
      const SourceFile &file = sources.load(path);
      candidates.push_back({&file, scan_tapset_definitions(file.text)});
    }
  Wanted wanted;
  wanted.add_program(program);
  // Each file read may want more; stop once a whole round reads nothing.
  for (bool grew = true; grew;) {
    grew = false;
    for (Candidate &c : candidates) {
      if (c.loaded || !wanted.needs(c.defines)) continue;
      c.loaded = grew = true;
      add_tapset_file(program, *c.file, options, wanted);
    }
  }
  for (size_t i = 0; i < program.functions.size(); ++i) program.functions[i]->id = static_cast<uint32_t>(i);
  for (size_t i = 0; i < program.globals.size(); ++i) program.globals[i]->id = static_cast<uint32_t>(i);
  std::vector<const SourceFile *> unread;
  for (const Candidate &c : candidates)
    if (!c.loaded) unread.push_back(c.file);
  return unread;
}

void check_tapset_files(const std::vector<const SourceFile *> &unread, const std::vector<std::string> &dirs,
                        const PreprocessTarget *target, const std::vector<const SourceFile *> &macro_libraries) {
  ParseOptions options;
  options.preprocessor.target = target;
  options.preprocessor.macro_libraries = macro_libraries;
  // A directory as written ("./lib/", "lib") and as a file's parent, alike.
  auto directory = [](const fs::path &dir) { return (dir / "").lexically_normal(); };
  std::set<fs::path> checked;
  for (const std::string &dir : dirs) checked.insert(directory(dir));
  for (const SourceFile *file : unread) {
    if (!checked.count(directory(fs::path(file->name).parent_path()))) continue;
    try {
      parse_script(*file, options);
    } catch (const CompileError &e) {
      warn(e.location(), "tapset file '" + file->name + "' has errors, and will be skipped: " + e.message());
    }
  }
}

namespace {

// `text` as a string literal of the language.
std::string quoted(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + '"';
}

}  // namespace

void add_argument_vector(ast::Program &program, SourceManager &sources, const std::vector<std::string> &script_args) {
  if (program.find_global("argc") || program.find_global("argv")) return;
  bool named = false;
  auto note = [&named](ast::ExprPtr &slot) {
    if (auto *symbol = ast::dyn_cast<ast::SymbolExpr>(*slot))
      named = named || symbol->name == "argc" || symbol->name == "argv";
    else if (auto *index = ast::dyn_cast<ast::IndexExpr>(*slot))
      named = named || index->name == "argv";
  };
  for (auto &probe : program.probes) ast::walk_exprs(*probe->body, note);
  for (auto &function : program.functions) ast::walk_exprs(*function->body, note);
  if (!named) return;
  // stap's argv tapset: argv[1] to argv[32] always exist, "" past the last
  // argument, and are filled before any other probe runs (its `probe init`).
  constexpr size_t kStapSlots = 32;
  std::string text = "global argc = " + std::to_string(script_args.size()) + "\nglobal argv\n" +
                     "probe begin(-9223372036854775807) {\n";
  for (size_t i = 0; i < std::max(kStapSlots, script_args.size()); ++i)
    text += "  argv[" + std::to_string(i + 1) + "] = " + quoted(i < script_args.size() ? script_args[i] : "") + "\n";
  text += "}\n";
  std::unique_ptr<ast::Program> generated = parse_script(sources.add("<argv>", std::move(text)), ParseOptions{});
  for (auto &g : generated->globals) {
    g->from_tapset = true;  // never shown at exit, as stap's tapset globals
    g->id = static_cast<uint32_t>(program.globals.size());
    program.globals.push_back(std::move(g));
  }
  for (auto &probe : generated->probes) {
    probe->id = static_cast<uint32_t>(program.probes.size());
    program.probes.push_back(std::move(probe));
  }
}

}  // namespace ntap
