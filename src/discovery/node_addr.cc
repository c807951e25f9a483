#include "discovery/node_addr.h"

#include <charconv>

namespace vudo {

Result<UdpEndpoint> ParseSocketAddr(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':')
      return Err(ErrorCode::kInvalidArgument,
                 "bad socket address '{}': expected [ipv6]:port", text);
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return Err(ErrorCode::kInvalidArgument,
                 "bad socket address '{}': expected ip:port", text);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return Err(ErrorCode::kInvalidArgument,
                 "bad socket address '{}': put IPv6 addresses in brackets",
                 text);
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535 ||
      port.empty())
    return Err(ErrorCode::kInvalidArgument, "bad port in '{}'", text);
  boost::system::error_code aec;
  auto ip = boost::asio::ip::make_address(std::string(host), aec);
  if (aec)
    return Err(ErrorCode::kInvalidArgument, "bad IP address in '{}'", text);
  return UdpEndpoint(ip, uint16_t(p));
}

std::string FormatSocketAddr(const UdpEndpoint& ep) {
  if (ep.address().is_v6())
    return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

}  // namespace vudo
