// Loading the tapset directories into a program (see tapset.h).
#include "frontend/tapset.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "frontend/parser.h"

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

std::vector<std::string> tapset_files(const std::string &dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    // SystemTap's own tapset files are .stp.
    if ((it->path().extension() == ".ntp" || it->path().extension() == ".stp") && it->is_regular_file(ec))
      files.push_back(it->path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

void load_tapsets(ast::Program &program, SourceManager &sources, const std::vector<std::string> &dirs,
                  const PreprocessTarget *target) {
  ParseOptions options;
  options.preprocessor.target = target;
  for (const std::string &dir : dirs) {
    for (const std::string &path : tapset_files(dir)) {
      std::unique_ptr<ast::Program> library = parse_script(sources.load(path), options);
      if (!library->probes.empty())
        throw CompileError(ErrorKind::Semantic, "a tapset file may only define functions and probe aliases",
                           library->probes.front()->loc, "keyword 'probe'");
      // A tapset keeps its own state in private globals; a public global
      // would be shared with every script that loads the tapset.
      for (auto &g : library->globals) {
        if (!g->private_to)
          throw CompileError(ErrorKind::Semantic,
                             "a tapset file may only define functions, probe aliases and private globals", g->decl,
                             "keyword 'global'");
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
    }
  }
  for (size_t i = 0; i < program.functions.size(); ++i) program.functions[i]->id = static_cast<uint32_t>(i);
  for (size_t i = 0; i < program.globals.size(); ++i) program.globals[i]->id = static_cast<uint32_t>(i);
}

}  // namespace ntap
