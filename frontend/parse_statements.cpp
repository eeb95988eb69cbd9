// Parse tree -> AST: statements (blocks, control flow, foreach with its
// sorting, slices and histogram form, delete, try/catch, return).
#include "frontend/ast_builder.h"

#include "frontend/histogram.h"

namespace ntap::parsing {

// ------------------------------------------------------------ statements

std::unique_ptr<BlockStmt> AstBuilder::block(const Node &n) {
  auto b = std::make_unique<BlockStmt>(loc(n));
  for (const auto &child : n.children)
    if (!child->is_type<g::empty_statement>()) b->stmts.push_back(stmt(*child));
  return b;
}

// The @hist_log/@hist_linear node of `foreach (i in @hist_log(x))`, if any.
const Node *AstBuilder::foreach_histogram(const Node &n) {
  for (const auto &part : n.children) {
    if (!part->is_type<g::foreach_array>() || !part->children[0]->is_type<g::foreach_extractor>()) continue;
    const std::string stat = part->children[0]->children[0]->string();
    if (stat == "@hist_log" || stat == "@hist_linear") return part->children[0].get();
  }
  return nullptr;
}

// foreach (i in @hist_log(x)) BODY walks every bucket number, as stap does:
//   for (i = 0; i < BUCKETS; i++) { @hist_log(x)[i]; BODY }
// (the bucket read ties the loop to the histogram even when BODY does not).
StmtPtr AstBuilder::histogram_foreach(const Node &n, const Node &histogram) {
  std::string key;
  for (const auto &part : n.children) {
    if (part->is_type<g::foreach_value>() || part->is_type<g::foreach_limit>())
      fail(*part, "foreach over a histogram takes one bucket variable, without a value or limit");
    if (part->is_type<g::foreach_key>()) {
      if (!key.empty() || part->children.size() > 1) fail(*part, "foreach over a histogram takes one unsorted bucket variable");
      key = text(*part->children[0]);
    }
    if (part->is_type<g::foreach_array>() && part->children.size() > 1)
      fail(*part->children[1], "the buckets of a histogram cannot be sorted");
  }
  const std::string name = text(*histogram.children[0]);
  const StatsFn fn = name == "@hist_log" ? StatsFn::HistLog : StatsFn::HistLinear;
  auto bucket_read = stats_with_parameters(histogram, name, fn, histogram.children.size() - 1);
  auto &op = cast<StatsOpExpr>(*bucket_read);
  uint32_t buckets = HistogramSpec::kLogBuckets;
  if (fn == StatsFn::HistLinear) {
    try {
      buckets = HistogramSpec::linear(op.params.at(0), op.params.at(1), op.params.at(2)).buckets;
    } catch (const std::exception &err) {
      fail(histogram, err.what());
    }
  }
  const Location at = loc(n);
  auto variable = [&] { return std::make_unique<SymbolExpr>(at, key); };
  op.bucket = variable();
  auto loop = std::make_unique<ForStmt>(at);
  loop->init = std::make_unique<AssignExpr>(at, AssignOp::Set, variable(), std::make_unique<NumberExpr>(at, 0));
  loop->cond = std::make_unique<BinaryExpr>(at, BinaryOp::Lt, variable(), std::make_unique<NumberExpr>(at, buckets));
  loop->step = std::make_unique<IncDecExpr>(at, true, false, variable());
  auto body = std::make_unique<BlockStmt>(at);
  body->stmts.push_back(std::make_unique<ExprStmt>(at, std::move(bucket_read)));
  body->stmts.push_back(stmt(*n.children.back()));
  loop->body = std::move(body);
  return loop;
}

std::unique_ptr<ForeachStmt> AstBuilder::foreach_statement(const Node &n) {
  auto f = std::make_unique<ForeachStmt>(loc(n));
  const Node *sort_marker = nullptr;
  auto note_sort = [&](const Node &owner, int column, size_t marker_at = 1) {
    if (owner.children.size() <= marker_at) return;
    const Node &marker = *owner.children[marker_at];
    if (marker.is_type<g::op_assign>()) return;  // the `=` of `v = [..]`
    if (sort_marker) fail(marker, "only one sort direction (+ or -) may be given in foreach");
    sort_marker = &marker;
    f->sort_column = column;
    f->sort_direction = marker.is_type<g::sort_ascending>() ? 1 : -1;
  };
  const auto &c = n.children;
  for (size_t i = 0; i + 1 < c.size(); ++i) {
    const Node &part = *c[i];
    if (part.is_type<g::foreach_value>()) {
      f->value_name = text(*part.children[0]);
      note_sort(part, 0);
    } else if (part.is_type<g::foreach_key>()) {
      f->key_names.push_back(text(*part.children[0]));
      note_sort(part, static_cast<int>(f->key_names.size()));
    } else if (part.is_type<g::foreach_array>()) {
      const Node &array = *part.children[0];
      auto sort_by = [&](const Node &stat_name) {
        static const std::pair<const char *, StatsFn> extractors[] = {
            {"@count", StatsFn::Count}, {"@sum", StatsFn::Sum}, {"@min", StatsFn::Min},
            {"@max", StatsFn::Max},     {"@avg", StatsFn::Avg}};
        const std::string stat = text(stat_name);
        bool known = false;
        for (const auto &[spelling, fn] : extractors)
          if (stat == spelling) f->sort_stat = fn, known = true;
        f->sort_stat_written = true;
        if (!known)
          fail(stat_name, "foreach can sort a statistics array by @count, @sum, @min, @max or @avg, not " + stat);
      };
      if (array.is_type<g::foreach_extractor>()) {
        sort_by(*array.children[0]);
        const Node &operand = *array.children[1];
        if (array.children.size() != 2 || !operand.is_type<g::call_or_symbol>() || operand.children.size() != 1)
          fail(operand, "expected array name");
        f->array_name = text(*operand.children[0]);
      } else {
        f->array_name = text(array);
      }
      const bool sliced = part.children.size() > 1 && part.children[1]->is_type<g::foreach_slice>();
      if (sliced)
        for (const auto &key : part.children[1]->children) f->slice.push_back(expr(*key));
      const size_t after = sliced ? 2 : 1;
      if (part.children.size() > after && part.children[after]->is_type<g::foreach_sort_stat>()) {
        const Node &suffix = *part.children[after];  // `@sum-`
        if (array.is_type<g::foreach_extractor>()) fail(suffix, "only one statistic may sort a foreach");
        sort_by(*suffix.children[0]);
        note_sort(suffix, 0);
      } else {
        note_sort(part, 0, after);
      }
    } else if (part.is_type<g::foreach_limit>()) {
      f->limit = expr(*part.children[0]);
    }
  }
  f->body = stmt(*c.back());
  return f;
}

StmtPtr AstBuilder::stmt(const Node &n) {
  const auto &c = n.children;
  if (n.is_type<g::expression_statement>()) {
    if (c.size() == 1) return std::make_unique<ExprStmt>(loc(n), expr(*c[0]));
    if (c.size() == 3) return std::make_unique<StatsAddStmt>(loc(n), lvalue(*c[0], "the target of <<<"), expr(*c[2]));
    // `a <<< b <<< v` is stap's a <<< (b <<< v), whose value is v: v is
    // computed once, then added to b and to a.
    const Location at = loc(n);
    const std::string value(kChainedAggregateValue);
    auto chain = std::make_unique<BlockStmt>(at);
    chain->stmts.push_back(std::make_unique<ExprStmt>(
        at, std::make_unique<AssignExpr>(at, AssignOp::Set, std::make_unique<SymbolExpr>(at, value), expr(*c.back()))));
    for (size_t i = c.size() - 1; i >= 2; i -= 2)
      chain->stmts.push_back(std::make_unique<StatsAddStmt>(loc(*c[i - 1]), lvalue(*c[i - 2], "the target of <<<"),
                                                            std::make_unique<SymbolExpr>(at, value)));
    return chain;
  }
  if (n.is_type<g::block>()) return block(n);
  if (n.is_type<g::empty_statement>()) return std::make_unique<BlockStmt>(loc(n));
  if (n.is_type<g::if_statement>()) {
    auto s = std::make_unique<IfStmt>(loc(n));
    s->cond = expr(*c[0]);
    s->then_stmt = stmt(*c[1]);
    if (c.size() > 2) s->else_stmt = stmt(*c[2]);
    return s;
  }
  if (n.is_type<g::while_statement>()) {
    auto s = std::make_unique<WhileStmt>(loc(n));
    s->cond = expr(*c[0]);
    s->body = stmt(*c[1]);
    return s;
  }
  if (n.is_type<g::for_statement>()) {
    auto s = std::make_unique<ForStmt>(loc(n));
    for (size_t i = 0; i + 1 < c.size(); ++i) {
      ExprPtr part = expr(*c[i]->children[0]);
      if (c[i]->is_type<g::for_init>()) s->init = std::move(part);
      else if (c[i]->is_type<g::for_cond>()) s->cond = std::move(part);
      else s->step = std::move(part);
    }
    s->body = stmt(*c.back());
    return s;
  }
  if (n.is_type<g::foreach_statement>()) {
    if (const Node *histogram = foreach_histogram(n)) return histogram_foreach(n, *histogram);
    return foreach_statement(n);
  }
  if (n.is_type<g::delete_statement>())
    return std::make_unique<DeleteStmt>(loc(n), lvalue(*c[0], "the operand of delete"));
  if (n.is_type<g::try_statement>()) {
    auto t = std::make_unique<TryStmt>(loc(n));
    t->try_block = block(*c[0]);
    if (c.size() == 3) t->catch_name = text(*c[1]->children[0]);
    t->catch_block = block(*c.back());
    return t;
  }
  if (n.is_type<g::break_statement>()) return std::make_unique<JumpStmt>(StmtKind::Break, loc(n));
  if (n.is_type<g::continue_statement>()) return std::make_unique<JumpStmt>(StmtKind::Continue, loc(n));
  if (n.is_type<g::next_statement>()) return std::make_unique<JumpStmt>(StmtKind::Next, loc(n));
  // return_statement
  auto r = std::make_unique<ReturnStmt>(loc(n));
  if (!c.empty()) r->value = expr(*c[0]);
  return r;
}

}  // namespace ntap::parsing
