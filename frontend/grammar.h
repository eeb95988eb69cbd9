// The PEGTL grammar of the ntap script language (SystemTap syntax).
//
// Included only by parser.cpp. The grammar is written so that it never has to
// backtrack over a large construct: every alternative is decided by its first
// token, and `must<>` commits as soon as a construct is recognised, so a
// syntax error is reported at the first token that does not fit, with a
// message naming what was expected (see error_message below).
//
// Tokens swallow the whitespace and comments that follow them; parse-tree
// nodes therefore begin exactly at their first token.
//
// Expression precedence, lowest to highest, as in SystemTap's parse.cxx:
//   1  = += -= *= /= %= <<= >>= &= |= ^= .=   right-assoc
//   2  ?:                                       right-assoc
//   3  ||
//   4  &&
//   5  |
//   6  ^
//   7  &
//   8  in          k in a, [k1, k2] in a  (keys are comparisons)
//   9  < > <= >= == !=
//   10 << >>
//   11 .           string concatenation: "a" . 1 + 2 is "a" . (1 + 2)
//   12 + -
//   13 * / %
//   14 unary - + ! ~, prefix ++ --
//   15 postfix ++ --
//   16 primary: literals, ( e ), x, a[k..], f(a..), $v->f, @count(e) ...
// `target <<< value` is a statement, not an expression.
#pragma once
#include <cctype>

#include <tao/pegtl.hpp>

namespace ntap::grammar {

namespace pg = tao::pegtl;
using namespace pg;

// ---------------------------------------------------------------- whitespace
struct line_comment : seq<sor<one<'#'>, two<'/'>>, until<eolf>> {};
struct block_comment_end : string<'*', '/'> {};
struct block_comment : seq<string<'/', '*'>, until<block_comment_end, any>> {};
// An unterminated /* runs to the end of the file: report it where it opened.
struct unterminated_comment : seq<at<string<'/', '*'>>, raise<unterminated_comment>> {};
struct sp : star<sor<plus<space>, line_comment, block_comment, unterminated_comment>> {};

template <typename Rule>
struct tok : seq<Rule, sp> {};

// Parse-tree nodes are allocated when a selected rule is tried, so operators
// are only tried behind a cheap look at the next character (`First`).
template <typename Rule, char... First>
struct guarded : seq<at<one<First...>>, Rule> {};

struct comma;
// One or more Rule separated by commas, committed from the first element.
template <typename Rule>
struct must_list : seq<must<Rule>, star<comma, must<Rule>>> {};

// ---------------------------------------------------------------- keywords
struct kw_probe : seq<TAO_PEGTL_KEYWORD("probe"), sp> {};
struct kw_global : seq<TAO_PEGTL_KEYWORD("global"), sp> {};
struct kw_function : TAO_PEGTL_KEYWORD("function") {};
struct kw_if : seq<TAO_PEGTL_KEYWORD("if"), sp> {};
struct kw_else : seq<TAO_PEGTL_KEYWORD("else"), sp> {};
struct kw_while : seq<TAO_PEGTL_KEYWORD("while"), sp> {};
struct kw_for : seq<TAO_PEGTL_KEYWORD("for"), sp> {};
struct kw_foreach : seq<TAO_PEGTL_KEYWORD("foreach"), sp> {};
struct kw_in : seq<TAO_PEGTL_KEYWORD("in"), sp> {};
struct kw_limit : seq<TAO_PEGTL_KEYWORD("limit"), sp> {};
struct kw_delete : seq<TAO_PEGTL_KEYWORD("delete"), sp> {};
struct kw_break : seq<TAO_PEGTL_KEYWORD("break"), sp> {};
struct kw_continue : seq<TAO_PEGTL_KEYWORD("continue"), sp> {};
struct kw_next : seq<TAO_PEGTL_KEYWORD("next"), sp> {};
struct kw_return : seq<TAO_PEGTL_KEYWORD("return"), sp> {};
struct kw_try : seq<TAO_PEGTL_KEYWORD("try"), sp> {};
struct kw_catch : seq<TAO_PEGTL_KEYWORD("catch"), sp> {};

struct any_keyword
    : sor<TAO_PEGTL_KEYWORD("probe"), TAO_PEGTL_KEYWORD("global"), TAO_PEGTL_KEYWORD("function"),
          TAO_PEGTL_KEYWORD("if"), TAO_PEGTL_KEYWORD("else"), TAO_PEGTL_KEYWORD("while"),
          TAO_PEGTL_KEYWORD("for"), TAO_PEGTL_KEYWORD("foreach"), TAO_PEGTL_KEYWORD("in"),
          TAO_PEGTL_KEYWORD("limit"), TAO_PEGTL_KEYWORD("delete"), TAO_PEGTL_KEYWORD("break"),
          TAO_PEGTL_KEYWORD("continue"), TAO_PEGTL_KEYWORD("next"), TAO_PEGTL_KEYWORD("return"),
          TAO_PEGTL_KEYWORD("try"), TAO_PEGTL_KEYWORD("catch"), TAO_PEGTL_KEYWORD("private")> {};

// ---------------------------------------------------------------- punctuation
struct lparen : tok<one<'('>> {};
struct rparen : tok<one<')'>> {};
struct lbrace : tok<one<'{'>> {};
struct rbrace : tok<one<'}'>> {};
struct lbracket : tok<one<'['>> {};
struct rbracket : tok<one<']'>> {};
struct comma : tok<one<','>> {};
struct semicolon : tok<one<';'>> {};
struct question : tok<one<'?'>> {};
struct colon : tok<one<':'>> {};
struct arrow : tok<string<'-', '>'>> {};
struct dot : tok<seq<one<'.'>, not_at<one<'='>>>> {};

// ---------------------------------------------------------------- operators
// Each operator is its own rule so the parse tree records which one matched.
// The not_at<> guards keep a short operator from eating a prefix of a longer one.
struct op_assign : tok<seq<one<'='>, not_at<one<'=', '~'>>>> {};
struct op_add_assign : tok<string<'+', '='>> {};
struct op_sub_assign : tok<string<'-', '='>> {};
struct op_mul_assign : tok<string<'*', '='>> {};
struct op_div_assign : tok<string<'/', '='>> {};
struct op_mod_assign : tok<string<'%', '='>> {};
struct op_shl_assign : tok<string<'<', '<', '='>> {};
struct op_shr_assign : tok<string<'>', '>', '='>> {};
struct op_and_assign : tok<string<'&', '='>> {};
struct op_or_assign : tok<string<'|', '='>> {};
struct op_xor_assign : tok<string<'^', '='>> {};
struct op_concat_assign : tok<string<'.', '='>> {};
struct assign_op
    : sor<op_assign, op_add_assign, op_sub_assign, op_mul_assign, op_div_assign, op_mod_assign,
          op_shl_assign, op_shr_assign, op_and_assign, op_or_assign, op_xor_assign, op_concat_assign> {};

struct op_oror : tok<two<'|'>> {};
struct op_andand : tok<two<'&'>> {};
struct op_bitor : tok<seq<one<'|'>, not_at<one<'|', '='>>>> {};
struct op_bitxor : tok<seq<one<'^'>, not_at<one<'='>>>> {};
struct op_bitand : tok<seq<one<'&'>, not_at<one<'&', '='>>>> {};
struct op_le : tok<string<'<', '='>> {};
struct op_ge : tok<string<'>', '='>> {};
struct op_eq : tok<two<'='>> {};
struct op_ne : tok<string<'!', '='>> {};
struct op_lt : tok<seq<one<'<'>, not_at<one<'<', '='>>>> {};
struct op_gt : tok<seq<one<'>'>, not_at<one<'>', '='>>>> {};
struct op_regex_match : tok<string<'=', '~'>> {};
struct op_regex_nomatch : tok<string<'!', '~'>> {};
struct comparison_op : sor<op_le, op_ge, op_eq, op_ne, op_lt, op_gt, op_regex_match, op_regex_nomatch> {};
struct op_shl : tok<seq<two<'<'>, not_at<one<'<', '='>>>> {};
struct op_shr : tok<seq<two<'>'>, not_at<one<'>', '='>>>> {};
struct op_ushr : tok<string<'>', '>', '>'>> {};
struct shift_op : sor<op_shl, op_shr, op_ushr> {};
struct op_concat : dot {};
struct op_plus : tok<seq<one<'+'>, not_at<one<'+', '='>>>> {};
struct op_minus : tok<seq<one<'-'>, not_at<one<'-', '=', '>'>>>> {};
struct additive_op : sor<op_plus, op_minus> {};
struct op_mul : tok<seq<one<'*'>, not_at<one<'='>>>> {};
struct op_div : tok<seq<one<'/'>, not_at<one<'='>>>> {};
struct op_mod : tok<seq<one<'%'>, not_at<one<'=', '{', '('>>>> {};
struct multiplicative_op : sor<op_mul, op_div, op_mod> {};
struct op_not : tok<seq<one<'!'>, not_at<one<'='>>>> {};
struct op_bitnot : tok<one<'~'>> {};
struct unary_op : sor<op_plus, op_minus, op_not, op_bitnot> {};
struct op_increment : tok<two<'+'>> {};
struct op_decrement : tok<two<'-'>> {};
struct crement_op : sor<op_increment, op_decrement> {};
struct op_stats_add : tok<string<'<', '<', '<'>> {};

// ---------------------------------------------------------------- literals
// Numbers are lexed greedily like stap's lexer (digits and letters) and
// validated when the AST is built, so `08` or `12ab` get a precise message.
struct number_text : seq<digit, star<identifier_other>> {};
struct number : tok<number_text> {};

struct escape : seq<one<'\\'>, not_one<'\n'>> {};
struct string_body : star<sor<escape, not_one<'"', '\\', '\n'>>> {};
struct unterminated_string : seq<at<one<'"'>>, raise<unterminated_string>> {};
struct string_piece : sor<seq<one<'"'>, string_body, one<'"'>, sp>, unterminated_string> {};
// Adjacent literals concatenate: "a" "b" is "ab".
struct string_literal : plus<string_piece> {};

// ---------------------------------------------------------------- names
// As in stap, a `$` may continue a name (`a$b` is one identifier).
struct name_text : seq<not_at<any_keyword>, identifier_first, star<sor<identifier_other, one<'$'>>>> {};
struct name : tok<name_text> {};

struct expression;

// $name->field[index]->field (field names may be keywords).
struct target_name_text : seq<one<'$'>, plus<sor<identifier_other, one<'$'>>>> {};
// A trailing `$` or `$$` asks for the member pretty-printed ($skb->dev$).
struct field_name_text : seq<identifier, rep_max<2, one<'$'>>> {};
struct field_name : tok<field_name_text> {};
struct target_field : seq<arrow, must<field_name>> {};
struct target_subscript : seq<lbracket, must<expression>, must<rbracket>> {};
// After an element (`$arr[0]$`, `->comm[i]$$`) the `$`s stand alone.
struct cast_pretty_text : seq<one<'$'>, opt<one<'$'>>, not_at<identifier_other>> {};
struct cast_pretty : tok<cast_pretty_text> {};
struct target_components : seq<star<sor<target_field, target_subscript>>, opt<cast_pretty>> {};
struct target_var : seq<tok<target_name_text>, target_components> {};

// @cast(pointer, "type"[, "module"])->field...: the pointer read as the named
// kernel struct or union.
struct cast_keyword : seq<one<'@'>, TAO_PEGTL_KEYWORD("cast")> {};
struct cast_type : string_literal {};
// @cast(p, "type")$ / $$: the whole struct pretty-printed.
struct cast_expr
    : seq<tok<cast_keyword>, must<lparen>, must<expression>, must<comma>, must<cast_type>,
          opt<comma, must<cast_type>>, must<rparen>, sor<cast_pretty, target_components>> {};


// @count(e), @defined(e), @choose_defined(a, b), @entry(e)...; which @-names
// exist and how many operands each takes is checked when the AST is built.
struct at_name_text : seq<one<'@'>, identifier> {};
struct at_operands : seq<lparen, must_list<expression>, must<rparen>> {};
// @hist_log(x)[i]: one bucket of a histogram.
struct at_bucket : seq<lbracket, must<expression>, must<rbracket>> {};
struct at_expr : seq<tok<at_name_text>, must<at_operands>, opt<at_bucket>> {};

struct call_args : seq<lparen, opt<list_must<expression, comma>>, must<rparen>> {};
// a[*, 5]: `*` matches any key at that position (delete and `in`; the
// resolver rejects it anywhere else). No expression starts with `*`.
struct wildcard_key : tok<one<'*'>> {};
struct index_key : sor<wildcard_key, expression> {};
struct index_keys : seq<lbracket, must_list<index_key>, must<rbracket>> {};
// x->f, f()->f, (expr)->f, (expr)[i]: members of a value whose kernel type
// elaboration infers from where the value came from (stap's autocast).
struct autocast_members : seq<at<arrow>, target_components> {};
struct call_or_symbol : seq<name, opt<sor<call_args, index_keys>>, opt<autocast_members>> {};
// @choose_defined(a, b)->f, @task(0)->mm: members of an @-operator's value.
struct at_with_members : seq<at_expr, opt<autocast_members>> {};

struct paren_expr : seq<lparen, must<expression>, must<rparen>, target_components> {};
// &$var->field, &@cast(p, "type")->field, &x->field, &(expr)->field: the
// member's address.
struct address_operand : sor<target_var, cast_expr, paren_expr, call_or_symbol> {};
struct address_of : seq<tok<one<'&'>>, must<address_operand>> {};

struct embedded_expr_unsupported : seq<at<string<'%', '{'>>, raise<embedded_expr_unsupported>> {};

// Each alternative is tried only when its first character fits (see guarded).
template <typename Guard, typename Rule>
struct when : seq<at<Guard>, Rule> {};
struct primary
    : sor<when<one<'('>, paren_expr>, when<digit, number>, when<one<'"'>, string_literal>,
          when<one<'$'>, target_var>, when<one<'@'>, sor<cast_expr, at_with_members>>, when<one<'&'>, address_of>, when<identifier_first, call_or_symbol>,
          embedded_expr_unsupported> {};

// ---------------------------------------------------------------- expressions
struct postfix_crement : seq<primary, opt<guarded<crement_op, '+', '-'>>> {};
struct prefix_crement : seq<guarded<crement_op, '+', '-'>, must<primary>> {};
struct unary;
struct unary_prefix : seq<guarded<unary_op, '+', '-', '!', '~'>, must<unary>> {};
struct unary : sor<prefix_crement, unary_prefix, postfix_crement> {};

template <typename Operand, typename Op, char... First>
struct left_assoc : seq<Operand, star<guarded<Op, First...>, must<Operand>>> {};

struct multiplicative : left_assoc<unary, multiplicative_op, '*', '/', '%'> {};
struct additive : left_assoc<multiplicative, additive_op, '+', '-'> {};
struct concatenation : left_assoc<additive, op_concat, '.'> {};
struct shift : left_assoc<concatenation, shift_op, '<', '>'> {};
struct comparison : left_assoc<shift, comparison_op, '<', '>', '=', '!'> {};

struct array_name : name {};
struct in_key : sor<wildcard_key, comparison> {};
struct in_keys : seq<lbracket, must_list<in_key>, must<rbracket>> {};
struct in_multi : seq<in_keys, must<kw_in>, must<array_name>> {};
struct in_single : seq<comparison, opt<kw_in, must<array_name>>> {};
struct array_in : sor<in_multi, in_single> {};

struct bit_and : left_assoc<array_in, op_bitand, '&'> {};
struct bit_xor : left_assoc<bit_and, op_bitxor, '^'> {};
struct bit_or : left_assoc<bit_xor, op_bitor, '|'> {};
struct logical_and : left_assoc<bit_or, op_andand, '&'> {};
struct logical_or : left_assoc<logical_and, op_oror, '|'> {};
struct ternary : seq<logical_or, opt<question, must<expression>, must<colon>, must<expression>>> {};
struct assignment
    : seq<ternary, opt<guarded<assign_op, '=', '+', '-', '*', '/', '%', '<', '>', '&', '|', '^', '.'>, must<assignment>>> {};
struct expression : assignment {};

// ---------------------------------------------------------------- statements
struct statement;
struct rbrace_or_eof : sor<rbrace, eof> {};
struct block : seq<lbrace, star<not_at<rbrace_or_eof>, must<statement>>, must<rbrace>> {};

struct empty_statement : semicolon {};
struct if_statement
    : seq<kw_if, must<lparen>, must<expression>, must<rparen>, must<statement>, opt<kw_else, must<statement>>> {};
struct while_statement : seq<kw_while, must<lparen>, must<expression>, must<rparen>, must<statement>> {};

struct for_init : seq<expression> {};
struct for_cond : seq<expression> {};
struct for_step : seq<expression> {};
struct for_statement
    : seq<kw_for, must<lparen>, opt<for_init>, must<semicolon>, opt<for_cond>, must<semicolon>, opt<for_step>,
          must<rparen>, must<statement>> {};

// foreach ([a, b-] in arr limit 10), foreach (v = [a, b] in arr+), foreach (k in arr)
struct sort_ascending : op_plus {};
struct sort_descending : op_minus {};
struct sort_marker : sor<sort_ascending, sort_descending> {};
struct foreach_key : seq<name, opt<sort_marker>> {};
struct foreach_key_list : seq<lbracket, must_list<foreach_key>, must<rbracket>> {};
struct foreach_keys : sor<foreach_key_list, foreach_key> {};
struct foreach_value : seq<name, opt<sort_marker>, op_assign> {};
// foreach (k in @sum(arr)-): sort a statistics array by that extractor.
// foreach (i in @hist_log(x)): the bucket numbers of a histogram.
struct foreach_extractor : seq<tok<at_name_text>, must<at_operands>> {};
// foreach ([x, y] in arr[*, 5]): iterate only the elements matching the slice.
struct foreach_slice : seq<lbracket, must_list<index_key>, must<rbracket>> {};
// foreach ([x, y] in stats[*, *]@sum-): sort by a statistic, stap's suffix
// form (a sort direction must follow).
struct foreach_sort_stat : seq<tok<at_name_text>, must<sort_marker>> {};
struct foreach_array
    : seq<sor<foreach_extractor, name>, opt<foreach_slice>, opt<sor<foreach_sort_stat, sort_marker>>> {};
struct foreach_limit : seq<kw_limit, must<expression>> {};
struct foreach_statement
    : seq<kw_foreach, must<lparen>, opt<foreach_value>, must<foreach_keys>, must<kw_in>, must<foreach_array>,
          opt<foreach_limit>, must<rparen>, must<statement>> {};

struct delete_statement : seq<kw_delete, must<expression>> {};
struct break_statement : kw_break {};
// try { ... } catch { ... } / catch (msg) { ... }
struct catch_name : name {};
struct catch_variable : seq<lparen, must<catch_name>, must<rparen>> {};
struct try_statement : seq<kw_try, must<block>, must<kw_catch>, opt<catch_variable>, must<block>> {};
struct continue_statement : kw_continue {};
struct next_statement : kw_next {};
struct return_statement : seq<kw_return, opt<expression>> {};
// `target <<< value`, chained `a <<< b <<< value` (both take the value), or
// a plain expression.
struct expression_statement : seq<expression, star<guarded<op_stats_add, '<'>, must<expression>>> {};

// Statements that start with a keyword, tried only in front of a keyword.
template <typename Keyword, typename Statement>
struct keyword_guarded : seq<at<Keyword>, Statement> {};
struct keyword_statement
    : seq<at<any_keyword>,
          sor<keyword_guarded<kw_if, if_statement>, keyword_guarded<kw_while, while_statement>,
              keyword_guarded<kw_for, for_statement>, keyword_guarded<kw_foreach, foreach_statement>,
              keyword_guarded<kw_delete, delete_statement>, keyword_guarded<kw_break, break_statement>,
              keyword_guarded<kw_continue, continue_statement>, keyword_guarded<kw_next, next_statement>,
              keyword_guarded<kw_return, return_statement>, keyword_guarded<kw_try, try_statement>>> {};

struct preprocessor_unsupported : seq<at<string<'%', '('>>, raise<preprocessor_unsupported>> {};
struct embedded_c_unsupported : seq<at<string<'%', '{'>>, raise<embedded_c_unsupported>> {};

struct statement
    : seq<sor<guarded<block, '{'>, guarded<empty_statement, ';'>, keyword_statement, guarded<preprocessor_unsupported, '%'>,
              guarded<embedded_c_unsupported, '%'>, expression_statement>,
          opt<semicolon>> {};

// ---------------------------------------------------------------- top level
// The nesting limit (see "nesting limit" below for what counts as a level).
inline constexpr unsigned max_nesting = 1000;
inline constexpr const char *nested_too_deeply = "nested too deeply (more than 1000 levels)";

// Probe point: kernel.trace("kfree_skb"), timer.ms(100), begin(-1), kernel.trace("tcp:*")?
// Components may hold wildcards (`*`, `**`) and brace alternatives
// (`timer.{ms,s}(1)`), expanded by the alias pass. A brace group never starts
// with a space, so `probe begin {` stays a body.
// Groups nest: {a,{b,c}}, {x,y_{1,2}}: words of [A-Za-z0-9_*] and nested
// groups, split by commas. Matched by one loop, not by recursion, so a group
// nested thousands deep cannot exhaust the stack (it is not a parse-tree
// node, so the nesting limit's control never sees it); deeper than
// max_nesting is the "nested too deeply" error.
struct brace_group_text {
  using rule_t = brace_group_text;
  using subs_t = empty_list;
  template <apply_mode, rewind_mode, template <typename...> class, template <typename...> class,
            typename ParseInput, typename... States>
  static bool match(ParseInput &in, States &...) {
    size_t depth = 0;
    bool need_word = true;  // after `{` and `,` a word must start
    for (size_t i = 0; in.size(i + 1) > i; ++i) {
      const char c = in.peek_char(i);
      if (i == 0 && c != '{') return false;
      if (c == '{') {
        if (++depth > max_nesting) throw parse_error(nested_too_deeply, in);
        need_word = true;
      } else if (c == ',') {
        if (need_word) return false;
        need_word = true;
      } else if (c == '}') {
        if (need_word) return false;
        if (--depth == 0) {
          in.bump(i + 1);
          return true;
        }
      } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '*') {
        need_word = false;
      } else {
        return false;
      }
    }
    return false;
  }
};
// Looked at first so that a `{` that opens a body is not consumed.
struct brace_group : seq<at<brace_group_text>, brace_group_text> {};
struct component_name_text
    : seq<sor<identifier_first, one<'*'>, brace_group>, star<sor<identifier_other, one<'*'>, brace_group>>> {};
struct component_name : tok<component_name_text> {};
struct negative_sign : one<'-'> {};
struct probe_number : tok<seq<opt<negative_sign>, number_text>> {};
struct probe_argument : sor<string_literal, probe_number> {};
struct probe_component : seq<component_name, opt<lparen, must<probe_argument>, must<rparen>>> {};
struct optional_marker : question {};
struct sufficient_marker : tok<one<'!'>> {};
// probe P if (cond) { }: the body runs only while cond holds.
struct probe_condition : seq<kw_if, must<lparen>, must<expression>, must<rparen>> {};
// stap's alternatives of whole points: kernel.{function("a"),function("b")}.return,
// {kernel,module("m")}.function("f"). Each alternative is a dotted point of
// its own (optionally with '?'/'!'); the AST builder expands the product.
// Tried after probe_component, whose brace_group covers the simple {a,b}.
struct probe_alternative;
struct probe_alternatives : seq<lbrace, list<probe_alternative, comma>, must<rbrace>> {};
// `failure` last: PEGTL rewinds every alternative of a sor but the last one,
// so a `{` that starts no alternatives is not consumed before the error.
struct probe_segment : sor<probe_component, probe_alternatives, failure> {};
struct probe_alternative
    : seq<probe_segment, star<dot, must<probe_segment>>, opt<sor<optional_marker, sufficient_marker>>> {};
struct probe_point
    : seq<probe_segment, star<dot, must<probe_segment>>, opt<sor<optional_marker, sufficient_marker>>,
          opt<probe_condition>> {};
// probe NAME = POINTS { prologue } / probe NAME += POINTS { epilogue }
struct alias_prologue : op_assign {};
struct alias_epilogue : op_add_assign {};
struct alias_definition : seq<sor<alias_epilogue, alias_prologue>, must_list<probe_point>> {};
struct probe_declaration : seq<kw_probe, must_list<probe_point>, opt<alias_definition>, must<block>> {};

// global a, b[100], c = 5, s = "x", n = -1
struct global_size : seq<lbracket, opt<number>, must<rbracket>> {};
struct global_negative : op_minus {};
struct global_literal : sor<string_literal, seq<opt<global_negative>, number>> {};
struct global_init : seq<op_assign, must<global_literal>> {};
// `global a%[N]` / `global a%`: a wrap-around array (stap's map wrap mode).
struct global_wrap : tok<seq<one<'%'>, not_at<one<'{', '('>>>> {};
struct global_variable : seq<name, opt<global_wrap>, opt<sor<global_size, global_init>>> {};
struct global_declaration : seq<kw_global, must_list<global_variable>> {};

// function name:type (a:type, b) { body }
struct type_name_text : sor<TAO_PEGTL_KEYWORD("long"), TAO_PEGTL_KEYWORD("string")> {};
struct type_name : tok<type_name_text> {};
struct type_annotation : seq<colon, must<type_name>> {};
struct function_param : seq<name, opt<type_annotation>> {};
struct function_params : seq<lparen, opt<list_must<function_param, comma>>, must<rparen>> {};
struct function_name : name {};
struct function_body : sor<embedded_c_unsupported, block> {};
struct function_declaration
    : seq<kw_function, sp, must<function_name>, opt<type_annotation>, must<function_params>, must<function_body>> {};

// `private global x`, `private function f()`, and stap's shorthand
// `private x, y` for private globals: names visible only in the file that
// declares them.
struct kw_private : seq<TAO_PEGTL_KEYWORD("private"), sp> {};
struct private_globals : list_must<global_variable, comma> {};
struct private_target : sor<global_declaration, function_declaration, private_globals> {};
struct private_declaration : seq<kw_private, must<private_target>> {};

struct toplevel
    : seq<sor<probe_declaration, global_declaration, function_declaration, private_declaration,
              embedded_c_unsupported, preprocessor_unsupported>,
          opt<semicolon>> {};
struct script : seq<sp, until<eof, must<toplevel>>> {};

// ---------------------------------------------------------------- error messages
// The message raised when must<Rule> (or raise<Rule>) fails.
template <typename Rule>
inline constexpr const char *error_message = nullptr;

// clang-format off
template <> inline constexpr const char *error_message<rparen> = "expected ')'";
template <> inline constexpr const char *error_message<lparen> = "expected '('";
template <> inline constexpr const char *error_message<rbracket> = "expected ']'";
template <> inline constexpr const char *error_message<comma> = "expected ','";
template <> inline constexpr const char *error_message<rbrace> = "expected '}'";
template <> inline constexpr const char *error_message<semicolon> = "expected ';'";
template <> inline constexpr const char *error_message<colon> = "expected ':'";
template <> inline constexpr const char *error_message<kw_in> = "expected 'in'";
template <> inline constexpr const char *error_message<sort_marker> = "expected sort directive";
template <> inline constexpr const char *error_message<block> = "expected '{'";
template <> inline constexpr const char *error_message<statement> = "expected statement";
template <> inline constexpr const char *error_message<expression> = "expected expression";
template <> inline constexpr const char *error_message<assignment> = "expected expression";
template <> inline constexpr const char *error_message<unary> = "expected expression";
template <> inline constexpr const char *error_message<multiplicative> = "expected expression";
template <> inline constexpr const char *error_message<additive> = "expected expression";
template <> inline constexpr const char *error_message<kw_catch> = "expected 'catch'";
template <> inline constexpr const char *error_message<index_key> = "expected expression";
template <> inline constexpr const char *error_message<in_key> = "expected expression";
template <> inline constexpr const char *error_message<catch_name> = "expected variable name";
template <> inline constexpr const char *error_message<concatenation> = "expected expression";
template <> inline constexpr const char *error_message<shift> = "expected expression";
template <> inline constexpr const char *error_message<comparison> = "expected expression";
template <> inline constexpr const char *error_message<array_in> = "expected expression";
template <> inline constexpr const char *error_message<bit_and> = "expected expression";
template <> inline constexpr const char *error_message<bit_xor> = "expected expression";
template <> inline constexpr const char *error_message<bit_or> = "expected expression";
template <> inline constexpr const char *error_message<logical_and> = "expected expression";
template <> inline constexpr const char *error_message<primary> = "expected expression";
template <> inline constexpr const char *error_message<array_name> = "expected array name";
template <> inline constexpr const char *error_message<field_name> = "expected field name after '->'";
template <> inline constexpr const char *error_message<at_operands> = "expected '('";
template <> inline constexpr const char *error_message<foreach_keys> = "expected loop variable or '['";
template <> inline constexpr const char *error_message<foreach_key> = "expected loop variable";
template <> inline constexpr const char *error_message<foreach_array> = "expected array name";
template <> inline constexpr const char *error_message<probe_point> = "expected probe point";
template <> inline constexpr const char *error_message<probe_component> = "expected probe point component";
template <> inline constexpr const char *error_message<probe_segment> = "expected probe point component";
template <> inline constexpr const char *error_message<probe_argument> = "expected string or number literal";
template <> inline constexpr const char *error_message<global_variable> = "expected global variable name";
template <> inline constexpr const char *error_message<global_literal> = "expected literal initialiser (number or string)";
template <> inline constexpr const char *error_message<toplevel> = "expected 'probe' or 'global'";
template <> inline constexpr const char *error_message<unterminated_string> = "unterminated string";
template <> inline constexpr const char *error_message<unterminated_comment> = "unterminated comment";
template <> inline constexpr const char *error_message<function_name> = "expected function name";
template <> inline constexpr const char *error_message<function_param> = "expected parameter name";
template <> inline constexpr const char *error_message<function_params> = "expected '('";
template <> inline constexpr const char *error_message<function_body> = "expected '{'";
template <> inline constexpr const char *error_message<type_name> = "expected type 'long' or 'string'";
template <> inline constexpr const char *error_message<private_target> = "expected 'function', 'global' or a variable name after 'private'";
template <> inline constexpr const char *error_message<embedded_c_unsupported> = "embedded C (%{ %}) is not supported: ntap has no guru mode";
template <> inline constexpr const char *error_message<embedded_expr_unsupported> = "embedded C (%{ %}) is not supported: ntap has no guru mode";
template <> inline constexpr const char *error_message<preprocessor_unsupported> = "preprocessor conditionals (%( %)) are not supported yet";
template <> inline constexpr const char *error_message<cast_type> = "expected a type name string";
template <> inline constexpr const char *error_message<address_operand> = "expected a target variable, @cast or member after '&'";
// clang-format on

// ---------------------------------------------------------------- nesting limit
// The parser recurses once per nested construct, and so do the passes after
// it: a script nested deeper than this is refused with "nested too deeply"
// before any recursion can exhaust the stack. A level is a nested expression
// (parentheses, an argument, a subscript, an assignment's right side), a
// prefix operator or a nested statement; parse_nesting.cpp also counts each operator
// of a left-associative chain (`a + b + c` is as deep as the tree it builds).
template <typename Rule>
inline constexpr bool opens_nesting_level = false;
template <> inline constexpr bool opens_nesting_level<expression> = true;
template <> inline constexpr bool opens_nesting_level<assignment> = true;
template <> inline constexpr bool opens_nesting_level<unary_prefix> = true;
// Statements nest through these (each is a parse-tree node, so the parse
// tree's control sees it: rules without a node never reach error_control).
template <> inline constexpr bool opens_nesting_level<block> = true;
template <> inline constexpr bool opens_nesting_level<if_statement> = true;
template <> inline constexpr bool opens_nesting_level<while_statement> = true;
template <> inline constexpr bool opens_nesting_level<for_statement> = true;
template <> inline constexpr bool opens_nesting_level<foreach_statement> = true;
// Probe points nest through alternatives of whole points: {a.b,{c(1),d}}.
template <> inline constexpr bool opens_nesting_level<probe_alternative> = true;
// Levels open in the parse under way (reset by parse_script: a parse error
// leaves it wherever the error was raised).
inline thread_local unsigned nesting_depth = 0;

// Raises pg::parse_error with the message above, at the failing token.
template <typename Rule>
struct error_control : pg::normal<Rule> {
  template <typename Input, typename... States>
  static void start(const Input &in, States &&...st) {
    if constexpr (opens_nesting_level<Rule>)
      if (++nesting_depth > max_nesting) throw pg::parse_error(nested_too_deeply, in);
    pg::normal<Rule>::start(in, st...);
  }
  template <typename Input, typename... States>
  static void success(const Input &in, States &&...st) {
    if constexpr (opens_nesting_level<Rule>) --nesting_depth;
    pg::normal<Rule>::success(in, st...);
  }
  template <typename Input, typename... States>
  static void failure(const Input &in, States &&...st) {
    if constexpr (opens_nesting_level<Rule>) --nesting_depth;
    pg::normal<Rule>::failure(in, st...);
  }
  template <typename Input, typename... States>
  [[noreturn]] static void raise(const Input &in, States &&...) {
    static_assert(error_message<Rule> != nullptr, "every must<>/raise<> target needs an error_message");
    throw pg::parse_error(error_message<Rule>, in);
  }
};

}  // namespace ntap::grammar
