#include "discovery/ticket.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/encoding.h"
#include "base/leb128.h"

namespace vudo {
namespace {

enum AddrKind : uint8_t { kRelay = 0, kIp = 1, kCustom = 2 };
constexpr size_t kCustomInlineMax = 30;
constexpr size_t kMaxRelayUrl = 2048;

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t n = c < 0x80         ? 1
               : (c >> 5) == 6  ? 2
               : (c >> 4) == 14 ? 3
               : (c >> 3) == 30 ? 4
                                : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

// Custom addresses order as iroh's: inline (<= 30 bytes) before heap, inline
// by (len, padded bytes), heap lexicographically.
bool CustomLess(const CustomAddr& a, const CustomAddr& b) {
  if (a.id != b.id) return a.id < b.id;
  bool ai = a.data.size() <= kCustomInlineMax;
  bool bi = b.data.size() <= kCustomInlineMax;
  if (ai != bi) return ai;
  if (ai && a.data.size() != b.data.size())
    return a.data.size() < b.data.size();
  return a.data < b.data;
}

bool EndpointLess(const UdpEndpoint& a, const UdpEndpoint& b) {
  if (a.address().is_v4() != b.address().is_v4()) return a.address().is_v4();
  if (a.address() != b.address()) return a.address() < b.address();
  return a.port() < b.port();
}

}  // namespace

Result<std::string> NormalizeRelayUrl(std::string_view url) {
  if (url.size() > kMaxRelayUrl)
    return Err(ErrorCode::kOverflow, "relay URL longer than {} bytes",
               kMaxRelayUrl);
  if (!IsValidUtf8(url))
    return Err(ErrorCode::kInvalidArgument, "relay URL is not UTF-8");
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return Err(ErrorCode::kInvalidArgument, "relay URL '{}' has no scheme",
               url);
  std::string scheme(url.substr(0, scheme_end));
  for (auto& c : scheme) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https")
    return Err(ErrorCode::kInvalidArgument,
               "relay URL '{}' must be http:// or https://", url);
  std::string_view rest = url.substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?#");
  std::string host(rest.substr(0, path_start));
  if (host.empty())
    return Err(ErrorCode::kInvalidArgument, "relay URL '{}' has no host", url);
  for (char c : host)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '@')
      return Err(ErrorCode::kInvalidArgument,
                 "relay URL '{}' has an invalid host", url);
  for (auto& c : host) c = char(std::tolower(static_cast<unsigned char>(c)));
  std::string path(path_start == std::string_view::npos
                       ? std::string_view("/")
                       : rest.substr(path_start));
  if (path.front() != '/') path.insert(path.begin(), '/');
  return scheme + "://" + host + path;
}

void CanonicalizeNodeAddr(NodeAddr& addr) {
  std::sort(addr.relay_urls.begin(), addr.relay_urls.end());
  addr.relay_urls.erase(
      std::unique(addr.relay_urls.begin(), addr.relay_urls.end()),
      addr.relay_urls.end());
  std::sort(addr.direct_addresses.begin(), addr.direct_addresses.end(),
            EndpointLess);
  addr.direct_addresses.erase(
      std::unique(addr.direct_addresses.begin(), addr.direct_addresses.end()),
      addr.direct_addresses.end());
  std::sort(addr.custom_addresses.begin(), addr.custom_addresses.end(),
            CustomLess);
  addr.custom_addresses.erase(
      std::unique(addr.custom_addresses.begin(), addr.custom_addresses.end()),
      addr.custom_addresses.end());
}

Bytes EncodeTicketBytes(const NodeAddr& in) {
  NodeAddr addr = in;
  CanonicalizeNodeAddr(addr);
  Bytes out;
  AppendUleb(out, 0);  // wire format variant
  Append(out, addr.id.span());
  AppendUleb(out, addr.relay_urls.size() + addr.direct_addresses.size() +
                      addr.custom_addresses.size());
  for (const auto& url : addr.relay_urls) {
    out.push_back(kRelay);
    AppendUleb(out, url.size());
    Append(out, AsBytes(url));
  }
  for (const auto& ep : addr.direct_addresses) {
    out.push_back(kIp);
    if (ep.address().is_v4()) {
      out.push_back(0);
      auto b = ep.address().to_v4().to_bytes();
      out.insert(out.end(), b.begin(), b.end());
    } else {
      out.push_back(1);
      auto b = ep.address().to_v6().to_bytes();
      out.insert(out.end(), b.begin(), b.end());
    }
    AppendUleb(out, ep.port());
  }
  for (const auto& c : addr.custom_addresses) {
    out.push_back(kCustom);
    AppendUleb(out, c.id);
    if (c.data.size() <= kCustomInlineMax) {
      out.push_back(0);
      out.push_back(uint8_t(c.data.size()));
      Append(out, c.data);
      out.insert(out.end(), kCustomInlineMax - c.data.size(), 0);
    } else {
      out.push_back(1);
      AppendUleb(out, c.data.size());
      Append(out, c.data);
    }
  }
  return out;
}

Result<NodeAddr> DecodeTicketBytes(ByteSpan bytes) {
  ByteReader r(bytes);
  constexpr auto kLenient = Leb128Mode::kLenient;
  VUDO_ASSIGN_OR_RETURN(uint64_t variant, ReadUleb(r, kLenient));
  if (variant != 0)
    return Err(ErrorCode::kUnsupported, "ticket: unknown wire variant {}",
               variant);
  VUDO_ASSIGN_OR_RETURN(auto id_bytes, r.ReadSpan(32));
  NodeAddr addr;
  auto id = crypto::PublicKey::FromBytes(id_bytes);
  if (!id) return tl::unexpected(id.error().WithContext("ticket node id"));
  addr.id = *id;
  VUDO_ASSIGN_OR_RETURN(uint64_t count, ReadUleb(r, kLenient));
  // Every address takes at least 2 bytes: bound the count by the input.
  if (count > r.remaining() / 2)
    return Err(ErrorCode::kInvalidArgument,
               "ticket: {} addresses cannot fit in {} bytes", count,
               r.remaining());
  for (uint64_t i = 0; i < count; ++i) {
    VUDO_ASSIGN_OR_RETURN(uint8_t kind, r.ReadU8());
    switch (kind) {
      case kRelay: {
        VUDO_ASSIGN_OR_RETURN(uint64_t len, ReadUleb(r, kLenient));
        if (len > kMaxRelayUrl)
          return Err(ErrorCode::kOverflow, "ticket: relay URL of {} bytes",
                     len);
        VUDO_ASSIGN_OR_RETURN(auto url, r.ReadSpan(len));
        auto norm = NormalizeRelayUrl(AsString(url));
        if (!norm) return tl::unexpected(norm.error().WithContext("ticket"));
        addr.relay_urls.push_back(std::string(AsString(url)));
        break;
      }
      case kIp: {
        VUDO_ASSIGN_OR_RETURN(uint8_t family, r.ReadU8());
        boost::asio::ip::address ip;
        if (family == 0) {
          VUDO_ASSIGN_OR_RETURN(auto b, r.ReadArray<4>());
          ip = boost::asio::ip::address_v4(b);
        } else if (family == 1) {
          VUDO_ASSIGN_OR_RETURN(auto b, r.ReadArray<16>());
          ip = boost::asio::ip::address_v6(b);
        } else {
          return Err(ErrorCode::kInvalidArgument,
                     "ticket: unknown IP family {}", family);
        }
        VUDO_ASSIGN_OR_RETURN(uint64_t port, ReadUleb(r, kLenient));
        if (port > 65535)
          return Err(ErrorCode::kOverflow, "ticket: port {} out of range",
                     port);
        addr.direct_addresses.emplace_back(ip, uint16_t(port));
        break;
      }
      case kCustom: {
        CustomAddr c;
        VUDO_ASSIGN_OR_RETURN(c.id, ReadUleb(r, kLenient));
        VUDO_ASSIGN_OR_RETURN(uint8_t form, r.ReadU8());
        if (form == 0) {
          VUDO_ASSIGN_OR_RETURN(uint8_t len, r.ReadU8());
          if (len > kCustomInlineMax)
            return Err(ErrorCode::kInvalidArgument,
                       "ticket: inline custom address of {} bytes", len);
          VUDO_ASSIGN_OR_RETURN(auto data, r.ReadSpan(kCustomInlineMax));
          c.data.assign(data.begin(), data.begin() + len);
        } else if (form == 1) {
          VUDO_ASSIGN_OR_RETURN(uint64_t len, ReadUleb(r, kLenient));
          if (len > r.remaining())
            return Err(ErrorCode::kTruncated,
                       "ticket: custom address of {} bytes, {} left", len,
                       r.remaining());
          VUDO_ASSIGN_OR_RETURN(c.data, r.ReadBytes(len));
        } else {
          return Err(ErrorCode::kInvalidArgument,
                     "ticket: unknown custom address form {}", form);
        }
        addr.custom_addresses.push_back(std::move(c));
        break;
      }
      default:
        return Err(ErrorCode::kUnsupported, "ticket: unknown address kind {}",
                   kind);
    }
  }
  VUDO_TRY(r.ExpectEnd("ticket"));
  CanonicalizeNodeAddr(addr);
  return addr;
}

std::string EncodeTicket(const NodeAddr& addr) {
  return std::string(kTicketPrefix) + Base32Encode(EncodeTicketBytes(addr));
}

Result<NodeAddr> DecodeTicket(std::string_view ticket) {
  if (ticket.size() > kMaxTicketLength)
    return Err(ErrorCode::kOverflow, "ticket longer than {} characters",
               kMaxTicketLength);
  if (ticket.substr(0, kTicketPrefix.size()) != kTicketPrefix)
    return Err(ErrorCode::kInvalidArgument,
               "not an endpoint ticket (must start with \"endpoint\")");
  auto bytes = Base32Decode(ticket.substr(kTicketPrefix.size()));
  if (!bytes) return tl::unexpected(bytes.error().WithContext("ticket"));
  return DecodeTicketBytes(*bytes);
}

}  // namespace vudo
