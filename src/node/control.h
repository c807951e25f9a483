// The local control socket of a running node: a Unix stream socket
// <data dir>/control.sock (mode 0600 in a 0700 dir: only the owner may
// connect) carrying one JSON request per line and one JSON answer per line.
// `vudo todo` and `vudo status` use it to talk to the node of a data dir.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/result.h"

namespace vudo::node {

inline constexpr char kControlSocketName[] = "control.sock";
// Requests longer than this close the connection.
inline constexpr size_t kMaxControlLine = 1 << 20;

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json&)>;
  ControlServer(boost::asio::io_context& io, Handler handler);
  ~ControlServer();
  // Binds (replacing a stale socket file of a dead node; kAlreadyExists if a
  // live node answers on it) and starts accepting.
  Status Start(const std::filesystem::path& path);
  void Stop();

 private:
  class Conn;
  void Accept();

  boost::asio::io_context& io_;
  Handler handler_;
  std::filesystem::path path_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
};

// Sends one request to the node listening at `path` and waits for its answer
// (up to timeout_ms). kNotFound if no node listens there.
Result<nlohmann::json> ControlRequest(const std::filesystem::path& path,
                                      const nlohmann::json& request,
                                      int timeout_ms = 30000);

}  // namespace vudo::node
