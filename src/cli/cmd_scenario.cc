// vudo test: the report's network scenarios, run for real on this machine.
//
//   vudo test --list                      the scenarios that exist, one a line
//   vudo test --scenario S1|S6 [--json] [--strict] [--keep]
//
// A scenario builds a topology with scripts/netlab (Linux network namespaces,
// so it needs root), starts real `vudo start --json` processes inside it
// (`netlab exec RUN HOST vudo start ...`, each with its own temporary data
// dir; a thread per node reads and timestamps its events), drives edits
// through the nodes' control sockets (Unix sockets are files: reachable from
// outside the namespaces), measures, and always tears everything down: the
// nodes (SIGTERM, then SIGKILL) and the netlab run, on success, failure,
// timeout and SIGINT/SIGTERM/SIGHUP alike. Every wait is bounded.
//
// Output: the report's result fields (connection time, sync latency,
// throughput, reconnection time, data integrity, convergence, PASS/FAIL) as
// a table, or as one JSON object with --json. Exit code 0 only on PASS; 77
// when the scenario cannot run here (not root, no netlab), loudly.
//
// PASS is functional (connected the way the scenario requires, every edit on
// every node, the same document everywhere). The report's time targets are
// printed beside each figure and decide PASS only with --strict: timing
// asserts fail on a loaded machine for reasons that are not bugs.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "cli/command.h"
#include "node/control.h"

namespace vudo::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr int kExitSkipped = 77;

// Set by SIGINT/SIGTERM/SIGHUP while a scenario runs: every wait gives up
// and the teardown runs.
std::atomic<int> g_signal{0};
void OnSignal(int sig) { g_signal = sig; }

const SteadyClock::time_point kEpoch = SteadyClock::now();
// Milliseconds since the harness started (monotonic).
double NowMs() {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - kEpoch)
      .count();
}
void SleepMs(double ms) {
  std::this_thread::sleep_for(std::chrono::microseconds(int64_t(ms * 1000)));
}

Status Interrupted() {
  return Err(ErrorCode::kClosed, "interrupted by signal {}", g_signal.load());
}

std::string JoinArgs(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a.empty() ? "''" : a;
  }
  return s;
}

// fork + execv with stdin from /dev/null; out_fd/err_fd become the child's
// stdout/stderr (-1: /dev/null). The parent's descriptors are O_CLOEXEC.
Result<pid_t> Spawn(const std::vector<std::string>& argv, int out_fd,
                    int err_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Err(ErrorCode::kIo, "fork: {}", std::strerror(errno));
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(out_fd >= 0 ? out_fd : null_fd, 1);
    ::dup2(err_fd >= 0 ? err_fd : null_fd, 2);
    // Default signal handling in the child (ours only set a flag).
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGHUP, SIG_DFL);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Waits up to timeout_ms for pid; its exit status (128+signal if killed),
// or nullopt if it still runs.
std::optional<int> WaitPid(pid_t pid, double timeout_ms) {
  double end = NowMs() + timeout_ms;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r < 0) return 255;  // not our child any more
    if (NowMs() >= end) return std::nullopt;
    SleepMs(5);
  }
}

struct CommandResult {
  int status = 0;
  std::string out;
  std::string err;
};

// Runs argv to completion (killed after timeout_ms), capturing its output.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 double timeout_ms) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return Err(ErrorCode::kIo, "pipe: {}", std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return Err(ErrorCode::kIo, "pipe: {}", std::strerror(errno));
  }
  auto pid = Spawn(argv, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);
  if (!pid) {
    ::close(out[0]);
    ::close(err[0]);
    return tl::unexpected(pid.error());
  }
  CommandResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  double end = NowMs() + timeout_ms;
  bool timed_out = false;
  while (open_fds > 0) {
    double left = end - NowMs();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, int(std::min(left, 100.0)) + 1);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        if (sinks[i]->size() < (1u << 20)) sinks[i]->append(buf, size_t(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (timed_out) ::kill(*pid, SIGKILL);
  auto st = WaitPid(*pid, timed_out ? 2000 : timeout_ms);
  if (!st) {
    ::kill(*pid, SIGKILL);
    st = WaitPid(*pid, 2000);
  }
  if (timed_out)
    return Err(ErrorCode::kTimeout, "`{}` did not finish in {:.0f} s",
               JoinArgs(argv), timeout_ms / 1000);
  r.status = st.value_or(255);
  return r;
}

// One line a running node printed (`vudo start --json`), with the time the
// harness read it.
struct Event {
  double t_ms = 0;  // NowMs() when read
  std::string type;
  json data;
};

// A `vudo start --json` process inside a lab host.
class NodeProc {
 public:
  NodeProc(std::string host, fs::path data_dir, fs::path log_prefix)
      : host_(std::move(host)),
        data_dir_(std::move(data_dir)),
        log_prefix_(std::move(log_prefix)) {}
  ~NodeProc() { Stop(); }
  NodeProc(const NodeProc&) = delete;
  NodeProc& operator=(const NodeProc&) = delete;

  Status Start(const std::vector<std::string>& argv) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
      return Err(ErrorCode::kIo, "pipe: {}", std::strerror(errno));
    std::string err_path = log_prefix_.string() + ".stderr";
    int err_fd = ::open(err_path.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    started_ms_ = NowMs();
    auto pid = Spawn(argv, p[1], err_fd);
    ::close(p[1]);
    if (err_fd >= 0) ::close(err_fd);
    if (!pid) {
      ::close(p[0]);
      return tl::unexpected(pid.error());
    }
    pid_ = *pid;
    fd_ = p[0];
    reader_ = std::thread([this] { ReadLoop(); });
    return Ok();
  }

  // The first event at index >= from for which pred holds; waits up to
  // timeout_ms. Fails when the node exits, on a signal, or on timeout.
  Result<Event> Wait(const std::string& what,
                     const std::function<bool(const Event&)>& pred,
                     double timeout_ms, size_t from = 0) {
    double end = NowMs() + timeout_ms;
    std::unique_lock lock(mu_);
    for (size_t i = from;;) {
      for (; i < events_.size(); ++i)
        if (pred(events_[i])) return events_[i];
      if (eof_)
        return Err(ErrorCode::kClosed,
                   "{}: the node exited while waiting for {} (see {}.stderr)",
                   host_, what, log_prefix_.string());
      if (g_signal) return tl::unexpected(Interrupted().error());
      if (NowMs() >= end)
        return Err(ErrorCode::kTimeout,
                   "{}: timed out after {:.1f} s waiting for {}", host_,
                   timeout_ms / 1000, what);
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }
  Result<Event> WaitType(const std::string& type, double timeout_ms,
                         size_t from = 0) {
    return Wait(
        type, [&](const Event& e) { return e.type == type; }, timeout_ms, from);
  }

  size_t Count() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  std::vector<Event> Events(const std::string& type = "") {
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    for (const auto& e : events_)
      if (type.empty() || e.type == type) out.push_back(e);
    return out;
  }

  // One control-socket request; an answer with "ok": false is an error.
  Result<json> Control(const json& request, int timeout_ms = 15000) {
    auto answer = node::ControlRequest(data_dir_ / node::kControlSocketName,
                                       request, timeout_ms);
    if (!answer)
      return tl::unexpected(answer.error().WithContext(
          fmt::format("{}: {}", host_, request.value("cmd", "?"))));
    if (!answer->value("ok", false))
      return Err(ErrorCode::kRefused, "{}: {} refused: {}", host_,
                 request.value("cmd", "?"), answer->value("error", "?"));
    return answer;
  }

  // SIGTERM, then SIGKILL after 3 s; joins the reader. Idempotent.
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      if (!WaitPid(pid_, 3000)) {
        ::kill(pid_, SIGKILL);
        WaitPid(pid_, 2000);
      }
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  const std::string& host() const { return host_; }
  double started_ms() const { return started_ms_; }

 private:
  void ReadLoop() {
    std::ofstream log(log_prefix_.string() + ".events");
    std::string buf;
    char chunk[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, size_t(n));
      size_t start = 0, nl;
      while ((nl = buf.find('\n', start)) != std::string::npos) {
        double t = NowMs();
        std::string_view line(buf.data() + start, nl - start);
        start = nl + 1;
        // The log keeps long lines (MB of todo titles) short.
        if (line.size() > 4096)
          log << fmt::format("{:.1f} ", t) << line.substr(0, 4096) << "...("
              << line.size() << " bytes)\n";
        else
          log << fmt::format("{:.1f} ", t) << line << "\n";
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;
        Event e{t, j.value("event", ""), std::move(j)};
        std::lock_guard lock(mu_);
        events_.push_back(std::move(e));
        cv_.notify_all();
      }
      buf.erase(0, start);
    }
    log.flush();
    std::lock_guard lock(mu_);
    eof_ = true;
    cv_.notify_all();
  }

  std::string host_;
  fs::path data_dir_;
  fs::path log_prefix_;
  pid_t pid_ = -1;
  int fd_ = -1;
  double started_ms_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  bool eof_ = false;
};

// A netlab run, its nodes and a temporary directory; the destructor tears
// everything down.
class Lab {
 public:
  Lab(fs::path netlab, fs::path vudo, fs::path dir, std::string run)
      : netlab_(std::move(netlab)),
        vudo_(std::move(vudo)),
        dir_(std::move(dir)),
        run_(std::move(run)) {}
  ~Lab() { Teardown(); }

  Status Up(const std::vector<std::string>& topology) {
    std::vector<std::string> argv = {netlab_.string(), "up"};
    argv.insert(argv.end(), topology.begin(), topology.end());
    argv.insert(argv.end(), {"--run", run_});
    up_ = true;  // a partial build is torn down too
    VUDO_ASSIGN_OR_RETURN(auto r, RunCommand(argv, 30000));
    if (r.status != 0)
      return Err(ErrorCode::kIo, "`{}` failed ({}): {}", JoinArgs(argv),
                 r.status, r.err);
    return Ok();
  }

  Result<std::string> Addr(const std::string& host) {
    VUDO_ASSIGN_OR_RETURN(
        auto r, RunCommand({netlab_.string(), "addr", run_, host}, 10000));
    std::string a = r.out.substr(0, r.out.find('\n'));
    if (r.status != 0 || a.empty())
      return Err(ErrorCode::kNotFound, "netlab addr {} {}: {}", run_, host,
                 r.err);
    return a;
  }

  // Starts `vudo start --data-dir <tmp>/<host> --json ARGS...` in host and
  // waits for its ready event.
  Result<NodeProc*> StartNode(const std::string& host,
                              const std::vector<std::string>& args) {
    std::vector<std::string> argv = {netlab_.string(), "exec", run_, host,
                                     vudo_.string(),   "start"};
    argv.insert(argv.end(), {"--data-dir", (dir_ / host).string(), "--json"});
    argv.insert(argv.end(), args.begin(), args.end());
    nodes_.push_back(
        std::make_unique<NodeProc>(host, dir_ / host, dir_ / host));
    NodeProc* n = nodes_.back().get();
    commands_.push_back(host + ": " + JoinArgs(argv));
    VUDO_TRY(n->Start(argv));
    return n;
  }

  // Cuts host off (drop mode: frames silently dropped at the switch) or
  // heals it.
  Status Partition(const std::string& host, bool on) {
    VUDO_ASSIGN_OR_RETURN(auto r,
                          RunCommand({netlab_.string(), "partition", run_, host,
                                      on ? "on" : "off", "--mode", "drop"},
                                     10000));
    if (r.status != 0)
      return Err(ErrorCode::kIo, "netlab partition {} {} failed: {}", host,
                 on ? "on" : "off", r.err);
    return Ok();
  }

  void Teardown() {
    for (auto& n : nodes_) n->Stop();
    if (up_) {
      auto r = RunCommand({netlab_.string(), "down", run_}, 30000);
      if (!r || r->status != 0)
        std::cerr << "vudo test: `netlab down " << run_
                  << "` failed: " << (r ? r->err : r.error().ToString())
                  << " (run `scripts/netlab clean " << run_ << "`)\n";
      up_ = false;
    }
  }

  const std::string& run() const { return run_; }
  const fs::path& dir() const { return dir_; }
  const std::vector<std::string>& commands() const { return commands_; }

 private:
  fs::path netlab_;
  fs::path vudo_;
  fs::path dir_;
  std::string run_;
  bool up_ = false;
  std::vector<std::unique_ptr<NodeProc>> nodes_;
  std::vector<std::string> commands_;
};

// --- results -----------------------------------------------------------------

struct Check {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct Report {
  std::string scenario;
  std::string title;
  std::string topology;
  json fields = json::object();  // the report's result fields
  std::vector<Check> checks;
  std::vector<Check> targets;  // time targets (decide PASS with --strict)
  std::optional<std::string> error;

  void Expect(std::string name, bool ok, std::string detail = "") {
    checks.push_back({std::move(name), ok, std::move(detail)});
  }
  void Target(std::string name, bool ok, std::string detail) {
    targets.push_back({std::move(name), ok, std::move(detail)});
  }
  bool Pass(bool strict) const {
    if (error || checks.empty()) return false;
    for (const auto& c : checks)
      if (!c.ok) return false;
    if (strict)
      for (const auto& t : targets)
        if (!t.ok) return false;
    return true;
  }
};

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double Max(const std::vector<double>& v) {
  return v.empty() ? -1 : *std::max_element(v.begin(), v.end());
}
// Rounded to 0.1 for the report.
double R1(double v) { return std::round(v * 10) / 10; }

// The heads of doc in a node's status (sorted), or empty.
Result<std::vector<std::string>> Heads(NodeProc& n, const std::string& doc) {
  VUDO_ASSIGN_OR_RETURN(json s, n.Control({{"cmd", "status"}}));
  std::vector<std::string> heads;
  for (const auto& d : s.value("documents", json::array())) {
    if (d.value("url", "") != doc) continue;
    for (const auto& h : d.value("heads", json::array()))
      heads.push_back(h.get<std::string>());
  }
  std::sort(heads.begin(), heads.end());
  return heads;
}

// Polls both nodes' heads of doc until they are equal, non-empty and
// satisfy extra() (if given); the time (NowMs) at which that was seen.
Result<double> WaitSameHeads(NodeProc& a, NodeProc& b, const std::string& doc,
                             double timeout_ms, const std::string& what,
                             const std::function<bool()>& extra = nullptr) {
  double end = NowMs() + timeout_ms;
  std::string last;
  for (;;) {
    if (g_signal) return tl::unexpected(Interrupted().error());
    VUDO_ASSIGN_OR_RETURN(auto ha, Heads(a, doc));
    VUDO_ASSIGN_OR_RETURN(auto hb, Heads(b, doc));
    double t = NowMs();
    if (!ha.empty() && ha == hb && (!extra || extra())) return t;
    last = fmt::format("{} heads on {}, {} on {}", ha.size(), a.host(),
                       hb.size(), b.host());
    if (t >= end)
      return Err(ErrorCode::kTimeout,
                 "timed out after {:.1f} s waiting for {} (last: {})",
                 timeout_ms / 1000, what, last);
    SleepMs(2);
  }
}

// QUIC bytes n has sent to peer (status), if connected.
std::optional<uint64_t> PeerBytesSent(NodeProc& n, const std::string& peer) {
  auto s = n.Control({{"cmd", "status"}});
  if (!s) return std::nullopt;
  for (const auto& p : s->value("peers", json::array()))
    if (p.value("id", "") == peer && p.contains("bytes_sent"))
      return p["bytes_sent"].get<uint64_t>();
  return std::nullopt;
}

bool HasTitle(const json& todos, const std::string& title) {
  if (!todos.is_array()) return false;
  for (const auto& t : todos)
    if (t.is_object() && t.value("title", "") == title) return true;
  return false;
}

// A `changes` event whose todo list holds title.
std::function<bool(const Event&)> ChangesWith(const std::string& title) {
  return [title](const Event& e) {
    return e.type == "changes" && e.data.contains("todos") &&
           HasTitle(e.data["todos"], title);
  };
}

bool InLan(const std::string& address) {
  return address.rfind("192.0.2.", 0) == 0 ||
         address.rfind("[2001:db8:1::", 0) == 0 ||
         address.rfind("2001:db8:1::", 0) == 0;
}

// Compares the documents of a and b: same heads and the same JSON value.
// Adds the checks; returns the todo list of a.
Result<json> CheckSameDocument(Report& r, NodeProc& a, NodeProc& b) {
  VUDO_ASSIGN_OR_RETURN(json ja, a.Control({{"cmd", "json"}}, 30000));
  VUDO_ASSIGN_OR_RETURN(json jb, b.Control({{"cmd", "json"}}, 30000));
  bool same_heads = ja["heads"] == jb["heads"] && !ja["heads"].empty();
  bool same_value = ja["value"] == jb["value"] && !ja["value"].is_null();
  r.Expect("convergence: same heads on both nodes", same_heads,
           fmt::format("{} head(s)", ja["heads"].size()));
  r.Expect("convergence: same document JSON on both nodes", same_value,
           fmt::format("{} bytes of JSON", ja["value"].dump().size()));
  r.fields["convergence"] = same_heads && same_value ? "PASS" : "FAIL";
  VUDO_ASSIGN_OR_RETURN(json la, a.Control({{"cmd", "list"}}, 30000));
  return la.value("todos", json::array());
}

// Random printable text (not compressible to nothing): the throughput
// payload.
std::string RandomText(std::mt19937_64& rng, size_t n) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,";
  std::string s(n, ' ');
  for (auto& c : s) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return s;
}

// --- S1: same LAN, mDNS discovery ------------------------------------------

constexpr int kS1Samples = 10;
constexpr size_t kS1BulkTodos = 4;
constexpr size_t kS1BulkBytes = 256 * 1024;  // per todo title

Status RunS1(Lab& lab, Report& r) {
  r.title = "Same LAN (mDNS discovery)";
  r.topology = "netlab lan --hosts 2 (192.0.2.0/24, one bridge, multicast)";
  VUDO_TRY(lab.Up({"lan", "--hosts", "2"}));

  // h1 creates the todo document; h2 is told only the document id (no
  // ticket, no address): it must find h1 by mDNS.
  VUDO_ASSIGN_OR_RETURN(NodeProc * a, lab.StartNode("h1", {}));
  VUDO_ASSIGN_OR_RETURN(Event ra, a->WaitType("ready", 10000));
  std::string doc = ra.data.value("doc", "");
  if (doc.empty()) return Err(ErrorCode::kInternal, "h1 has no todo document");
  double t0 = NowMs();
  VUDO_ASSIGN_OR_RETURN(NodeProc * b, lab.StartNode("h2", {"--doc", doc}));
  VUDO_ASSIGN_OR_RETURN(Event rb, b->WaitType("ready", 10000));
  auto pb = b->WaitType("peer-connected", 15000);
  auto pa = a->WaitType("peer-connected", 15000);
  r.Expect("h2 connects to h1 without a ticket", pb.has_value(),
           pb ? "" : pb.error().message);
  r.Expect("h1 sees h2 connected", pa.has_value(),
           pa ? "" : pa.error().message);
  if (!pa || !pb) return Ok();
  std::string via_a = pa->data.value("via", "?"),
              via_b = pb->data.value("via", "?");
  r.Expect("discovered by mDNS", via_a == "mdns" || via_b == "mdns",
           fmt::format("via on h1: {}, on h2: {}", via_a, via_b));
  bool direct = pa->data.value("direct", false) &&
                pb->data.value("direct", false) &&
                InLan(pa->data.value("address", "")) &&
                InLan(pb->data.value("address", ""));
  r.Expect("direct connection on the LAN (no relay)", direct,
           fmt::format("h1 sees {}, h2 sees {}", pa->data.value("address", ""),
                       pb->data.value("address", "")));
  double connected = std::max(pa->t_ms, pb->t_ms) - t0;
  json conn = {{"connection_time_ms", R1(connected)},
               {"h2_start_to_ready_ms", R1(rb.t_ms - t0)},
               {"h2_ready_to_connected_ms", R1(pb->t_ms - rb.t_ms)},
               {"via", {{"h1", via_a}, {"h2", via_b}}},
               {"address",
                {{"h1", pa->data.value("address", "")},
                 {"h2", pb->data.value("address", "")}}}};
  for (auto* e : {&*pa, &*pb})
    if (e->data.contains("connect_ms"))
      conn["dial_to_session_ms"] = e->data["connect_ms"];
  r.fields["connection_time_ms"] = R1(connected);
  r.fields["connection"] = conn;
  r.Target("connection time < 3000 ms (report's target)", connected < 3000,
           fmt::format("{:.1f} ms", connected));
  r.Target("connection time < 300 ms (our goal)", connected < 300,
           fmt::format("{:.1f} ms", connected));

  // h2 receives the document before anyone edits it on h2.
  VUDO_ASSIGN_OR_RETURN(
      double t_doc, WaitSameHeads(*a, *b, doc, 10000, "h2 to get h1's doc"));
  r.fields["initial_doc_sync_ms"] = R1(t_doc - t0);

  // Sync latency: one todo at a time, alternating sides, until visible on
  // the other node (harness, end to end) and as the receiver measured it.
  std::vector<double> e2e, node_ms;
  std::vector<std::string> titles;
  for (int i = 0; i < kS1Samples; ++i) {
    NodeProc& src = i % 2 ? *b : *a;
    NodeProc& dst = i % 2 ? *a : *b;
    std::string title =
        fmt::format("S1 todo {} added on {} ({})", i, src.host(), lab.run());
    size_t from = dst.Count();
    double t = NowMs();
    VUDO_TRY(src.Control({{"cmd", "add"}, {"title", title}}));
    VUDO_ASSIGN_OR_RETURN(
        Event ev, dst.Wait("'" + title + "'", ChangesWith(title), 10000, from));
    e2e.push_back(ev.t_ms - t);
    if (ev.data.contains("latency_ms"))
      node_ms.push_back(ev.data["latency_ms"].get<double>());
    titles.push_back(title);
  }
  r.fields["sync_latency_ms"] = R1(Median(e2e));
  r.fields["sync_latency"] = {{"samples", e2e.size()},
                              {"e2e_median_ms", R1(Median(e2e))},
                              {"e2e_max_ms", R1(Max(e2e))},
                              {"node_median_ms", R1(Median(node_ms))},
                              {"node_max_ms", R1(Max(node_ms))}};
  r.Target("sync latency < 10 ms (report's LAN expectation)", Median(e2e) < 10,
           fmt::format("median {:.1f} ms", Median(e2e)));

  // Throughput: big todo titles added on h1 back to back, until h2 has the
  // same heads.
  std::mt19937_64 rng(std::random_device{}());
  std::vector<std::string> bulk;
  for (size_t i = 0; i < kS1BulkTodos; ++i)
    bulk.push_back(fmt::format("bulk {} ", i) + RandomText(rng, kS1BulkBytes));
  size_t payload = 0;
  for (const auto& s : bulk) payload += s.size();
  std::string id_b = rb.data.value("node_id", "");
  auto wire0 = PeerBytesSent(*a, id_b);
  double tb0 = NowMs();
  for (const auto& s : bulk)
    VUDO_TRY(a->Control({{"cmd", "add"}, {"title", s}}, 60000));
  double t_added = NowMs();
  VUDO_ASSIGN_OR_RETURN(
      double tb1, WaitSameHeads(*a, *b, doc, 60000, "the bulk todos on h2"));
  auto wire1 = PeerBytesSent(*a, id_b);
  double secs = (tb1 - tb0) / 1000;
  double mbps = double(payload) / 1e6 / secs;
  r.fields["throughput_mb_s"] = std::round(mbps * 100) / 100;
  json tp = {
      {"payload_bytes", payload},
      {"todos", bulk.size()},
      {"seconds", std::round(secs * 1000) / 1000},
      {"local_adds_seconds", std::round(t_added - tb0) / 1000},
      {"after_last_add_seconds", std::round(tb1 - t_added) / 1000},
      {"note",
       "MB = 10^6 bytes of todo title text (Automerge text: one op per "
       "character), from the first add on h1 to the same heads on h2; "
       "local_adds_seconds is h1 making the changes, after_last_add_seconds "
       "the rest of the transfer and h2 applying them"}};
  if (wire0 && wire1 && *wire1 >= *wire0) {
    tp["quic_bytes_h1_to_h2"] = *wire1 - *wire0;
    tp["quic_mb_s"] =
        std::round(double(*wire1 - *wire0) / 1e6 / secs * 100) / 100;
  }
  r.fields["throughput"] = tp;
  r.Target("throughput > 10 MB/s (report's LAN expectation)", mbps > 10,
           fmt::format("{:.2f} MB/s", mbps));
  r.fields["reconnection_time_ms"] = nullptr;

  // Integrity: everything on both, and the same document.
  VUDO_ASSIGN_OR_RETURN(json todos, CheckSameDocument(r, *a, *b));
  size_t missing = 0;
  for (const auto& t : titles) missing += !HasTitle(todos, t);
  for (const auto& t : bulk) missing += !HasTitle(todos, t);
  size_t expected = titles.size() + bulk.size();
  r.Expect("data integrity: every todo from each side on both nodes",
           missing == 0 && todos.size() == expected,
           fmt::format("{} todos, {} expected, {} missing", todos.size(),
                       expected, missing));
  r.fields["data_integrity"] =
      missing == 0 && todos.size() == expected ? "PASS" : "FAIL";
  return Ok();
}

// --- S6: partition healing ---------------------------------------------------

constexpr double kS6CutMs = 10000;
// S6 nodes run as `vudo start` does by default, mDNS on (besides the
// ticket); false (`vudo test --scenario S6 --no-mdns`) measures only the
// ticket path: failure detection, redial and backoff.
bool g_s6_mdns = true;

Status RunS6(Lab& lab, Report& r) {
  r.title = "Partition healing (reconnection)";
  r.topology = fmt::format(
      "netlab lan --hosts 2; h2 cut off for 10 s (partition --mode drop); "
      "nodes with the ticket{}",
      g_s6_mdns ? " and mDNS" : " only (--no-mdns)");
  VUDO_TRY(lab.Up({"lan", "--hosts", "2"}));
  VUDO_ASSIGN_OR_RETURN(std::string ip1, lab.Addr("h1"));
  VUDO_ASSIGN_OR_RETURN(std::string ip2, lab.Addr("h2"));
  // h2 dials h1 by ticket; mDNS as configured (see g_s6_mdns).
  std::vector<std::string> common = {"--bind6", ""};
  if (!g_s6_mdns) common.push_back("--no-mdns");
  auto with = [&](std::vector<std::string> v) {
    v.insert(v.end(), common.begin(), common.end());
    return v;
  };
  VUDO_ASSIGN_OR_RETURN(NodeProc * a,
                        lab.StartNode("h1", with({"--bind", ip1})));
  VUDO_ASSIGN_OR_RETURN(Event ra, a->WaitType("ready", 10000));
  std::string ticket = ra.data.value("ticket", "");
  std::string doc = ra.data.value("doc", "");
  double t0 = NowMs();
  VUDO_ASSIGN_OR_RETURN(
      NodeProc * b,
      lab.StartNode("h2", with({"--bind", ip2, "--connect", ticket})));
  VUDO_ASSIGN_OR_RETURN(Event pb, b->WaitType("peer-connected", 15000));
  VUDO_ASSIGN_OR_RETURN(Event pa, a->WaitType("peer-connected", 15000));
  VUDO_TRY(b->WaitType("doc-adopted", 10000));
  r.fields["connection_time_ms"] = R1(std::max(pa.t_ms, pb.t_ms) - t0);
  r.fields["connection"] = {
      {"via", pb.data.value("via", "?")},
      {"mdns", g_s6_mdns},
      {"dial_to_session_ms", pb.data.value("connect_ms", -1.0)}};

  // One todo before the cut.
  const std::string before = "Buy milk";
  size_t from = b->Count();
  double ts = NowMs();
  VUDO_TRY(a->Control({{"cmd", "add"}, {"title", before}}));
  VUDO_ASSIGN_OR_RETURN(Event seen, b->Wait("'Buy milk' on h2",
                                            ChangesWith(before), 10000, from));
  r.fields["sync_latency_ms"] = R1(seen.t_ms - ts);
  r.fields["throughput_mb_s"] = nullptr;

  // The cut: h2's switch port drops every frame; nothing tells the nodes.
  size_t a_mark = a->Count(), b_mark = b->Count();
  VUDO_TRY(lab.Partition("h2", true));
  double t_cut = NowMs();
  // Conflicting edits on both sides: each adds a todo, both rename the
  // first one.
  const std::string on1 = "Added on h1 during the cut";
  const std::string on2 = "Added on h2 during the cut";
  SleepMs(500);
  VUDO_TRY(a->Control({{"cmd", "add"}, {"title", on1}}));
  VUDO_TRY(b->Control({{"cmd", "add"}, {"title", on2}}));
  VUDO_TRY(
      a->Control({{"cmd", "edit"}, {"ref", "1"}, {"title", "Buy oat milk"}}));
  VUDO_TRY(
      b->Control({{"cmd", "edit"}, {"ref", "1"}, {"title", "Buy milk x2"}}));
  VUDO_ASSIGN_OR_RETURN(json la, a->Control({{"cmd", "list"}}));
  VUDO_ASSIGN_OR_RETURN(json lb, b->Control({{"cmd", "list"}}));
  bool diverged = la["todos"] != lb["todos"];
  r.Expect("the nodes diverge during the cut", diverged,
           fmt::format("h1 {} todos, h2 {}", la["todos"].size(),
                       lb["todos"].size()));
  while (NowMs() - t_cut < kS6CutMs) {
    if (g_signal) return Interrupted();
    SleepMs(20);
  }
  double t_heal0 = NowMs();
  VUDO_TRY(lab.Partition("h2", false));
  double t_heal = NowMs();

  // What the nodes noticed during the cut.
  auto is_type = [](const char* type) {
    return [type](const Event& e) { return e.type == type; };
  };
  auto da =
      a->Wait("peer-disconnected", is_type("peer-disconnected"), 0, a_mark);
  auto db =
      b->Wait("peer-disconnected", is_type("peer-disconnected"), 0, b_mark);
  size_t dial_failures = 0;
  for (const auto& e : b->Events("dial-failed"))
    dial_failures += e.t_ms > t_cut;
  json cut = {{"cut_ms", R1(t_heal0 - t_cut)},
              {"heal_command_ms", R1(t_heal - t_heal0)},
              {"dial_failures_during_cut_h2", dial_failures}};
  if (da) cut["h1_noticed_after_ms"] = R1(da->t_ms - t_cut);
  if (db) cut["h2_noticed_after_ms"] = R1(db->t_ms - t_cut);
  if (db) cut["h2_reason"] = db->data.value("reason", "");

  // Reconnection: from the heal to the session being up again on both.
  std::optional<double> reconnect;
  if (db) {
    auto rb = b->WaitType("peer-connected", 30000, b_mark);
    auto rca = a->WaitType("peer-connected", 30000, a_mark);
    r.Expect("h2 reconnects by itself after the heal", rb.has_value(),
             rb ? "" : rb.error().message);
    r.Expect("h1 sees h2 again", rca.has_value(),
             rca ? "" : rca.error().message);
    if (rb && rca) {
      reconnect = std::max(rb->t_ms, rca->t_ms) - t_heal;
      if (rb->data.contains("reconnect_ms"))
        cut["h2_drop_to_reconnect_ms"] = rb->data["reconnect_ms"];
      // Who dialed the connection that came back, and what made it dial
      // (ticket redial or an mDNS rediscovery).
      const Event& dialer = rb->data.value("dialed", false) ? *rb : *rca;
      cut["redialed_by"] = dialer.data.value("dialed", false)
                               ? (&dialer == &*rb ? "h2" : "h1")
                               : "?";
      cut["redial_via"] = dialer.data.value("via", "?");
    }
  } else {
    r.Expect("the cut was long enough to drop the connection", false,
             "no peer-disconnected on h2: the connection survived 10 s");
  }
  // Convergence: same heads and all three todos on both.
  auto three = [&] {
    auto l1 = a->Control({{"cmd", "list"}});
    auto l2 = b->Control({{"cmd", "list"}});
    return l1 && l2 && (*l1)["todos"].size() == 3 && (*l2)["todos"].size() == 3;
  };
  auto tc =
      WaitSameHeads(*a, *b, doc, 30000, "convergence after the heal", three);
  r.Expect("converged after the heal", tc.has_value(),
           tc ? "" : tc.error().message);
  if (tc) cut["heal_to_converged_ms"] = R1(*tc - t_heal);
  r.fields["reconnection_time_ms"] =
      reconnect ? json(R1(*reconnect)) : json(nullptr);
  r.fields["partition"] = cut;
  if (reconnect) {
    r.Target("reconnection < 5000 ms (report's target)", *reconnect < 5000,
             fmt::format("{:.1f} ms", *reconnect));
    r.Target("reconnection < 1000 ms (our goal)", *reconnect < 1000,
             fmt::format("{:.1f} ms", *reconnect));
  }

  VUDO_ASSIGN_OR_RETURN(json todos, CheckSameDocument(r, *a, *b));
  bool all = todos.size() == 3 && HasTitle(todos, on1) && HasTitle(todos, on2);
  std::string first = todos.empty() ? "" : todos[0].value("title", "");
  // Both renames were concurrent text edits of one title: merged, the same
  // on both (checked by CheckSameDocument), and nothing else lost.
  bool first_ok = first.find("milk") != std::string::npos;
  r.Expect("data integrity: all 3 todos on both nodes", all,
           fmt::format("{} todos", todos.size()));
  r.Expect("data integrity: the concurrently renamed todo merged", first_ok,
           "'" + first + "'");
  r.fields["data_integrity"] = all && first_ok ? "PASS" : "FAIL";
  r.fields["todos"] = json::array();
  for (const auto& t : todos) r.fields["todos"].push_back(t.value("title", ""));
  return Ok();
}

// --- the command -------------------------------------------------------------

struct Scenario {
  const char* name;
  Status (*run)(Lab&, Report&);
};
constexpr Scenario kScenarios[] = {{"S1", RunS1}, {"S6", RunS6}};

// scripts/netlab of the source tree this binary was built in (searched
// upwards from the binary, then from the working directory), or
// $VUDO_NETLAB.
std::optional<fs::path> FindNetlab() {
  if (const char* env = std::getenv("VUDO_NETLAB"); env && *env)
    return fs::path(env);
  std::error_code ec;
  for (fs::path start : {fs::read_symlink("/proc/self/exe", ec).parent_path(),
                         fs::current_path(ec)}) {
    for (fs::path p = start; !p.empty(); p = p.parent_path()) {
      if (fs::exists(p / "scripts" / "netlab", ec)) return p / "scripts/netlab";
      if (p == p.parent_path()) break;
    }
  }
  return std::nullopt;
}

std::string Ms(const json& v) {
  return v.is_number() ? fmt::format("{:.1f} ms", v.get<double>()) : "n/a";
}

void PrintHuman(const Report& r, const json& out) {
  const json& f = r.fields;
  std::cout << fmt::format("Scenario {}: {}\n", r.scenario, r.title);
  std::cout << fmt::format("  topology           {}\n", r.topology);
  if (out.contains("run"))
    std::cout << fmt::format("  run                {} (logs: {})\n",
                             out["run"].get<std::string>(),
                             out.value("logs", "removed"));
  std::cout << fmt::format("  connection time    {}",
                           Ms(f.value("connection_time_ms", json())));
  if (f.contains("connection") && f["connection"].contains("via"))
    std::cout << "  via " << f["connection"]["via"].dump();
  std::cout << "\n";
  std::cout << fmt::format("  sync latency       {}",
                           Ms(f.value("sync_latency_ms", json())));
  if (f.contains("sync_latency"))
    std::cout << fmt::format(
        " median end to end ({} samples, max {}; receiver-measured median {})",
        f["sync_latency"]["samples"].get<int>(),
        Ms(f["sync_latency"]["e2e_max_ms"]),
        Ms(f["sync_latency"]["node_median_ms"]));
  std::cout << "\n";
  if (f.value("throughput_mb_s", json()).is_number()) {
    const json& tp = f["throughput"];
    std::cout << fmt::format(
        "  throughput         {:.2f} MB/s ({} bytes of text in {} todos, "
        "{:.3f} s: {:.3f} s making the changes on h1, {:.3f} s more until "
        "h2 had them",
        f["throughput_mb_s"].get<double>(), tp["payload_bytes"].get<size_t>(),
        tp["todos"].get<size_t>(), tp["seconds"].get<double>(),
        tp["local_adds_seconds"].get<double>(),
        tp["after_last_add_seconds"].get<double>());
    if (tp.contains("quic_mb_s"))
      std::cout << fmt::format("; {} QUIC bytes, {:.2f} MB/s on the wire",
                               tp["quic_bytes_h1_to_h2"].get<uint64_t>(),
                               tp["quic_mb_s"].get<double>());
    std::cout << ")\n";
  } else
    std::cout << "  throughput         n/a\n";
  std::cout << fmt::format("  reconnection time  {}\n",
                           Ms(f.value("reconnection_time_ms", json())));
  if (f.contains("partition"))
    std::cout << "  partition          " << f["partition"].dump() << "\n";
  std::cout << fmt::format("  data integrity     {}\n",
                           f.value("data_integrity", "n/a"));
  std::cout << fmt::format("  CRDT convergence   {}\n",
                           f.value("convergence", "n/a"));
  std::cout << fmt::format("  status             {}\n",
                           out["status"].get<std::string>());
  for (const auto& c : r.checks)
    std::cout << fmt::format("    {} {}{}\n", c.ok ? "ok  " : "FAIL", c.name,
                             c.detail.empty() ? "" : " (" + c.detail + ")");
  for (const auto& t : r.targets)
    std::cout << fmt::format("    {} {} ({})\n", t.ok ? "met " : "MISS", t.name,
                             t.detail);
  if (r.error) std::cout << "    error: " << *r.error << "\n";
}

struct TestArgs {
  bool list = false;
  std::string scenario;
  bool json_out = false;
  bool strict = false;
  bool keep = false;
  bool no_mdns = false;
};

void RunTest(const TestArgs& args) {
  if (args.list) {
    for (const auto& s : kScenarios) std::cout << s.name << "\n";
    return;
  }
  if (args.scenario.empty()) return Fail("give --scenario S1|S6 (or --list)");
  const Scenario* sc = nullptr;
  for (const auto& s : kScenarios)
    if (args.scenario == s.name) sc = &s;
  if (!sc) {
    std::string names;
    for (const auto& s : kScenarios) names += std::string(" ") + s.name;
    return Fail(fmt::format(
        "unknown scenario '{}' (these exist:{}; S2-S5 need the relay and "
        "hole punching, not implemented yet)",
        args.scenario, names));
  }
  if (args.no_mdns && std::string(sc->name) != "S6")
    return Fail("--no-mdns only applies to S6 (S1 is mDNS discovery)");
  g_s6_mdns = !args.no_mdns;
  if (::geteuid() != 0) {
    std::cerr << "vudo test: SKIPPED LOUDLY: scenario " << sc->name
              << " needs root to create network namespaces\n";
    return SetExitCode(kExitSkipped);
  }
  auto netlab = FindNetlab();
  std::error_code ec;
  fs::path vudo = fs::read_symlink("/proc/self/exe", ec);
  if (!netlab || ec) {
    std::cerr << "vudo test: SKIPPED LOUDLY: scripts/netlab not found (run "
                 "from the source tree or set VUDO_NETLAB)\n";
    return SetExitCode(kExitSkipped);
  }

  std::random_device rd;
  std::string lower = sc->name;
  for (auto& c : lower) c = char(std::tolower(c));
  std::string run = fmt::format("{}{:06x}", lower, rd() & 0xffffff);
  std::string tmpl = (fs::temp_directory_path() / ("vudo-" + run + "-XXXXXX"));
  if (!::mkdtemp(tmpl.data()))
    return Fail(fmt::format("mkdtemp: {}", std::strerror(errno)));
  fs::path dir = tmpl;

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  struct sigaction old_int, old_term, old_hup;
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  ::sigaction(SIGHUP, &sa, &old_hup);
  ::setenv("NETLAB_QUIET", "1", 1);

  Report report;
  report.scenario = sc->name;
  double t_start = NowMs();
  std::vector<std::string> commands;
  {
    Lab lab(*netlab, vudo, dir, run);
    if (auto s = sc->run(lab, report); !s) report.error = s.error().ToString();
    commands = lab.commands();
  }  // torn down here, whatever happened
  double total = NowMs() - t_start;
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGHUP, &old_hup, nullptr);

  bool pass = report.Pass(args.strict);
  bool keep = args.keep || !pass;
  json out = {{"scenario", report.scenario},
              {"title", report.title},
              {"topology", report.topology},
              {"run", run},
              {"status", pass ? "PASS" : "FAIL"},
              {"strict", args.strict},
              {"duration_s", std::round(total / 100) / 10}};
  for (auto& [k, v] : report.fields.items()) out[k] = v;
  json checks = json::array(), targets = json::array();
  for (const auto& c : report.checks)
    checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  for (const auto& t : report.targets)
    targets.push_back({{"name", t.name}, {"met", t.ok}, {"value", t.detail}});
  out["checks"] = checks;
  out["targets"] = targets;
  out["nodes"] = commands;
  if (report.error) out["error"] = *report.error;
  if (keep)
    out["logs"] = dir.string();
  else
    fs::remove_all(dir, ec);

  if (args.json_out)
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace)
              << std::endl;
  else
    PrintHuman(report, out);
  if (g_signal) return SetExitCode(128 + g_signal);
  if (!pass) SetExitCode(1);
}

void Register(CLI::App& app) {
  static TestArgs a;
  auto* test = app.add_subcommand(
      "test", "Run a network scenario of the report (S1, S6) in netlab");
  test->add_flag("--list", a.list, "Print the scenarios that exist");
  test->add_option("--scenario", a.scenario,
                   "S1 (same LAN, mDNS) or S6 "
                   "(partition healing)");
  test->add_flag("--json", a.json_out, "Print the result as one JSON object");
  test->add_flag("--strict", a.strict,
                 "The report's time targets decide PASS too");
  test->add_flag("--keep", a.keep,
                 "Keep the nodes' data dirs and logs (kept anyway on FAIL)");
  test->add_flag("--no-mdns", a.no_mdns,
                 "S6: nodes without mDNS (the ticket's redial path only)");
  test->callback([] { RunTest(a); });
}
VUDO_REGISTER_COMMANDS(Register);

}  // namespace
}  // namespace vudo::cli
