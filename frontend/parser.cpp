// Script text -> AST: runs the PEGTL grammar (frontend/grammar.h) into a parse
// tree, then converts the tree into the ast:: nodes of frontend/ast.h.
//
// The parse tree keeps only the nodes the conversion needs (names, literals,
// operators and one node per construct); expression precedence levels with a
// single operand are folded away, so `x` is one node, not fifteen.
#include "frontend/parser.h"

#include <cctype>
#include <cstdio>

#include "frontend/ast_builder.h"
#include "frontend/preprocess_lexer.h"

namespace ntap::parsing {

namespace pg = tao::pegtl;

namespace {

template <typename Rule>
using selector = pt::selector<
    Rule,
    pt::store_content::on<g::name_text, g::number_text, g::string_body, g::target_name_text, g::field_name_text,
                          g::at_name_text, g::component_name_text, g::type_name_text, g::cast_pretty_text>,
    pt::remove_content::on<
        // expressions
        g::string_literal, g::target_var, g::target_subscript, g::autocast_members, g::cast_expr, g::cast_type, g::address_of, g::at_expr, g::at_with_members, g::at_bucket, g::call_or_symbol, g::call_args, g::index_keys,
        g::wildcard_key, g::prefix_crement, g::unary_prefix, g::in_multi, g::array_name,
        // operators
        g::op_assign, g::op_add_assign, g::op_sub_assign, g::op_mul_assign, g::op_div_assign, g::op_mod_assign,
        g::op_shl_assign, g::op_shr_assign, g::op_and_assign, g::op_or_assign, g::op_xor_assign,
        g::op_concat_assign, g::op_oror, g::op_andand, g::op_bitor, g::op_bitxor, g::op_bitand, g::op_le, g::op_ge,
        g::op_eq, g::op_ne, g::op_lt, g::op_gt, g::op_regex_match, g::op_regex_nomatch, g::op_shl, g::op_shr, g::op_ushr, g::op_concat, g::op_plus, g::op_minus,
        g::op_mul, g::op_div, g::op_mod, g::op_not, g::op_bitnot, g::op_increment, g::op_decrement,
        g::op_stats_add,
        // statements
        g::block, g::empty_statement, g::if_statement, g::while_statement, g::for_statement, g::for_init,
        g::for_cond, g::for_step, g::foreach_statement, g::foreach_value, g::foreach_key, g::foreach_array, g::foreach_slice, g::foreach_sort_stat,
        g::foreach_extractor,
        g::foreach_limit, g::sort_ascending, g::sort_descending, g::delete_statement, g::try_statement, g::catch_variable, g::break_statement,
        g::continue_statement, g::next_statement, g::return_statement, g::expression_statement,
        // top level
        g::probe_declaration, g::probe_point, g::probe_component, g::probe_alternatives, g::probe_alternative, g::probe_number, g::negative_sign,
        g::optional_marker, g::sufficient_marker, g::probe_condition, g::alias_definition, g::alias_prologue,
        g::alias_epilogue, g::function_declaration, g::function_params, g::function_param, g::type_annotation,
        g::global_declaration, g::global_variable, g::global_wrap, g::global_size, g::global_init,
        g::global_negative, g::private_declaration>,
    pt::fold_one::on<g::expression, g::assignment, g::ternary, g::logical_or, g::logical_and, g::bit_or,
                     g::bit_xor, g::bit_and, g::in_single, g::comparison, g::shift, g::concatenation,
                     g::additive, g::multiplicative, g::postfix_crement, g::paren_expr>>;

}  // namespace

// "saw: ..." text for the token starting at `offset`, in stap's wording:
// identifier 'x', keyword 'if', number '12', string "a", operator '}'.
std::string describe_token_at(std::string_view text, size_t offset) {
  if (offset >= text.size()) return "end of file";
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; };
  const char first = text[offset];
  if (std::isalpha(static_cast<unsigned char>(first)) || first == '_' || first == '$' || first == '@') {
    size_t end = offset + 1;
    while (end < text.size() && is_word(text[end])) ++end;
    std::string word(text.substr(offset, end - offset));
    static const char *const keywords[] = {"probe", "global", "function", "if",     "else",  "while",
                                           "for",   "foreach", "in",      "limit",  "delete", "break",
                                           "continue", "next", "return",  "try",    "catch", "private"};
    for (const char *k : keywords)
      if (word == k) return "keyword '" + word + "'";
    return "identifier '" + word + "'";
  }
  if (std::isdigit(static_cast<unsigned char>(first))) {
    size_t end = offset + 1;
    while (end < text.size() && is_word(text[end])) ++end;
    return "number '" + std::string(text.substr(offset, end - offset)) + "'";
  }
  if (first == '"') {
    size_t end = offset + 1;
    while (end < text.size() && text[end] != '"' && text[end] != '\n') end += text[end] == '\\' ? 2 : 1;
    end = std::min(end + 1, text.size());
    std::string_view literal = text.substr(offset, end - offset);
    if (!literal.empty() && literal.back() == '\n') literal.remove_suffix(1);
    return "string " + std::string(literal);
  }
  // Longest operator first.
  static const char *const operators[] = {
      "<<<", ">>>", "<<=", ">>=", "->", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", ".=", "==",
      "!=",  "<=",  ">=",  "&&", "||", "<<", ">>", "%{", "%}", "%(", "%)", "%?", "%:", "=~", "!~"};
  for (const char *op : operators)
    if (text.substr(offset).rfind(op, 0) == 0) return std::string("operator '") + op + "'";
  if (std::ispunct(static_cast<unsigned char>(first))) return std::string("operator '") + first + "'";
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(first));
  return std::string("junk character ") + hex;
}

// An error inside a macro expansion is located at the macro's use; the note
// names the macro and where it was defined.
std::string with_expansion_note(const PreprocessedSource &source, const std::string &message, size_t offset) {
  std::string note = source.map.expansion_note(offset);
  return note.empty() ? message : message + " (" + note + ")";
}

// The whole script: probes, aliases, functions and globals in file order.
std::unique_ptr<Program> AstBuilder::program(const Node &root) {
  auto prog = std::make_unique<Program>();
  for (const auto &child : root.children) {
    if (child->is_type<g::probe_declaration>())
      probe_declaration(*child, *prog);
    else if (child->is_type<g::function_declaration>())
      prog->functions.push_back(function(*child));
    else if (child->is_type<g::private_declaration>())
      private_declaration(*child, *prog);
    else
      globals(*child, *prog);
  }
  for (size_t i = 0; i < prog->functions.size(); ++i) prog->functions[i]->id = static_cast<uint32_t>(i);
  for (size_t i = 0; i < prog->probes.size(); ++i) prog->probes[i]->id = static_cast<uint32_t>(i);
  for (size_t i = 0; i < prog->globals.size(); ++i) prog->globals[i]->id = static_cast<uint32_t>(i);
  return prog;
}


}  // namespace ntap::parsing

namespace ntap {

using namespace parsing;

std::unique_ptr<Program> parse_script(const SourceFile &file) { return parse_script(file, ParseOptions{}); }

std::unique_ptr<Program> parse_script(const SourceFile &file, const ParseOptions &options) {
  // %( %) conditionals, @define macros and $1/@1 arguments are resolved
  // first; the grammar reads the result.
  PreprocessedSource source = preprocess(file, options.preprocessor);
  pg::memory_input<> in(source.text.data(), source.text.size(), file.name);
  std::unique_ptr<Node> root;
  try {
    g::nesting_depth = 0;
    root = pt::parse<g::script, selector, pg::nothing, g::error_control>(in);
  } catch (const pg::parse_error &error) {
    const size_t at = error.positions().front().byte;
    Location where = source.map.locate(at);
    std::string message = with_expansion_note(source, std::string(error.message()), at);
    if (at >= source.text.size()) {
      // Nothing to show as "saw": say that the script ended too early.
      if (message.rfind("expected", 0) == 0) message = "unexpected end of file, " + message;
      throw CompileError(ErrorKind::Parse, message, where);
    }
    throw CompileError(ErrorKind::Parse, message, where, describe_token_at(source.text, at));
  }
  // The grammar commits to every construct with must<>, so it either succeeds or raises.
  if (!root) throw CompileError(ErrorKind::Parse, "syntax error", Location{&file, 1, 1});
  if (options.user_script && root->children.empty()) {
    // stap's wording tells a blank file from one its preprocessing emptied.
    pp::Lexer lexer(file.text, 0, file.text.size());
    const bool blank = lexer.next().kind == pp::TokenKind::End;
    throw CompileError(ErrorKind::Parse,
                       blank ? "input file is empty" : "input file is empty after preprocessing",
                       Location{&file, 1, 1});
  }
  check_nesting(*root, source);
  return AstBuilder(file, source).program(*root);
}

}  // namespace ntap
