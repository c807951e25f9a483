// A minimal HTTP/1.1 server (Boost.Beast) for Prometheus: GET /metrics
// returns the text exposition format from a callback; anything else is 404.
// One request per connection is enough for scrapers; requests over 8 KiB or
// slower than 5 s are dropped.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"

namespace vudo::node {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  MetricsServer(boost::asio::io_context& io, Render render);
  ~MetricsServer();
  // addr: "IP:PORT" (port 0 = any). Errors: kInvalidArgument, kIo.
  Status Start(const std::string& addr);
  void Stop();
  // The bound port (after Start).
  uint16_t port() const;

 private:
  void Accept();
  boost::asio::io_context& io_;
  Render render_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
};

}  // namespace vudo::node
