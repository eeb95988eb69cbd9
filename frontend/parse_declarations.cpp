// Parse tree -> AST: the top level: probes and their points, probe aliases,
// functions, globals and `private` declarations.
#include "frontend/ast_builder.h"

#include <algorithm>

#include "frontend/walk.h"

namespace ntap::parsing {

// ------------------------------------------------------------ top level

namespace {

// Brace alternatives multiply: `{a,b}.{c,d}` is four points. Bounded, since
// each alternative group of a long point doubles the count.
constexpr size_t kMaxExpandedPoints = 10000;

}  // namespace

// The points one written point stands for: itself, or with brace
// alternatives of whole points (stap's kernel.{function("a"),function("b")})
// the product of its segments, in the order written.
std::vector<ProbePoint> AstBuilder::probe_points(const Node &n) {
  std::vector<ProbePoint> points(1);
  points.front().loc = loc(n);
  for (const auto &part : n.children) {
    if (part->is_type<g::optional_marker>() || part->is_type<g::sufficient_marker>()) {
      for (ProbePoint &point : points) {
        if (point.optional) fail(*part, "'?' or '!' respecified");
        point.optional = true;
        point.sufficient = part->is_type<g::sufficient_marker>();
      }
      continue;
    }
    if (part->is_type<g::probe_condition>()) continue;  // see point_condition
    std::vector<ProbePoint> suffixes;
    if (part->is_type<g::probe_alternatives>()) {
      for (const auto &alternative : part->children)
        for (ProbePoint &point : probe_points(*alternative)) suffixes.push_back(std::move(point));
    } else {
      suffixes.emplace_back().components.push_back(component(*part));
    }
    if (points.size() * suffixes.size() > kMaxExpandedPoints)
      fail(*part, "brace alternatives expand to more than " + std::to_string(kMaxExpandedPoints) + " probe points");
    std::vector<ProbePoint> product;
    for (const ProbePoint &prefix : points) {
      if (prefix.optional) fail(*part, "'?', '!' or condition must only be specified in suffix");
      for (const ProbePoint &suffix : suffixes) {
        ProbePoint &point = product.emplace_back(prefix);
        point.components.insert(point.components.end(), suffix.components.begin(), suffix.components.end());
        point.optional = suffix.optional;
        point.sufficient = suffix.sufficient;
      }
    }
    points = std::move(product);
  }
  return points;
}

// The single point of a node that cannot hold alternatives of whole points
// (an alias name is matched as written).
ProbePoint AstBuilder::probe_point(const Node &n) {
  std::vector<ProbePoint> points = probe_points(n);
  if (points.size() != 1) fail(n, "an alias name cannot have brace alternatives");
  return std::move(points.front());
}

ProbePointComponent AstBuilder::component(const Node &part) {
  ProbePointComponent component;
  component.name = text(*part.children[0]);
  if (part.children.size() > 1) {
    const Node &arg = *part.children[1];
    if (arg.is_type<g::string_literal>()) {
      component.string_arg = string_value(arg);
    } else {  // probe_number: [negative_sign] number_text
      int64_t value = number(*arg.children.back());
      component.number_arg = arg.children.size() > 1 ? static_cast<int64_t>(0ULL - uint64_t(value)) : value;
    }
  }
  return component;
}

// The `if (cond)` node of a probe point, or null.
const Node *AstBuilder::point_condition(const Node &point) {
  const Node &last = *point.children.back();
  return last.is_type<g::probe_condition>() ? &last : nullptr;
}

// A probe, or an alias definition. A probe whose points carry their own
// conditions becomes one probe per point (the body is built once for each
// from the parse tree), so each keeps its own condition.
void AstBuilder::probe_declaration(const Node &n, Program &prog) {
  std::vector<const Node *> points;
  const Node *alias = nullptr;
  for (size_t i = 0; i + 1 < n.children.size(); ++i) {
    if (n.children[i]->is_type<g::alias_definition>()) alias = n.children[i].get();
    else points.push_back(n.children[i].get());
  }
  const Node &body = *n.children.back();
  if (alias) {
    // `probe a = b if (x), c if (y)`: one alias definition per point, each
    // with its own condition; definitions of one name add up, as in stap.
    const size_t count = alias->children.size() - 1;
    bool per_point = false;
    for (size_t i = 1; count > 1 && i < alias->children.size(); ++i)
      per_point = per_point || point_condition(*alias->children[i]);
    if (!per_point) {
      prog.aliases.push_back(probe_alias(n, points, *alias, body));
      return;
    }
    for (size_t i = 1; i < alias->children.size(); ++i) prog.aliases.push_back(probe_alias(n, points, *alias, body, i));
    return;
  }
  bool conditional = std::any_of(points.begin(), points.end(), [](const Node *p) { return point_condition(*p); });
  if (!conditional) {
    auto p = std::make_unique<Probe>();
    p->loc = loc(n);
    for (const Node *point : points)
      for (ProbePoint &expanded : probe_points(*point)) p->points.push_back(std::move(expanded));
    p->body = probe_body(body);
    prog.probes.push_back(std::move(p));
    return;
  }
  for (const Node *point : points) {
    auto p = std::make_unique<Probe>();
    p->loc = loc(n);
    p->points = probe_points(*point);
    if (const Node *cond = point_condition(*point)) p->condition = expr(*cond->children[0]);
    p->body = probe_body(body);
    prog.probes.push_back(std::move(p));
  }
}

// A probe's (or alias's) body: `return` has nothing to return from there,
// which stap refuses as it parses.
std::unique_ptr<BlockStmt> AstBuilder::probe_body(const Node &body) {
  std::unique_ptr<BlockStmt> built = block(body);
  walk_stmts(*built, [](Stmt &s) {
    if (s.kind == StmtKind::Return)
      throw CompileError(ErrorKind::Parse, "found 'return' not in function context", s.loc, "keyword 'return'");
  });
  return built;
}

std::unique_ptr<ProbeAlias> AstBuilder::probe_alias(const Node &n, const std::vector<const Node *> &names,
                                                    const Node &definition, const Node &body,
                                                    size_t only_point) {
  auto alias = std::make_unique<ProbeAlias>();
  alias->loc = loc(n);
  for (const Node *name : names) {
    if (point_condition(*name)) fail(*point_condition(*name), "an alias name cannot have a condition");
    ProbePoint point = probe_point(*name);
    for (const auto &component : point.components)
      if (component.string_arg || component.number_arg)
        fail(*name, "an alias name cannot have arguments");
    if (point.optional) fail(*name, "an alias name cannot be optional");
    alias->names.push_back(std::move(point));
  }
  alias->epilogue = definition.children[0]->is_type<g::alias_epilogue>();
  const Node *condition = nullptr;
  for (size_t i = 1; i < definition.children.size(); ++i) {
    if (only_point && i != only_point) continue;
    const Node &point = *definition.children[i];
    if (const Node *cond = point_condition(point)) condition = cond;
    for (ProbePoint &expanded : probe_points(point)) alias->points.push_back(std::move(expanded));
  }
  if (condition) alias->condition = expr(*condition->children[0]);
  alias->body = probe_body(body);
  return alias;
}

Type AstBuilder::type_of_name(const Node &type_name) {
  return type_name.string_view() == "string" ? Type::String : Type::Long;
}

// function_declaration: name [: type] ( params ) block
std::unique_ptr<Function> AstBuilder::function(const Node &n) {
  auto f = std::make_unique<Function>();
  const auto &c = n.children;
  size_t i = 0;
  f->name = text(*c[i]);
  f->loc = loc(*c[i++]);
  if (c[i]->is_type<g::type_annotation>()) f->declared_result = type_of_name(*c[i++]->children[0]);
  for (const auto &param : c[i++]->children) {
    std::string name = text(*param->children[0]);
    if (std::find(f->params.begin(), f->params.end(), name) != f->params.end())
      throw CompileError(ErrorKind::Parse, "duplicate parameter name", loc(*param->children[0]),
                         "identifier '" + name + "'");
    f->params.push_back(name);
    f->declared_params.push_back(param->children.size() > 1 ? type_of_name(*param->children[1]->children[0])
                                                            : Type::Unknown);
  }
  f->body = block(*c[i]);
  return f;
}

// private global x / private function f() / private x, y: visible only in
// this file.
void AstBuilder::private_declaration(const Node &n, Program &prog) {
  const Node &target = *n.children[0];
  if (target.is_type<g::function_declaration>()) {
    prog.functions.push_back(function(target));
    prog.functions.back()->private_to = &file_;
    return;
  }
  // `private global x, y` keeps its global_declaration node; the shorthand
  // `private x, y` leaves the variables directly under this one.
  globals(target.is_type<g::global_declaration>() ? target : n, prog, &file_);
}

void AstBuilder::globals(const Node &declaration, Program &prog, const SourceFile *private_to) {
  for (const auto &var : declaration.children) {
    const Node &name_node = *var->children[0];
    auto global = std::make_unique<Global>();
    global->name = text(name_node);
    global->decl = loc(name_node);
    global->private_to = private_to;
    auto same_name = std::find_if(prog.globals.begin(), prog.globals.end(),
                                  [&](const auto &g) { return g->name == global->name; });
    if (same_name != prog.globals.end())
      throw CompileError(ErrorKind::Semantic,
                         (*same_name)->private_to == private_to ? "duplicate global variable"
                                                                : "global versus private variable declaration conflict",
                         global->decl, "identifier '" + global->name + "'");
    global->wrap = var->children.size() > 1 && var->children[1]->is_type<g::global_wrap>();
    const size_t next = global->wrap ? 2 : 1;  // the size or initialiser follows `%`
    if (var->children.size() > next) {
      const Node &tail = *var->children[next];
      if (tail.is_type<g::global_size>()) {
        if (!tail.children.empty()) {
          int64_t size = number(*tail.children[0]);
          if (size <= 0 || size > int64_t(UINT32_MAX)) fail(*tail.children[0], "invalid array size");
          global->max_entries = static_cast<uint32_t>(size);
        }
      } else {
        global->init = global_initialiser(tail);
      }
    }
    prog.globals.push_back(std::move(global));
  }
}

// global_init: `=` then a string literal or [-] number.
ExprPtr AstBuilder::global_initialiser(const Node &init) {
  const auto &c = init.children;
  const Node &first = *c[1];
  if (first.is_type<g::string_literal>()) return std::make_unique<StringExpr>(loc(first), string_value(first));
  if (first.is_type<g::global_negative>())
    return std::make_unique<NumberExpr>(loc(first), static_cast<int64_t>(0ULL - uint64_t(number(*c[2]))));
  return std::make_unique<NumberExpr>(loc(first), number(first));
}

}  // namespace ntap::parsing
