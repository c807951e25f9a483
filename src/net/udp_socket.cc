#include "net/udp_socket.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace vudo::net {

Result<std::unique_ptr<UdpSocket>> UdpSocket::Bind(boost::asio::io_context& io,
                                                   const UdpEndpoint& local,
                                                   Options opts) {
  std::unique_ptr<UdpSocket> s(new UdpSocket(io));
  boost::system::error_code ec;
  s->socket_.open(local.protocol(), ec);
  if (ec) return Err(ErrorCode::kIo, "udp socket: {}", ec.message());
  if (local.address().is_v6())
    s->socket_.set_option(boost::asio::ip::v6_only(true), ec);
  s->socket_.non_blocking(true, ec);
  int fd = s->socket_.native_handle();
  int size = opts.buffer_bytes;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  s->socket_.bind(local, ec);
  if (ec)
    return Err(ErrorCode::kIo, "bind {}:{}: {}", local.address().to_string(),
               local.port(), ec.message());
  s->local_ = s->socket_.local_endpoint(ec);
  if (opts.gso) {
    // Probe: the kernel accepts the option iff it can segment.
    int seg = 1200;
    if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0) {
      seg = 0;
      setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
      s->gso_ = true;
    }
  }
  if (opts.gro) {
    int one = 1;
    s->gro_ = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  }
  s->rx_buf_.resize(65536);
  return s;
}

size_t UdpSocket::RouteMaxUdpPayload(const UdpEndpoint& remote) {
  bool v6 = remote.address().is_v6();
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int mtu = 0;
  socklen_t len = sizeof mtu;
  bool ok =
      connect(fd, remote.data(), static_cast<socklen_t>(remote.size())) == 0 &&
      getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU,
                 &mtu, &len) == 0;
  close(fd);
  if (!ok || mtu <= 0) return 0;
  // IP header (20 / 40) and UDP header (8); a datagram's length field is
  // 16 bits (IPv4 counts its own header in it).
  size_t headers = v6 ? 48 : 28;
  size_t max_len = v6 ? 65527 : 65507;
  if (static_cast<size_t>(mtu) <= headers) return 0;
  return std::min(static_cast<size_t>(mtu) - headers, max_len);
}

UdpSocket::SendResult UdpSocket::Send(const UdpEndpoint& to, ByteSpan data,
                                      size_t segment) {
  int fd = socket_.native_handle();
  size_t off = 0;
  while (off < data.size()) {
    size_t len =
        gso_ ? data.size() - off : std::min(segment, data.size() - off);
    iovec iov{const_cast<uint8_t*>(data.data() + off), len};
    msghdr m{};
    m.msg_name = const_cast<void*>(static_cast<const void*>(to.data()));
    m.msg_namelen = static_cast<socklen_t>(to.size());
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(uint16_t))] = {};
    if (gso_ && len > segment) {
      m.msg_control = cbuf;
      m.msg_controllen = sizeof cbuf;
      cmsghdr* cm = CMSG_FIRSTHDR(&m);
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg16 = static_cast<uint16_t>(segment);
      std::memcpy(CMSG_DATA(cm), &seg16, sizeof seg16);
    }
    ssize_t r;
    do {
      r = sendmsg(fd, &m, MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return SendResult::kWouldBlock;
      if (gso_ && (errno == EIO || errno == EINVAL) && len > segment) {
        // The device cannot segment after all: fall back for good.
        VUDO_LOG_INFO("net: UDP GSO send failed ({}), disabling GSO",
                      std::strerror(errno));
        gso_ = false;
        continue;
      }
      VUDO_LOG_DEBUG("net: sendmsg to {}:{}: {}", to.address().to_string(),
                     to.port(), std::strerror(errno));
      return SendResult::kError;  // dropped; QUIC loss recovery copes
    }
    off += len;
  }
  return SendResult::kSent;
}

size_t UdpSocket::ReceiveAll(
    const std::function<void(const UdpEndpoint&, ByteSpan)>& on_datagram,
    size_t max_calls) {
  int fd = socket_.native_handle();
  size_t count = 0;
  for (size_t i = 0; i < max_calls; ++i) {
    UdpEndpoint from;
    iovec iov{rx_buf_.data(), rx_buf_.size()};
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
    msghdr m{};
    m.msg_name = from.data();
    m.msg_namelen = static_cast<socklen_t>(from.capacity());
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN, or an ICMP error we have nothing to do with
    }
    from.resize(m.msg_namelen);
    size_t segment = static_cast<size_t>(r);
    for (cmsghdr* cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
      if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
        int g;
        std::memcpy(&g, CMSG_DATA(cm), sizeof g);
        if (g > 0) segment = static_cast<size_t>(g);
      }
    }
    if (segment == 0) segment = 1;
    for (size_t off = 0; off < static_cast<size_t>(r) || r == 0;
         off += segment) {
      size_t len = std::min(segment, static_cast<size_t>(r) - off);
      on_datagram(from, ByteSpan(rx_buf_.data() + off, len));
      ++count;
      if (r == 0) break;
    }
  }
  return count;
}

void UdpSocket::WaitReadable(std::function<void(bool ok)> handler) {
  socket_.async_wait(boost::asio::ip::udp::socket::wait_read,
                     [h = std::move(handler)](
                         const boost::system::error_code& ec) { h(!ec); });
}

void UdpSocket::WaitWritable(std::function<void(bool ok)> handler) {
  socket_.async_wait(boost::asio::ip::udp::socket::wait_write,
                     [h = std::move(handler)](
                         const boost::system::error_code& ec) { h(!ec); });
}

void UdpSocket::Close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

}  // namespace vudo::net
