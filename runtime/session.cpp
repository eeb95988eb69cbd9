#include "runtime/session_internal.h"
#include "kernel/dwarf_lines.h"

#include "kernel/privileges.h"

namespace ntap {
namespace session_detail {

bool Session::start_target() {
  int64_t pid = options_.target_pid;
  if (!options_.target_command.empty()) {
    try {
      target_ = TargetProcess::start_held(options_.target_command);
    } catch (const std::runtime_error &e) {
      fprintf(stderr, "ERROR: %s\n", e.what());
      return false;
    }
    pid = target_->pid();
  }
  rt_.builtins.target_pid = pid;
  kernel_.set_target_attach_pid(pid);  // process probes that follow target() attach to it
  if (globals_.get()) std::memcpy(globals_.get() + layout_.target_pid_offset, &pid, sizeof pid);
  return true;
}

// ---------------------------------------------------------------- user probes

void Session::collect_user_probes() {
  for (const auto &probe : program_.probes) {
    if (probe->side != ast::Side::User) continue;
    HostProgram::ProbeFn fn = host_.probe_function(probe->id);
    if (!fn) continue;
    for (const ast::ResolvedProbe &resolved : probe->resolved) {
      UserProbeRun run{fn, probe.get(), &resolved};
      switch (resolved.kind) {
        case ast::ProbeKind::Begin: begin_.push_back(run); break;
        case ast::ProbeKind::End: end_.push_back(run); break;
        case ast::ProbeKind::Error: error_.push_back(run); break;
        case ast::ProbeKind::Timer: timers_.push_back({run, Fd()}); break;
        case ast::ProbeKind::Tracepoint:
        case ast::ProbeKind::Perf:
        case ast::ProbeKind::Uprobe:
        case ast::ProbeKind::PerfCounter: break;
        case ast::ProbeKind::ProcfsRead:
        case ast::ProbeKind::ProcfsWrite: procfs_.push_back(run); break;
      }
    }
  }
  // Begin probes that read kernel memory run in the kernel, in their place.
  for (const BpfProgramInfo &info : bpf_.programs) {
    if (info.resolved.kind != ast::ProbeKind::Begin) continue;
    bpf_program *prog = find_program(info);
    if (prog) begin_.push_back(UserProbeRun{nullptr, info.probe, &info.resolved, bpf_program__fd(prog)});
  }
  // begin(N)/end(N): by priority, then source order (stable sort keeps it).
  auto by_priority = [](const UserProbeRun &a, const UserProbeRun &b) { return a.resolved->param < b.resolved->param; };
  std::stable_sort(begin_.begin(), begin_.end(), by_priority);
  std::stable_sort(end_.begin(), end_.end(), by_priority);
  std::stable_sort(error_.begin(), error_.end(), by_priority);
}

// Arms `timer` for its next expiration: periodic, or, for
// `.randomize(M)`, once with the period moved by a uniform [-M, M] (re-armed
// after each expiration).
bool Session::arm_timer(Timer &timer) {
  const ast::ResolvedProbe &resolved = *timer.run.resolved;
  int64_t period = std::max<int64_t>(resolved.param, 1);
  itimerspec spec{};
  if (resolved.jitter) {
    period += std::uniform_int_distribution<int64_t>(-resolved.jitter, resolved.jitter)(random_);
    period = std::max<int64_t>(period, 1);
  }
  spec.it_value.tv_sec = period / 1000000000;
  spec.it_value.tv_nsec = period % 1000000000;
  if (!resolved.jitter) spec.it_interval = spec.it_value;
  return timerfd_settime(timer.fd.get(), 0, &spec, nullptr) == 0;
}

bool Session::start_timers() {
  for (Timer &timer : timers_) {
    timer.fd = Fd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (timer.fd.get() < 0 || !arm_timer(timer)) {
      fprintf(stderr, "ERROR: cannot start timer for probe %s: %s\n", timer.run.resolved->name.c_str(),
              strerror(errno));
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- procfs files

bool Session::start_procfs() {
  if (procfs_.empty()) return true;
  std::vector<ProcfsServer::File> files;
  for (const UserProbeRun &run : procfs_) {
    const ast::ResolvedProbe &probe = *run.resolved;
    auto same = [&](const ProcfsServer::File &f) { return f.name == probe.binary; };
    auto it = std::find_if(files.begin(), files.end(), same);
    if (it == files.end()) it = files.insert(files.end(), ProcfsServer::File{probe.binary});
    it->mode |= probe.file_mode;
    (probe.kind == ast::ProbeKind::ProcfsRead ? it->readable : it->writable) = true;
  }
  const std::string module =
      options_.module_name.empty() ? fmt::format("ntap_{}", getpid()) : options_.module_name;
  try {
    procfs_server_ = std::make_unique<ProcfsServer>(
        "/run/ntap/" + module, std::move(files), [this](const std::string &f) { return run_procfs_read(f); },
        [this](const std::string &f, const std::string &data) { run_procfs_write(f, data); });
  } catch (const std::exception &e) {
    fprintf(stderr, "ERROR: procfs probes: %s\n", e.what());
    return false;
  }
  return true;
}

// The global behind $value (passes/resolve_probes.cpp).
static uint32_t procfs_value_global(const ast::Program &program) {
  return program.find_global(std::string(ast::kProcfsValueGlobal))->id;
}

std::string Session::run_procfs_read(const std::string &file) {
  const uint32_t value = procfs_value_global(program_);
  std::string text;
  for (const UserProbeRun &run : procfs_) {
    if (run.resolved->kind != ast::ProbeKind::ProcfsRead || run.resolved->binary != file || stopping_) continue;
    store_->clear(value);  // each read starts from an empty $value, as in stap
    run_probe(run);
    text = store_->get_string(value, {});
    if (run.resolved->param > 0 && text.size() > static_cast<size_t>(run.resolved->param))
      text.resize(run.resolved->param);  // .maxsize(N)
  }
  return text;
}

void Session::run_procfs_write(const std::string &file, const std::string &data) {
  const uint32_t value = procfs_value_global(program_);
  for (const UserProbeRun &run : procfs_) {
    if (run.resolved->kind != ast::ProbeKind::ProcfsWrite || run.resolved->binary != file || stopping_) continue;
    // $value holds at most MAXSTRINGLEN bytes, like every string.
    const std::string kept = data.substr(0, layout_.options.max_string_len);
    if (!store_->set_string(value, {}, kept)) return;
    run_probe(run);
  }
}

// A kernel begin probe: one run of its program, then its records (output,
// exit, error) are taken in before the next begin probe runs.
bool Session::run_in_kernel(const UserProbeRun &run) {
  uint64_t context[1] = {0};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = context, .ctx_size_in = sizeof context);
  const int err = bpf_prog_test_run_opts(run.kernel_fd, &opts);
  if (err) {
    fprintf(stderr, "ERROR: cannot run probe %s at %s in the kernel: %s\n", run.resolved->name.c_str(),
            run.probe ? run.probe->loc.str().c_str() : "?", strerror(-err));
    stop(1);
    return false;
  }
  consume_records();
  write_pending_hits();
  output_->flush();
  return status_ == 0;
}

// Runs one probe handler; false when it ended in a run-time error.
bool Session::run_probe(const UserProbeRun &run) {
  if (run.kernel_fd >= 0) return run_in_kernel(run);
  output_->begin_probe(run.resolved->name);
  rt_.probe_point = run.resolved->point.c_str();
  rt_.probe_name = run.resolved->script_point.c_str();
  rt_.begin_handler();
  // stap runs begin/end/error handlers with interrupts enabled and gives
  // them the larger MAXACTION_INTERRUPTIBLE budget; timers get MAXACTION.
  const bool interruptible = run.resolved->kind != ast::ProbeKind::Timer;
  rt_.actions_remaining =
      interruptible ? layout_.options.max_action_interruptible : layout_.options.max_action;
  rt_.nesting_depth = 0;
  run.fn(&rt_);
  rt_.end_handler();
  output_->flush();
  if (rt_.failed) {
    rt_.failed = false;
    const auto &sites = host_.sites();
    if (rt_.failed_site < sites.size()) {
      const RuntimeSite &site = sites[rt_.failed_site];
      const std::string &message = rt_.failed_with_message ? rt_.failed_message : site.message;
      fprintf(stderr, "ERROR: %s at %s\n", message.c_str(), site.loc.str().c_str());
    } else {
      fprintf(stderr, "ERROR: run-time error in probe %s at %s\n", run.resolved->name.c_str(),
              run.probe->loc.str().c_str());
    }
    stop(1);
    return false;
  }
  if (rt_.exit_requested) stop(0);
  return true;
}

// ---------------------------------------------------------------- records

int Session::on_record(void *ctx, void *data, size_t size) {
  static_cast<Session *>(ctx)->handle_record(static_cast<const uint8_t *>(data), size);
  return 0;
}

void Session::handle_record(const uint8_t *data, size_t size) {
  // After an error the run is over (stap's MAXERRORS=0): later records of the
  // same batch, often the same error again, are not reported.
  if (status_ != 0 || size < sizeof(RecordHeader)) return;
  RecordHeader header;
  std::memcpy(&header, data, sizeof header);
  const uint8_t *payload = data + sizeof header;
  const size_t payload_size = size - sizeof header;
  // A hit's text comes first, even when the hit ends with exit() or an error.
  if (header.group && header.kind != RecordKind::Output) write_pending_hit(header.group);
  switch (header.kind) {
    case RecordKind::HitEnd: return;
    case RecordKind::Exit: stop(0); return;
    case RecordKind::Warning: {
      // As user probes' warn (runtime/builtins_host.cpp).
      const char *text = reinterpret_cast<const char *>(payload);
      output_->warning(std::string_view(text, strnlen(text, payload_size)));
      return;
    }
    case RecordKind::Error:
      if (header.id < bpf_.error_sites.size()) {
        const ErrorSite &site = bpf_.error_sites[header.id];
        std::string message =
            site.message_in_record && payload_size > 0
                ? std::string(reinterpret_cast<const char *>(payload),
                              strnlen(reinterpret_cast<const char *>(payload), payload_size))
                : site.message;
        size_t placeholder = message.find("%p");
        if (site.address_in_record && payload_size >= sizeof(uint64_t) && placeholder != std::string::npos) {
          uint64_t address;
          std::memcpy(&address, payload, sizeof address);
          char hex[24];
          snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(address));
          message.replace(placeholder, 2, hex);
        }
        fprintf(stderr, "ERROR: %s at %s\n", message.c_str(), site.loc.str().c_str());
      } else {
        fprintf(stderr, "ERROR: run-time error in a kernel probe\n");
      }
      stop(1);
      return;
    case RecordKind::Output: break;
    default: return;
  }
  if (header.id >= bpf_.records.size()) return;
  const RecordFormat &record = bpf_.records[header.id];
  if (record.format_id >= formats_.size()) return;
  const Format &format = formats_[record.format_id];

  std::vector<Format::Arg> args(std::max(format.arg_types().size(), record.args.size()));
  std::vector<std::string> rendered;
  rendered.reserve(record.args.size());  // string_views below point into it
  KernelSymbols &symbols = kernel_.symbols();
  for (size_t i = 0; i < record.args.size(); ++i) {
    const RecordArg &arg = record.args[i];
    if (arg.offset + arg.size > payload_size) continue;  // malformed: leave 0 / ""
    const uint8_t *at = payload + arg.offset;
    if (arg.kind == RecordArg::Kind::String) {
      const void *nul = std::memchr(at, 0, arg.size);
      args[i].s = std::string_view(reinterpret_cast<const char *>(at),
                                   nul ? static_cast<const uint8_t *>(nul) - at : arg.size);
      continue;
    }
    int64_t value = 0;
    std::memcpy(&value, at, std::min<uint32_t>(arg.size, 8));
    int64_t depth = 0;  // stack(n), callers(n): n, the slot's last word
    if (arg.part != StackPart::Whole && arg.size >= 16) std::memcpy(&depth, at + arg.size - 8, sizeof depth);
    // stack(n), ustack(n): the frame's address, which `render` may render.
    if (arg.part == StackPart::KernelFrame || arg.part == StackPart::UserFrame) {
      const std::vector<uint64_t> frames = arg.part == StackPart::KernelFrame ? kernel_stack(value) : user_stack(value);
      value = depth >= 0 && static_cast<uint64_t>(depth) < frames.size() ? static_cast<int64_t>(frames[depth]) : 0;
    }
    const int64_t callers = arg.part == StackPart::Callers ? depth : -1;
    args[i].l = value;
    switch (arg.render) {
      case RenderFn::None: break;
      case RenderFn::Symname: args[i].s = symbols.symname(static_cast<uint64_t>(value)); break;
      case RenderFn::Symdata: args[i].s = symbols.symdata(static_cast<uint64_t>(value)); break;
      case RenderFn::Ctime: args[i].s = rendered.emplace_back(ctime_string(value)); break;
      case RenderFn::TzCtime: args[i].s = rendered.emplace_back(tz_ctime_string(value)); break;
      case RenderFn::DropReasonName: args[i].s = rendered.emplace_back(kernel_.drop_reasons().name(value)); break;
      case RenderFn::KernelStack:
        args[i].s = rendered.emplace_back(format_backtrace(symbols, callers_of(kernel_stack(value), callers)));
        break;
      case RenderFn::KernelStackHex:
        args[i].s = rendered.emplace_back(format_backtrace_hex(callers_of(kernel_stack(value), callers)));
        break;
      case RenderFn::KernelSyms:
        args[i].s = rendered.emplace_back(format_syms(callers_of(kernel_stack(value), callers),
                                                      [&](uint64_t address) { return symbols.symdata(address); }));
        break;
      case RenderFn::Probefunc:
      case RenderFn::Probemod:
      case RenderFn::ProbefuncStack:
      case RenderFn::ProbemodStack: {
        // The probe's address, or the caller its stack shows (tracepoints).
        uint64_t address = static_cast<uint64_t>(value);
        if (arg.render == RenderFn::ProbefuncStack || arg.render == RenderFn::ProbemodStack) {
          std::vector<uint64_t> frames = kernel_stack(value);
          address = frames.empty() ? 0 : frames.front();
        }
        std::optional<SymbolInfo> info = address ? symbols.lookup(address) : std::nullopt;
        const bool function = arg.render == RenderFn::Probefunc || arg.render == RenderFn::ProbefuncStack;
        args[i].s = rendered.emplace_back(!info ? "" : function ? std::string(info->name) : std::string(info->module));
        break;
      }
      case RenderFn::Ubacktrace:
      case RenderFn::SprintUbacktrace:
      case RenderFn::UserSyms: {
        int64_t pid = 0;
        if (arg.size >= 16) std::memcpy(&pid, at + 8, sizeof pid);
        const std::vector<uint64_t> frames = callers_of(user_stack(value), callers);
        args[i].s = rendered.emplace_back(user_stack_text(frames, pid, arg.render, record.binary));
        break;
      }
      case RenderFn::Usymname:
      case RenderFn::Usymdata: {
        int64_t pid = 0;
        if (arg.size >= 16) std::memcpy(&pid, at + 8, sizeof pid);
        const uint64_t address = static_cast<uint64_t>(value);
        args[i].s = rendered.emplace_back(arg.render == RenderFn::Usymname
                                              ? user_symbols_.symname(pid, address, record.binary)
                                              : user_symbols_.symdata(pid, address, record.binary));
        break;
      }
      case RenderFn::Symfileline:
        args[i].s = rendered.emplace_back(kernel_.source_lines().symfileline(static_cast<uint64_t>(value)));
        break;
      case RenderFn::Symfile:
        args[i].s = rendered.emplace_back(kernel_.source_lines().symfile(static_cast<uint64_t>(value)));
        break;
      case RenderFn::Symline:
        args[i].s = rendered.emplace_back(kernel_.source_lines().symline(static_cast<uint64_t>(value)));
        break;
    }
  }
  if (header.group) {
    PendingHit &hit = pending_hits_[header.group];
    hit.probe_point = &record.probe_point;
    format.format_to(hit.text, args.data());
    return;
  }
  record_text_.clear();
  format.format_to(record_text_, args.data());
  output_->begin_probe(record.probe_point);
  output_->write(record_text_);
}

std::vector<uint64_t> Session::kernel_stack(int64_t id) const {
  const int fd = map_fd(Layout::kStacksMap);
  if (id < 0 || id > UINT32_MAX || fd < 0) return {};
  std::vector<uint64_t> stack(layout_.stack_frames(), 0);
  const uint32_t key = static_cast<uint32_t>(id);
  if (bpf_map_lookup_elem(fd, &key, stack.data()) != 0) return {};
  return probe_frames(kernel_.symbols(), stack, layout_.options.max_backtrace);
}

// The addresses of user stack `stack_id` (Layout::kUserStacksMap), innermost
// first; none for a negative id (a stack that could not be taken).
std::vector<uint64_t> Session::user_stack(int64_t stack_id) const {
  const int fd = map_fd(Layout::kUserStacksMap);
  std::vector<uint64_t> ips(Layout::kUserStackDepth);
  const uint32_t key = static_cast<uint32_t>(stack_id);
  if (stack_id < 0 || fd < 0 || bpf_map_lookup_elem(fd, &key, ips.data()) != 0) return {};
  ips.erase(std::find(ips.begin(), ips.end(), uint64_t{0}), ips.end());
  return ips;
}

// ubacktrace(), ucallers(): "0x401136 0x401190"; sprint_ubacktrace(): one
// line per frame, " 0x0000000000401136 : f+0x0/0xb [/path/prog]";
// sprint_usyms(): " 0x401136 : f+0x0/0xb [/path/prog]".
std::string Session::user_stack_text(const std::vector<uint64_t> &frames, int64_t pid, RenderFn render,
                                     const std::string &binary) {
  auto symdata = [&](uint64_t ip) { return user_symbols_.symdata(pid, ip, binary); };
  if (render == RenderFn::UserSyms) return format_syms(frames, symdata);
  std::string text;
  for (uint64_t ip : frames) {
    if (render == RenderFn::SprintUbacktrace) {
      text += fmt::format(" 0x{:016x} : {}\n", ip, symdata(ip));
    } else {
      text += fmt::format("{}0x{:x}", text.empty() ? "" : " ", ip);
    }
  }
  return text;
}

void Session::write_pending_hit(uint16_t group) {
  auto it = pending_hits_.find(group);
  if (it == pending_hits_.end()) return;
  output_->begin_probe(*it->second.probe_point);
  output_->write(it->second.text);
  pending_hits_.erase(it);
}

// At the end of the run: hits whose HitEnd never came (lost to a full ring
// buffer, or cut short) still print what they printed.
void Session::write_pending_hits() {
  for (const auto &[group, hit] : pending_hits_) {
    output_->begin_probe(*hit.probe_point);
    output_->write(hit.text);
  }
  pending_hits_.clear();
}

void Session::consume_records() {
  if (!ring_) return;
  ring_buffer__consume(ring_.get());
  output_->flush();
}

int Session::status_word(uint32_t offset) const {
  if (!globals_.get()) return 0;
  uint64_t v;
  std::memcpy(&v, globals_.get() + offset, sizeof v);
  return v != 0;
}

// After the end probes, as stap's synthesized end probes do.
void Session::display_unread_globals() {
  std::vector<GlobalSnapshot> report = unread_globals(program_, *store_);
  if (report.empty()) return;
  output_->begin_probe("");  // the runtime's report, no probe's
  for (const GlobalSnapshot &global : report) output_->global_at_exit(global);
}

bool Session::exit_requested_by_kernel() const { return status_word(layout_.exit_request_offset); }

// ---------------------------------------------------------------- event loop

void Session::event_loop() {
  Fd epoll(epoll_create1(EPOLL_CLOEXEC));
  enum : uint64_t { kRing = 0, kSignal = 1, kTargetExit = 2, kMetrics = 3, kProcfs = 4, kFirstTimer = 5 };
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  if (ring_) watch(ring_buffer__epoll_fd(ring_.get()), kRing);
  watch(signal_fd_, kSignal);
  if (target_) watch(target_->exit_fd(), kTargetExit);
  if (metrics_) watch(metrics_->request_fd(), kMetrics);
  if (procfs_server_) watch(procfs_server_->fd(), kProcfs);
  for (size_t i = 0; i < timers_.size(); ++i) watch(timers_[i].fd.get(), kFirstTimer + i);

  const bool has_deadline = options_.timeout_seconds > 0;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.timeout_seconds));
  if (has_deadline) output_->set_write_limits(WriteLimits{signal_fd_, deadline});
  epoll_event events[16];
  while (!stopping_) {
    // Kernel probes that exit() while the ring buffer is full only set a
    // word; poll it a few times a second.
    int wait_ms = globals_.get() ? 200 : -1;
    if (has_deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      wait_ms = wait_ms < 0 ? static_cast<int>(left) : std::min<int>(wait_ms, left);
    }
    const int n = epoll_wait(epoll.get(), events, 16, wait_ms);
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "ERROR: epoll_wait: %s\n", strerror(errno));
      stop(1);
      break;
    }
    // Records first: output of kernel probes that ran before a timer fired
    // is printed before the timer's report.
    consume_records();
    for (int i = 0; i < n && !stopping_; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kSignal) {
        stop(0);
      } else if (tag == kMetrics) {
        metrics_->answer([this] { return render_metrics(); });
      } else if (tag == kProcfs) {
        procfs_server_->process();
      } else if (tag == kTargetExit) {
        stop(target_->finish());  // -c CMD has exited: the run ends, as stap's
      } else if (tag >= kFirstTimer) {
        Timer &timer = timers_[tag - kFirstTimer];
        uint64_t expirations;
        if (read(timer.fd.get(), &expirations, sizeof expirations) == sizeof expirations) {
          if (timer.run.resolved->jitter && !arm_timer(timer))
            output_->warning(fmt::format("cannot re-arm timer for probe {}: {}", timer.run.resolved->name,
                                         strerror(errno)));
          run_probe(timer.run);
        }
      }
    }
    if (exit_requested_by_kernel()) stop(0);
    detach_begun_running_probes();
    // Output that can no longer be written ends the run like an error would.
    if (!stopping_ && !output_->failure().empty()) stop(1);
  }
}

// ---------------------------------------------------------------- ending

// Every counter of what kernel probes could not do, as warnings (text) or
// "lost" objects (JSON); only counters that are not zero.
std::vector<LostCount> Session::loss_counts() const {
  std::vector<LostCount> out;
  if (globals_.get()) {
    uint64_t lost;
    std::memcpy(&lost, globals_.get() + layout_.ringbuf_lost_offset, sizeof lost);
    if (lost)
      out.push_back({"ringbuf_records", lost,
                     fmt::format("{} output records from kernel probes lost: ring buffer full ({} bytes)", lost,
                                 layout_.options.ringbuf_size),
                     "", layout_.options.ringbuf_size, ""});
    uint64_t skipped;
    std::memcpy(&skipped, globals_.get() + layout_.nesting_skipped_offset, sizeof skipped);
    if (skipped)
      out.push_back({"nesting_skipped", skipped,
                     fmt::format("{} kernel probe hits skipped: more than {} probe programs nested on one CPU "
                                 "(each interrupting the one before)",
                                 skipped, Layout::kNestingLevels),
                     "", Layout::kNestingLevels, ""});
    uint64_t stacks_lost;
    std::memcpy(&stacks_lost, globals_.get() + layout_.stacks_lost_offset, sizeof stacks_lost);
    if (stacks_lost)
      out.push_back({"stacks_lost", stacks_lost,
                     fmt::format("{} kernel stacks lost: the stack map (MAXSTACKS={}) refused them (a hash "
                                 "collision with another stack, or every entry in use)",
                                 stacks_lost, layout_.options.max_stacks),
                     "", layout_.options.max_stacks, ""});
  }
  // Kernel probes cannot stop the run at a full map as stap does ("Array
  // overflow"): the updates they could not store are counted and reported.
  if (store_)
    for (const Store::Loss &loss : store_->losses()) {
      const std::string limit = loss.global->max_entries
                                    ? "size limit " + std::to_string(loss.max_entries)
                                    : "MAXMAPENTRIES=" + std::to_string(loss.max_entries);
      out.push_back({"map_full", loss.lost,
                     fmt::format("Array overflow in kernel probes: {} updates to '{}' lost ({})", loss.lost,
                                 loss.global->name, limit),
                     loss.global->name, loss.max_entries, ""});
    }
  for (const BpfProgramInfo &info : bpf_.programs) {
    bpf_program *prog = find_program(info);
    if (!prog || bpf_program__fd(prog) < 0) continue;
    bpf_prog_info prog_info{};
    uint32_t len = sizeof prog_info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &prog_info, &len) != 0) continue;
    if (prog_info.recursion_misses)
      out.push_back({"recursion_skipped", prog_info.recursion_misses,
                     fmt::format("probe {} at {} skipped {} times: BPF programs do not nest on one CPU",
                                 info.resolved.name, info.probe ? info.probe->loc.str() : "?",
                                 static_cast<unsigned long long>(prog_info.recursion_misses)),
                     "", 0, info.resolved.point});
  }
  return out;
}

// A scrape of --metrics, on the runtime thread between two handlers: the
// reads a timer probe would make (double-buffered globals drained first).
std::string Session::render_metrics() {
  store_->begin_probe_run();
  std::string out;
  for (const auto &g : program_.globals)
    if (serves_metrics(*g)) render_global_metrics(out, snapshot_global(*g, *store_));
  render_lost_metrics(out, loss_counts());
  return out;
}

void Session::report_losses() {
  std::vector<LostCount> losses = loss_counts();
  if (losses.empty()) return;
  output_->begin_probe("");
  for (const LostCount &count : losses) output_->lost(count);
  output_->flush();
}

int Session::run() {
  SignalBlock signals;
  signal_fd_ = signals.fd();
  formats_.reserve(program_.formats.size());
  for (const ast::FormatInfo &info : program_.formats) formats_.push_back(Format::parse(info.text));
  // Bound before anything is loaded: a taken port is an error like any other.
  if (!options_.metrics_address.empty()) {
    if (const std::string clash = metric_name_clash(program_.globals); !clash.empty()) {
      fprintf(stderr, "ERROR: %s\n", clash.c_str());
      return 1;
    }
    metrics_ = std::make_unique<MetricsServer>(parse_listen_address(options_.metrics_address));
  }
  output_ = options_.json_output ? make_json_output(options_.output_path) : make_text_output(options_.output_path);
  // A stalled reader of the output is waited for only until a signal
  // (Ctrl-C, SIGTERM, SIGHUP) or, once the event loop runs, -T's deadline.
  output_->set_write_limits(WriteLimits{signal_fd_, std::nullopt});

  if (!bpf_.programs.empty()) {
    if (const std::string missing = missing_bpf_capabilities(); !missing.empty()) {
      fprintf(stderr, "ERROR: loading the kernel probes needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN); "
                      "this process lacks %s\n", missing.c_str());
      return 1;
    }
    if (!load_kernel_side() || !map_globals()) return 1;
  }
  store_ = std::make_unique<Store>(program_, layout_, kernel_access_.get());
  rt_.store = store_.get();
  rt_.output = output_.get();
  rt_.formats = &formats_;
  rt_.kernel = &kernel_;
  collect_user_probes();
  if (!start_target() || !start_procfs()) return 1;

  if (!objects_.empty()) {
    if (const int events = map_fd(Layout::kEventsMap); events >= 0) {
      ring_.reset(ring_buffer__new(events, &Session::on_record, this, nullptr));
      if (!ring_) {
        fprintf(stderr, "ERROR: cannot open the output ring buffer: %s\n", strerror(errno));
        return 1;
      }
    }
    if (!attach_kernel_probes()) return 1;
  }

  // Every kernel probe is attached: what begin prints ("Monitoring...") is true.
  for (const UserProbeRun &run : begin_) {
    if (stopping_) break;
    run_probe(run);
  }
  // -c CMD runs once the probes are in place and begin has run, as in stap.
  if (target_ && !stopping_) target_->release();
  // Timer periods count from the end of the begin probes, as in stap.
  if (!stopping_ && !start_timers()) stop(1);
  if (!stopping_) event_loop();
  if (metrics_) metrics_->stop_answering();

  // Stopping: detach first so nothing new arrives, then take in everything
  // the kernel side still holds before the end probes read it.
  links_.clear();
  running_links_.clear();
  consume_records();
  write_pending_hits();
  store_->drain_double_buffered();
  // After a run-time error the error probes run first, then the end probes
  // (as stap does). An error inside these handlers ends the sequence.
  bool handlers_ok = true;
  if (status_ != 0)
    for (const UserProbeRun &run : error_)
      if (handlers_ok) handlers_ok = run_probe(run);
  for (const UserProbeRun &run : end_)
    if (handlers_ok) handlers_ok = run_probe(run);
  if (handlers_ok) display_unread_globals();
  output_->flush();
  report_losses();
  if (const std::string failure = output_->failure(); !failure.empty()) {
    fprintf(stderr, "ERROR: %s\n", failure.c_str());
    return 1;
  }
  return status_;
}

}  // namespace session_detail

int run_session(const ast::Program &program, const Layout &layout, const BpfObject &bpf, const HostProgram &host,
                const KernelInfo &kernel, const RunOptions &options) {
  try {
    session_detail::Session session(program, layout, bpf, host, kernel, options);
    return session.run();
  } catch (const FormatError &e) {
    fprintf(stderr, "ERROR: bad format string: %s\n", e.message.c_str());
  } catch (const std::exception &e) {
    fprintf(stderr, "ERROR: %s\n", e.what());
  }
  return 1;
}

}  // namespace ntap
