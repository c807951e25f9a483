#include "node/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace vudo::node {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using nlohmann::json;

class ControlServer::Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(local::socket socket, Handler* handler)
      : socket_(std::move(socket)), buf_(kMaxControlLine), handler_(handler) {}
  void Read() {
    auto self = shared_from_this();
    asio::async_read_until(
        socket_, buf_, '\n',
        [self](const boost::system::error_code& ec, size_t n) {
          if (ec) return;  // closed, or line too long
          std::string line(asio::buffers_begin(self->buf_.data()),
                           asio::buffers_begin(self->buf_.data()) + n);
          self->buf_.consume(n);
          json answer;
          auto request = json::parse(line, nullptr, /*allow_exceptions=*/false);
          if (request.is_discarded())
            answer = {{"ok", false}, {"error", "request is not JSON"}};
          else
            answer = (*self->handler_)(request);
          self->out_ =
              answer.dump(-1, ' ', false, json::error_handler_t::replace) +
              "\n";
          asio::async_write(
              self->socket_, asio::buffer(self->out_),
              [self](const boost::system::error_code& ec2, size_t) {
                if (!ec2) self->Read();
              });
        });
  }

 private:
  local::socket socket_;
  asio::streambuf buf_;
  std::string out_;
  Handler* handler_;
};

ControlServer::ControlServer(asio::io_context& io, Handler handler)
    : io_(io), handler_(std::move(handler)) {}

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start(const std::filesystem::path& path) {
  if (path.native().size() >= sizeof(sockaddr_un::sun_path))
    return Err(ErrorCode::kInvalidArgument,
               "control socket path {} is too long", path.string());
  std::error_code fec;
  if (std::filesystem::exists(path, fec)) {
    auto alive = ControlRequest(path, {{"cmd", "ping"}}, 1000);
    if (alive)
      return Err(ErrorCode::kAlreadyExists,
                 "a node is already running on this data dir ({})",
                 path.string());
    std::filesystem::remove(path, fec);
  }
  boost::system::error_code ec;
  auto acceptor = std::make_unique<local::acceptor>(io_);
  acceptor->open(local(), ec);
  if (!ec) {
    mode_t old = ::umask(077);
    acceptor->bind(local::endpoint(path.string()), ec);
    ::umask(old);
  }
  if (!ec) acceptor->listen(16, ec);
  if (ec)
    return Err(ErrorCode::kIo, "control socket {}: {}", path.string(),
               ec.message());
  ::chmod(path.c_str(), 0600);
  path_ = path;
  acceptor_ = std::move(acceptor);
  Accept();
  return Ok();
}

void ControlServer::Accept() {
  acceptor_->async_accept(
      [this](const boost::system::error_code& ec, local::socket socket) {
        if (ec) return;  // stopped
        std::make_shared<Conn>(std::move(socket), &handler_)->Read();
        Accept();
      });
}

void ControlServer::Stop() {
  if (!acceptor_) return;
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
  std::error_code fec;
  std::filesystem::remove(path_, fec);
}

Result<json> ControlRequest(const std::filesystem::path& path,
                            const json& request, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path)
    return Err(ErrorCode::kInvalidArgument, "socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(ErrorCode::kIo, "socket: {}", std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    if (e == ENOENT || e == ECONNREFUSED)
      return Err(ErrorCode::kNotFound, "no node is running at {}",
                 path.string());
    return Err(ErrorCode::kIo, "connect {}: {}", path.string(),
               std::strerror(e));
  }
  std::string line =
      request.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  for (size_t off = 0; off < line.size();) {
    ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return Err(ErrorCode::kIo, "write to node: {}", std::strerror(errno));
    }
    off += size_t(n);
  }
  std::string answer;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r == 0) {
      ::close(fd);
      return Err(ErrorCode::kTimeout, "the node did not answer in {} ms",
                 timeout_ms);
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(fd);
      return Err(ErrorCode::kClosed, "the node closed the control connection");
    }
    answer.append(buf, size_t(n));
    if (answer.size() > (64u << 20)) {
      ::close(fd);
      return Err(ErrorCode::kOverflow, "answer too large");
    }
    if (auto nl = answer.find('\n'); nl != std::string::npos) {
      answer.resize(nl);
      break;
    }
  }
  ::close(fd);
  auto j = json::parse(answer, nullptr, false);
  if (j.is_discarded())
    return Err(ErrorCode::kCorrupt, "the node's answer is not JSON");
  return j;
}

}  // namespace vudo::node
