// vudo start: run a node. vudo status: report on a node.
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/streambuf.hpp>
#include <iostream>

#include "cli/command.h"
#include "cli/node_options.h"
#include "discovery/ticket.h"
#include "node/control.h"
#include "node/node.h"

namespace vudo::cli {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

struct StartArgs {
  NodeOptions node;
  uint16_t port = 0;
  std::string bind_v4 = "0.0.0.0";
  std::string bind_v6 = "::";
  std::vector<std::string> connect;
  std::string doc;
  std::string metrics;
  bool json_out = false;
  bool stdin_commands = false;
  bool no_mdns = false;
};

std::string Short(const std::string& id) { return id.substr(0, 10); }

void PrintTodos(const json& todos) {
  int i = 0;
  for (const auto& t : todos)
    std::cout << fmt::format("    {:>3}. [{}] {}\n", ++i,
                             t.value("done", false) ? "x" : " ",
                             t.value("title", ""));
}

void PrintEvent(const StartArgs& args, const node::NodeEvent& ev) {
  if (args.json_out) {
    json j = ev.data;
    j["event"] = ev.type;
    std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace)
              << std::endl;
    return;
  }
  const json& d = ev.data;
  if (ev.type == "ready") {
    std::cout << "vudo node " << args.node.name << "\n"
              << "  node id: " << d["node_id"].get<std::string>() << "\n"
              << "  ticket:  " << d["ticket"].get<std::string>() << "\n"
              << "  doc:     "
              << (d["doc"].is_null() ? "(from the first peer)"
                                     : d["doc"].get<std::string>())
              << "\n  bound:   ";
    for (const auto& b : d["bound"]) std::cout << b.get<std::string>() << " ";
    std::cout << "\n";
    if (d.contains("metrics_port"))
      std::cout << "  metrics: http://" << args.metrics << "/metrics\n";
    std::cout << std::flush;
  } else if (ev.type == "peer-connected") {
    std::cout << "+ peer " << Short(d["peer"]) << " connected (direct "
              << d.value("address", "") << ", via " << d.value("via", "?")
              << ")";
    if (d.contains("connect_ms"))
      std::cout << fmt::format(" in {:.1f} ms", d["connect_ms"].get<double>());
    if (d.contains("reconnect_ms"))
      std::cout << fmt::format(", reconnected {:.0f} ms after the drop",
                               d["reconnect_ms"].get<double>());
    std::cout << std::endl;
  } else if (ev.type == "peer-disconnected") {
    std::cout << "- peer " << Short(d["peer"])
              << " disconnected: " << d.value("reason", "") << std::endl;
  } else if (ev.type == "changes") {
    std::cout << "<- " << d["count"] << " change(s) from " << Short(d["from"]);
    if (d.contains("latency_ms"))
      std::cout << fmt::format(" (sync latency {:.0f} ms)",
                               d["latency_ms"].get<double>());
    std::cout << "\n";
    if (d.contains("todos")) PrintTodos(d["todos"]);
    std::cout << std::flush;
  } else if (ev.type == "doc-adopted") {
    std::cout << "  doc:     " << d["doc"].get<std::string>() << " (shared by "
              << Short(d["from"]) << ")" << std::endl;
  } else if (ev.type == "dial-failed") {
    std::cout << "! dial " << Short(d["peer"])
              << " failed: " << d.value("error", "") << std::endl;
  }
}

// A line typed on stdin: add TEXT | toggle N | edit N TEXT | rm N | list |
// peers | status | quit.
json ParseLine(const std::string& line) {
  std::string cmd = line.substr(0, line.find(' '));
  std::string rest =
      line.size() > cmd.size() ? line.substr(cmd.size() + 1) : "";
  if (cmd == "add") return {{"cmd", "add"}, {"title", rest}};
  if (cmd == "toggle" || cmd == "rm") return {{"cmd", cmd}, {"ref", rest}};
  if (cmd == "edit") {
    std::string ref = rest.substr(0, rest.find(' '));
    std::string title =
        rest.size() > ref.size() ? rest.substr(ref.size() + 1) : "";
    return {{"cmd", "edit"}, {"ref", ref}, {"title", title}};
  }
  return {{"cmd", cmd}};
}

void RunStart(const StartArgs& args) {
  auto dir = args.node.DataDir();
  if (!dir) return Fail(dir.error().ToString());
  node::NodeConfig cfg;
  cfg.data_dir = *dir;
  cfg.name = args.node.name;
  cfg.port = args.port;
  cfg.bind_v4 = args.bind_v4;
  cfg.bind_v6 = args.bind_v6;
  for (const auto& t : args.connect) {
    auto addr = DecodeTicket(t);
    if (!addr) return Fail("bad --connect ticket: " + addr.error().ToString());
    cfg.connect.push_back(*addr);
  }
  if (!args.doc.empty()) {
    auto id = repo::DocumentId::Parse(args.doc);
    if (!id) return Fail("bad --doc: " + id.error().ToString());
    cfg.doc = *id;
  }
  if (!args.metrics.empty()) cfg.metrics_addr = args.metrics;
  cfg.mdns = !args.no_mdns;
  // Quick failure detection for interactive use and the scenarios.
  cfg.transport.idle_timeout_ns = 5'000'000'000;
  cfg.transport.keep_alive_ns = 1'000'000'000;
  cfg.transport.handshake_timeout_ns = 1'000'000'000;

  asio::io_context io;
  node::Node node(io, cfg);
  node.OnEvent([&](const node::NodeEvent& ev) { PrintEvent(args, ev); });
  if (auto s = node.Start(); !s) return Fail(s.error().ToString());

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    node.Stop();
    io.stop();
  });

  // Commands on stdin when it is a terminal (or with --stdin).
  std::unique_ptr<asio::posix::stream_descriptor> in;
  asio::streambuf buf(1 << 20);
  std::function<void()> read_line;
  if (args.stdin_commands || ::isatty(0)) {
    in = std::make_unique<asio::posix::stream_descriptor>(io, ::dup(0));
    read_line = [&] {
      asio::async_read_until(
          *in, buf, '\n', [&](const boost::system::error_code& ec, size_t n) {
            if (ec) {
              if (::isatty(0)) {  // Ctrl-D at a terminal: quit
                node.Stop();
                io.stop();
              }
              return;
            }
            std::string line(asio::buffers_begin(buf.data()),
                             asio::buffers_begin(buf.data()) + n - 1);
            buf.consume(n);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line == "quit" || line == "exit") {
              node.Stop();
              io.stop();
              return;
            }
            if (!line.empty()) {
              json answer = node.Command(ParseLine(line));
              if (args.json_out) {
                answer["event"] = "answer";
                std::cout << answer.dump(-1, ' ', false,
                                         json::error_handler_t::replace)
                          << std::endl;
              } else if (!answer.value("ok", false)) {
                std::cout << "error: " << answer.value("error", "")
                          << std::endl;
              } else if (answer.contains("todos")) {
                PrintTodos(answer["todos"]);
                std::cout << std::flush;
              } else if (answer.contains("todo")) {
                std::cout << "saved: "
                          << answer["todo"]["title"].get<std::string>()
                          << std::endl;
              } else {
                std::cout << answer.dump(2, ' ', false,
                                         json::error_handler_t::replace)
                          << std::endl;
              }
            }
            read_line();
          });
    };
    read_line();
  }
  io.run();
}

void RunStatus(const NodeOptions& options) {
  auto dir = options.DataDir();
  if (!dir) return Fail(dir.error().ToString());
  auto answer = node::ControlRequest(*dir / node::kControlSocketName,
                                     {{"cmd", "status"}});
  if (answer) {
    answer->erase("ok");
    std::cout << answer->dump(2) << "\n";
    return;
  }
  if (answer.error().code != ErrorCode::kNotFound)
    return Fail(answer.error().ToString());
  // Not running: what the data dir holds.
  auto home = node::Home::Open(*dir);
  if (!home) return Fail(home.error().ToString());
  json s = {{"running", false},
            {"node_id", (*home)->node_id()},
            {"data_dir", dir->string()},
            {"peers", json::array()}};
  auto setting = (*home)->store->GetSetting(node::kTodoDocSetting);
  s["doc"] = setting && *setting
                 ? json(std::string(repo::kAutomergeUrlPrefix) + **setting)
                 : json(nullptr);
  json docs = json::array();
  if (auto list = (*home)->store->ListDocuments(); list)
    for (const auto& d : *list) docs.push_back({{"url", "automerge:" + d}});
  s["documents"] = docs;
  std::cout << s.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

void Register(CLI::App& app) {
  static StartArgs a;
  auto* start = app.add_subcommand("start", "Run a node");
  a.node.AddTo(start);
  start->add_option("--port", a.port, "UDP port (0 = any)");
  start->add_option("--bind", a.bind_v4,
                    "IPv4 address to bind (default 0.0.0.0; '' = no IPv4)");
  start->add_option("--bind6", a.bind_v6,
                    "IPv6 address to bind (default ::; '' = no IPv6)");
  start->add_option("--connect", a.connect, "A peer's ticket (repeatable)");
  start->add_option("--doc", a.doc, "The todo document (automerge:<id>)");
  start->add_option("--metrics", a.metrics,
                    "Serve Prometheus metrics on IP:PORT (/metrics)");
  start->add_flag("--json", a.json_out, "Print events as JSON lines");
  start->add_flag("--stdin", a.stdin_commands,
                  "Read commands on stdin even when it is not a terminal");
  start->add_flag("--no-mdns", a.no_mdns, "Do not use mDNS discovery");
  start->callback([] { RunStart(a); });

  static NodeOptions status_opts;
  auto* status = app.add_subcommand(
      "status", "Print a node's peers, paths, documents and metrics as JSON");
  status_opts.AddTo(status);
  status->callback([] { RunStatus(status_opts); });
}
VUDO_REGISTER_COMMANDS(Register);

}  // namespace
}  // namespace vudo::cli
