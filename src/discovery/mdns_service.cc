#include "discovery/mdns_service.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <set>

#include "base/log.h"

namespace vudo {
namespace {

namespace ip = boost::asio::ip;
using boost::system::error_code;

struct Interface {
  std::string name;
  unsigned index = 0;
  std::vector<ip::address_v4> v4;
  std::vector<ip::address_v6> v6;  // without link-local
  bool has_v6_link_local = false;
  bool loopback = false;
};

// Interfaces that are up and multicast-capable (optionally only `only`).
std::vector<Interface> ListInterfaces(const std::vector<std::string>& only) {
  std::map<std::string, Interface> by_name;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_name == nullptr) continue;
    if (!(it->ifa_flags & IFF_UP) || !(it->ifa_flags & IFF_MULTICAST)) continue;
    std::string name = it->ifa_name;
    if (!only.empty() &&
        std::find(only.begin(), only.end(), name) == only.end()) {
      continue;
    }
    Interface& iface = by_name[name];
    iface.name = name;
    iface.index = if_nametoindex(it->ifa_name);
    iface.loopback = (it->ifa_flags & IFF_LOOPBACK) != 0;
    if (it->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
      iface.v4.push_back(ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
      ip::address_v6::bytes_type b;
      std::copy(std::begin(sin6->sin6_addr.s6_addr),
                std::end(sin6->sin6_addr.s6_addr), b.begin());
      ip::address_v6 a(b);
      if (a.is_link_local()) {
        iface.has_v6_link_local = true;
      } else {
        iface.v6.push_back(a);
      }
    }
  }
  freeifaddrs(list);
  std::vector<Interface> out;
  for (auto& [name, iface] : by_name) {
    if (iface.index != 0) out.push_back(std::move(iface));
  }
  return out;
}

}  // namespace

class MdnsService::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::io_context& io, NodeId self,
       std::vector<UdpEndpoint> our_addrs, MdnsServiceOptions options)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : &SystemClock::Get()),
        engine_(self, options_.engine),
        wanted_addrs_(std::move(our_addrs)),
        v4_(io),
        v6_(io),
        timer_(io),
        rescan_timer_(io) {
    announcement_.relay_url = options_.relay_url;
    announcement_.user_data = options_.user_data;
  }

  Status Start() {
    if (started_) return Err(ErrorCode::kAlreadyExists, "mdns: started");
    {
      MdnsAnnouncement probe = announcement_;
      probe.addrs = {UdpEndpoint(ip::address_v4::loopback(), 1)};
      auto r = BuildMdnsResponse(options_.engine.service, NodeId(), probe);
      if (!r) return tl::unexpected(r.error());
    }
    started_ = true;
    std::string v4_error, v6_error;
    if (options_.engine.ipv4) v4_error = OpenV4();
    if (options_.engine.ipv6) v6_error = OpenV6();
    if (!v4_.is_open() && !v6_.is_open()) {
      return Err(ErrorCode::kIo, "mdns: no socket: ipv4: {}; ipv6: {}",
                 options_.engine.ipv4 ? v4_error : "disabled",
                 options_.engine.ipv6 ? v6_error : "disabled");
    }
    if (!v4_error.empty()) VUDO_LOG_DEBUG("mdns: no IPv4: {}", v4_error);
    if (!v6_error.empty()) VUDO_LOG_DEBUG("mdns: no IPv6: {}", v6_error);
    engine_.SetFamilies(v4_.is_open(), v6_.is_open());
    Rescan();
    engine_.SetAnnouncement(announcement_, Now());
    engine_.Start(Now());
    if (v4_.is_open()) Receive(v4_, v4_buf_, v4_from_);
    if (v6_.is_open()) Receive(v6_, v6_buf_, v6_from_);
    ScheduleRescan();
    Pump();
    return Ok();
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    on_peer_ = nullptr;
    on_event_ = nullptr;
    error_code ec;
    timer_.cancel();
    rescan_timer_.cancel();
    v4_.close(ec);
    v6_.close(ec);
  }

  void SetAddresses(std::vector<UdpEndpoint> addrs) {
    wanted_addrs_ = std::move(addrs);
    UpdateAnnouncement();
  }
  Status SetUserData(std::optional<std::string> user_data) {
    if (user_data && user_data->size() > kMdnsMaxUserData) {
      return Err(ErrorCode::kInvalidArgument,
                 "mdns: user-data of {} bytes (max {})", user_data->size(),
                 kMdnsMaxUserData);
    }
    announcement_.user_data = std::move(user_data);
    UpdateAnnouncement();
    return Ok();
  }

  uint64_t Now() const { return clock_->MonotonicNs(); }

  MdnsServiceOptions options_;
  const Clock* clock_;
  MdnsEngine engine_;
  std::vector<UdpEndpoint> wanted_addrs_;
  MdnsAnnouncement announcement_;
  std::function<void(const NodeAddr&)> on_peer_;
  std::function<void(const MdnsEvent&)> on_event_;
  // "name/v4" / "name/v6" -> interface index the group was joined on.
  std::map<std::string, unsigned> joined_;

 private:
  std::string OpenV4() {
    error_code ec;
    v4_.open(ip::udp::v4(), ec);
    if (!ec) ConfigureCommon(v4_, ec);
    if (!ec) v4_.set_option(ip::multicast::enable_loopback(true), ec);
    if (!ec) v4_.set_option(ip::multicast::hops(255), ec);
    if (!ec) {
      v4_.bind(ip::udp::endpoint(ip::address_v4::any(), options_.port), ec);
    }
    if (ec) {
      error_code ignore;
      v4_.close(ignore);
      return ec.message();
    }
    return {};
  }

  std::string OpenV6() {
    error_code ec;
    v6_.open(ip::udp::v6(), ec);
    if (!ec) v6_.set_option(ip::v6_only(true), ec);
    if (!ec) ConfigureCommon(v6_, ec);
    if (!ec) v6_.set_option(ip::multicast::enable_loopback(true), ec);
    if (!ec) v6_.set_option(ip::multicast::hops(255), ec);
    if (!ec) {
      v6_.bind(ip::udp::endpoint(ip::address_v6::any(), options_.port), ec);
    }
    if (ec) {
      error_code ignore;
      v6_.close(ignore);
      return ec.message();
    }
    return {};
  }

  static void ConfigureCommon(ip::udp::socket& s, error_code& ec) {
    s.set_option(ip::udp::socket::reuse_address(true), ec);
    if (ec) return;
    int one = 1;
    if (setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one,
                   sizeof one) != 0) {
      ec = error_code(errno, boost::system::system_category());
    }
  }

  // Joins the groups on new interfaces and recomputes our addresses.
  void Rescan() {
    interfaces_ = ListInterfaces(options_.interfaces);
    // Forget joins on interfaces that went away or were re-created (new
    // index): the kernel dropped those memberships.
    for (auto it = joined_.begin(); it != joined_.end();) {
      bool alive = false;
      for (const auto& iface : interfaces_) {
        alive |= it->first.rfind(iface.name + "/", 0) == 0 &&
                 it->first.size() == iface.name.size() + 3 &&
                 iface.index == it->second;
      }
      it = alive ? std::next(it) : joined_.erase(it);
    }
    for (const auto& iface : interfaces_) {
      if (v4_.is_open() && !iface.v4.empty()) {
        std::string key = iface.name + "/v4";
        if (!joined_.count(key)) {
          error_code ec;
          v4_.set_option(ip::multicast::join_group(
                             ip::make_address_v4(kMdnsGroupV4), iface.v4[0]),
                         ec);
          if (!ec || ec == boost::system::errc::address_in_use) {
            joined_[key] = iface.index;
          } else {
            VUDO_LOG_DEBUG("mdns: join v4 on {}: {}", iface.name, ec.message());
          }
        }
      }
      if (v6_.is_open() && (!iface.v6.empty() || iface.has_v6_link_local)) {
        std::string key = iface.name + "/v6";
        if (!joined_.count(key)) {
          error_code ec;
          v6_.set_option(ip::multicast::join_group(
                             ip::make_address_v6(kMdnsGroupV6), iface.index),
                         ec);
          if (!ec || ec == boost::system::errc::address_in_use) {
            joined_[key] = iface.index;
          } else {
            VUDO_LOG_DEBUG("mdns: join v6 on {}: {}", iface.name, ec.message());
          }
        }
      }
    }
    UpdateAnnouncement();
  }

  void UpdateAnnouncement() {
    std::vector<UdpEndpoint> out;
    for (const auto& a : wanted_addrs_) {
      if (!a.address().is_unspecified()) {
        out.push_back(a);
        continue;
      }
      bool v4 = a.address().is_v4();
      std::vector<UdpEndpoint> found, loop;
      for (const auto& iface : interfaces_) {
        auto& dst = iface.loopback ? loop : found;
        if (v4) {
          for (const auto& x : iface.v4) dst.emplace_back(x, a.port());
        } else {
          for (const auto& x : iface.v6) dst.emplace_back(x, a.port());
        }
      }
      if (found.empty()) found = std::move(loop);
      out.insert(out.end(), found.begin(), found.end());
    }
    announcement_.addrs = std::move(out);
    if (started_ && !stopped_) {
      engine_.SetAnnouncement(announcement_, Now());
      Pump();
    }
  }

  void Receive(ip::udp::socket& sock, std::array<uint8_t, 9000>& buf,
               ip::udp::endpoint& from) {
    sock.async_receive_from(
        boost::asio::buffer(buf), from,
        [self = shared_from_this(), &sock, &buf, &from](error_code ec,
                                                        size_t n) {
          if (self->stopped_ || ec == boost::asio::error::operation_aborted) {
            return;
          }
          if (!ec) {
            auto st = self->engine_.OnPacket(ByteSpan(buf.data(), n), from,
                                             self->Now());
            if (!st) {
              VUDO_LOG_DEBUG("mdns: dropped packet from {}: {}",
                             FormatSocketAddr(from), st.error().ToString());
            }
            self->Pump();
          }
          self->Receive(sock, buf, from);
        });
  }

  void Send(const MdnsTransmit& t) {
    error_code ec;
    if (t.family == MdnsFamily::kV4) {
      if (!v4_.is_open()) return;
      ip::udp::endpoint group(ip::make_address_v4(kMdnsGroupV4), options_.port);
      for (const auto& iface : interfaces_) {
        if (iface.v4.empty() || !joined_.count(iface.name + "/v4")) continue;
        v4_.set_option(ip::multicast::outbound_interface(iface.v4[0]), ec);
        if (!ec) v4_.send_to(boost::asio::buffer(t.data), group, 0, ec);
        if (ec) {
          VUDO_LOG_DEBUG("mdns: send v4 on {}: {}", iface.name, ec.message());
        }
      }
    } else {
      if (!v6_.is_open()) return;
      for (const auto& iface : interfaces_) {
        if (!joined_.count(iface.name + "/v6")) continue;
        ip::address_v6 g = ip::make_address_v6(kMdnsGroupV6);
        g.scope_id(iface.index);
        v6_.set_option(ip::multicast::outbound_interface(iface.index), ec);
        if (!ec) {
          v6_.send_to(boost::asio::buffer(t.data),
                      ip::udp::endpoint(g, options_.port), 0, ec);
        }
        if (ec) {
          VUDO_LOG_DEBUG("mdns: send v6 on {}: {}", iface.name, ec.message());
        }
      }
    }
  }

  // Sends what the engine wants sent, delivers its events, re-arms the timer.
  void Pump() {
    if (stopped_) return;
    while (auto t = engine_.PollTransmit()) Send(*t);
    while (auto e = engine_.PollEvent()) {
      if (stopped_) return;
      if (on_event_) on_event_(*e);
      if (stopped_) return;
      if (on_peer_ && e->kind != MdnsEventKind::kExpired) {
        on_peer_(e->peer.ToNodeAddr());
      }
    }
    if (stopped_) return;
    auto next = engine_.NextTimeout();
    if (!next) return;
    uint64_t now = Now();
    uint64_t delay = *next > now ? *next - now : 0;
    timer_.expires_after(std::chrono::nanoseconds(delay));
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->stopped_) return;
      self->engine_.OnTimer(self->Now());
      self->Pump();
    });
  }

  void ScheduleRescan() {
    rescan_timer_.expires_after(
        std::chrono::nanoseconds(options_.rescan_interval_ns));
    rescan_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->stopped_) return;
      self->Rescan();
      self->ScheduleRescan();
    });
  }

  ip::udp::socket v4_;
  ip::udp::socket v6_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer rescan_timer_;
  std::array<uint8_t, 9000> v4_buf_{};
  std::array<uint8_t, 9000> v6_buf_{};
  ip::udp::endpoint v4_from_;
  ip::udp::endpoint v6_from_;
  std::vector<Interface> interfaces_;
  bool started_ = false;
  bool stopped_ = false;
};

MdnsService::MdnsService(boost::asio::io_context& io, NodeId self,
                         std::vector<UdpEndpoint> our_addrs,
                         MdnsServiceOptions options)
    : impl_(std::make_shared<Impl>(io, self, std::move(our_addrs),
                                   std::move(options))) {}

MdnsService::~MdnsService() { impl_->Stop(); }

Status MdnsService::Start() { return impl_->Start(); }
void MdnsService::Stop() { impl_->Stop(); }

void MdnsService::on_peer(std::function<void(const NodeAddr&)> callback) {
  impl_->on_peer_ = std::move(callback);
}
void MdnsService::on_event(std::function<void(const MdnsEvent&)> callback) {
  impl_->on_event_ = std::move(callback);
}
void MdnsService::SetAddresses(std::vector<UdpEndpoint> our_addrs) {
  impl_->SetAddresses(std::move(our_addrs));
}
Status MdnsService::SetUserData(std::optional<std::string> user_data) {
  return impl_->SetUserData(std::move(user_data));
}

std::vector<NodeAddr> MdnsService::peers() const {
  std::vector<NodeAddr> out;
  for (const auto& p : impl_->engine_.peers()) out.push_back(p.ToNodeAddr());
  return out;
}
std::vector<MdnsPeer> MdnsService::peer_details() const {
  return impl_->engine_.peers();
}
std::vector<UdpEndpoint> MdnsService::announced_addrs() const {
  return impl_->announcement_.addrs;
}
std::vector<std::string> MdnsService::joined() const {
  std::vector<std::string> out;
  for (const auto& [key, index] : impl_->joined_) out.push_back(key);
  return out;
}
MdnsEngine::Stats MdnsService::stats() const { return impl_->engine_.stats(); }

}  // namespace vudo
