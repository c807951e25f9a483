#include "node/metrics_http.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "discovery/node_addr.h"

namespace vudo::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, MetricsServer::Render* render)
      : stream_(std::move(socket)), render_(render) {}
  void Run() {
    parser_.header_limit(8 * 1024);
    parser_.body_limit(8 * 1024);
    stream_.expires_after(std::chrono::seconds(5));
    auto self = shared_from_this();
    http::async_read(stream_, buffer_, parser_,
                     [self](beast::error_code ec, size_t) {
                       if (!ec) self->Respond();
                     });
  }

 private:
  void Respond() {
    const auto& req = parser_.get();
    res_.version(req.version());
    res_.keep_alive(false);
    res_.set(http::field::server, "vudo");
    if (req.method() == http::verb::get && req.target() == "/metrics") {
      res_.result(http::status::ok);
      res_.set(http::field::content_type, "text/plain; version=0.0.4");
      res_.body() = (*render_)();
    } else {
      res_.result(http::status::not_found);
      res_.set(http::field::content_type, "text/plain");
      res_.body() = "not found: try /metrics\n";
    }
    res_.prepare_payload();
    auto self = shared_from_this();
    http::async_write(stream_, res_, [self](beast::error_code, size_t) {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> res_;
  MetricsServer::Render* render_;
};

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, Render render)
    : io_(io), render_(std::move(render)) {}

MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Start(const std::string& addr) {
  auto ep = ParseSocketAddr(addr);
  if (!ep) return tl::unexpected(ep.error().WithContext("--metrics"));
  tcp::endpoint tep(ep->address(), ep->port());
  boost::system::error_code ec;
  auto acc = std::make_unique<tcp::acceptor>(io_);
  acc->open(tep.protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(tep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Err(ErrorCode::kIo, "metrics on {}: {}", addr, ec.message());
  acceptor_ = std::move(acc);
  Accept();
  return Ok();
}

uint16_t MetricsServer::port() const {
  boost::system::error_code ec;
  return acceptor_ ? acceptor_->local_endpoint(ec).port() : 0;
}

void MetricsServer::Accept() {
  acceptor_->async_accept(
      [this](boost::system::error_code ec, tcp::socket socket) {
        if (ec) return;
        std::make_shared<Session>(std::move(socket), &render_)->Run();
        Accept();
      });
}

void MetricsServer::Stop() {
  if (!acceptor_) return;
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
}

}  // namespace vudo::node
