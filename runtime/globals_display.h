// The report stap prints after the end probes: every global the script
// wrote but never read (ast::Global::display_at_exit), e.g.
//
//   count=0x2a
//   name="eth0"
//   drops[1,"tcp"]=0x3
//   lat @count=4 @min=1 @max=9 @sum=20 @avg=5
//
// Longs are printed as stap's %#x, aggregates with %d; arrays one element per
// line, by decreasing value (statistics by decreasing @count).
#pragma once
#include <string>

#include "frontend/ast.h"
#include "runtime/report.h"
#include "runtime/store.h"

namespace ntap {

// The text lines of one global (what Output::global_at_exit writes as text).
void render_global_text(std::string &out, const GlobalSnapshot &global);

// Every global to show at exit, in declaration order.
std::vector<GlobalSnapshot> unread_globals(const ast::Program &program, Store &store);

// The whole report as text.
void render_unread_globals(const ast::Program &program, Store &store, std::string &out);

}  // namespace ntap
