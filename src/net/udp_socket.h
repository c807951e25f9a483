// UdpSocket: a non-blocking UDP socket on an Asio io_context with Linux
// UDP GSO (UDP_SEGMENT) for sending and GRO (UDP_GRO) for receiving when
// the kernel has them; without them it falls back to one datagram per call.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <functional>

#include "base/bytes.h"
#include "base/result.h"

namespace vudo::net {

using UdpEndpoint = boost::asio::ip::udp::endpoint;

class UdpSocket {
 public:
  struct Options {
    bool gso = true;
    bool gro = true;
    int buffer_bytes = 4 << 20;  // SO_RCVBUF / SO_SNDBUF wish
  };
  // Binds `local` (port 0: any). IPv6 sockets are v6-only. Errors: kIo.
  static Result<std::unique_ptr<UdpSocket>> Bind(boost::asio::io_context& io,
                                                 const UdpEndpoint& local,
                                                 Options opts);

  // The largest UDP payload the kernel's route to `remote` carries without
  // fragmentation (its MTU minus the IP and UDP headers), or 0 when
  // unknown. Costs a socket() and connect(): cache it.
  static size_t RouteMaxUdpPayload(const UdpEndpoint& remote);

  // The bound address (with the port the kernel picked).
  const UdpEndpoint& local() const { return local_; }
  bool gso() const { return gso_; }
  bool gro() const { return gro_; }

  enum class SendResult { kSent, kWouldBlock, kError };
  // Sends `data` to `to`: one datagram, or segments of `segment` bytes
  // (GSO when available, else one sendmsg per segment).
  SendResult Send(const UdpEndpoint& to, ByteSpan data, size_t segment);

  // Reads every datagram waiting (at most max_calls recvmsg calls) and
  // calls on_datagram for each (GRO batches are split). Returns the number
  // of datagrams.
  size_t ReceiveAll(
      const std::function<void(const UdpEndpoint&, ByteSpan)>& on_datagram,
      size_t max_calls = 64);

  // Calls `handler` once when readable / writable (or on error/cancel).
  void WaitReadable(std::function<void(bool ok)> handler);
  void WaitWritable(std::function<void(bool ok)> handler);
  void Close();

 private:
  explicit UdpSocket(boost::asio::io_context& io) : socket_(io) {}
  boost::asio::ip::udp::socket socket_;
  UdpEndpoint local_;
  bool gso_ = false, gro_ = false;
  Bytes rx_buf_;
};

}  // namespace vudo::net
