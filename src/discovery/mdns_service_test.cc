// MdnsService on real sockets, inside a network namespace this test creates
// (unshare(CLONE_NEWNET)): a veth pair vm0 <-> vm1 with TEST-NET addresses,
// like two hosts on a LAN. Nothing can reach the machine's real network.
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN); skipped loudly otherwise.
#include "discovery/mdns_service.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <thread>

#include "crypto/ed25519.h"

namespace vudo {
namespace {

namespace ip = boost::asio::ip;
using Clock = std::chrono::steady_clock;

NodeId KeyFromSeed(uint8_t n) {
  Bytes seed(32, n);
  return crypto::SecretKey::FromSeed(seed)->public_key();
}

bool Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

// Moves this process into a fresh network namespace with a veth pair.
// Returns an empty string on success, else why not.
std::string EnterLabNamespace() {
  static std::string result = [] {
    if (geteuid() != 0) return std::string("not running as root");
    if (unshare(CLONE_NEWNET) != 0) {
      return std::string("unshare(CLONE_NEWNET) failed: ") +
             std::strerror(errno);
    }
    const char* cmds[] = {
        "ip link set lo up",
        "ip link add vm0 type veth peer name vm1",
        "ip addr add 192.0.2.1/24 dev vm0",
        "ip addr add 192.0.2.2/24 dev vm1",
        "ip addr add 2001:db8::1/64 dev vm0 nodad",
        "ip addr add 2001:db8::2/64 dev vm1 nodad",
        "ip link set vm0 up",
        "ip link set vm1 up",
    };
    for (const char* c : cmds) {
      if (!Sh(c)) return std::string("failed: ") + c;
    }
    return std::string();
  }();
  return result;
}

#define REQUIRE_LAB()                                                   \
  do {                                                                  \
    std::string why = EnterLabNamespace();                              \
    if (!why.empty()) {                                                 \
      GTEST_SKIP() << "SKIPPED LOUDLY: mDNS socket test needs its own " \
                      "network namespace (run as root): "               \
                   << why;                                              \
    }                                                                   \
  } while (0)

MdnsServiceOptions OnInterface(const char* name) {
  MdnsServiceOptions o;
  o.interfaces = {name};
  return o;
}

// Runs io until done() or the deadline.
template <typename F>
bool RunUntil(boost::asio::io_context& io, F done,
              std::chrono::milliseconds limit) {
  auto end = Clock::now() + limit;
  while (!done() && Clock::now() < end) {
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  return done();
}

TEST(MdnsService, TwoNodesOnAVethLanFindEachOther) {
  REQUIRE_LAB();
  boost::asio::io_context io;
  MdnsService a(io, KeyFromSeed(1), {*ParseSocketAddr("0.0.0.0:1111")},
                OnInterface("vm0"));
  auto opt_b = OnInterface("vm1");
  opt_b.user_data = "doc=s1";
  MdnsService b(io, KeyFromSeed(2), {*ParseSocketAddr("0.0.0.0:2222")}, opt_b);
  std::optional<NodeAddr> a_saw, b_saw;
  Clock::time_point a_at, b_at;
  a.on_peer([&](const NodeAddr& n) {
    if (!a_saw) a_at = Clock::now();
    a_saw = n;
  });
  b.on_peer([&](const NodeAddr& n) {
    if (!b_saw) b_at = Clock::now();
    b_saw = n;
  });
  auto t0 = Clock::now();
  ASSERT_TRUE(a.Start().has_value());
  ASSERT_TRUE(b.Start().has_value());
  EXPECT_EQ(a.announced_addrs(),
            std::vector<UdpEndpoint>{*ParseSocketAddr("192.0.2.1:1111")});
  EXPECT_EQ(a.joined(), (std::vector<std::string>{"vm0/v4", "vm0/v6"}));
  ASSERT_TRUE(RunUntil(
      io, [&] { return a_saw && b_saw; }, std::chrono::milliseconds(5000)));
  EXPECT_EQ(a_saw->id, KeyFromSeed(2));
  EXPECT_EQ(b_saw->id, KeyFromSeed(1));
  EXPECT_EQ(a_saw->direct_addresses,
            std::vector<UdpEndpoint>{*ParseSocketAddr("192.0.2.2:2222")});
  EXPECT_EQ(b_saw->direct_addresses,
            std::vector<UdpEndpoint>{*ParseSocketAddr("192.0.2.1:1111")});
  EXPECT_EQ(a.peers().size(), 1u);
  EXPECT_EQ(a.peer_details()[0].user_data,
            std::optional<std::string>("doc=s1"));
  EXPECT_FALSE(b.SetUserData(std::string(300, 'x')).has_value());
  auto ms = [&](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(t - t0).count();
  };
  std::printf(
      "[ measure  ] mDNS discovery on a veth LAN: A saw B after %.2f ms, "
      "B saw A after %.2f ms\n",
      ms(a_at), ms(b_at));
}

// Two network stacks: B runs on a thread that moved into a namespace of its
// own, joined to the test's namespace by a veth pair. Packets must really
// cross the link (no local multicast loop can help).
TEST(MdnsService, TwoHostsInSeparateNamespaces) {
  REQUIRE_LAB();
  std::promise<long> tid_promise;
  std::promise<std::string> b_result;
  std::atomic<bool> stop{false};
  std::atomic<bool> a_found{false};
  std::thread host_b([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      tid_promise.set_value(-1);
      return;
    }
    tid_promise.set_value(syscall(SYS_gettid));
    for (int i = 0; i < 200 && if_nametoindex("vx1") == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!Sh("ip link set lo up") ||
        !Sh("ip addr add 198.51.100.2/24 dev vx1") ||
        !Sh("ip link set vx1 up")) {
      b_result.set_value("setup failed");
      return;
    }
    boost::asio::io_context io;
    MdnsService b(io, KeyFromSeed(12), {*ParseSocketAddr("0.0.0.0:2222")});
    std::string saw;
    b.on_peer([&](const NodeAddr& n) {
      if (n.id == KeyFromSeed(11) && !n.direct_addresses.empty()) {
        saw = FormatSocketAddr(n.direct_addresses[0]);
      }
    });
    if (!b.Start()) {
      b_result.set_value("start failed");
      return;
    }
    auto end = Clock::now() + std::chrono::seconds(5);
    while (!stop && Clock::now() < end && (saw.empty() || !a_found)) {
      io.run_for(std::chrono::milliseconds(5));
    }
    b_result.set_value(saw);
  });
  long tid = tid_promise.get_future().get();
  if (tid < 0) {
    host_b.join();
    GTEST_SKIP() << "SKIPPED LOUDLY: second namespace not available";
  }
  ASSERT_TRUE(
      Sh(fmt::format("ip link add vx0 type veth peer name vx1 netns {}", tid)));
  ASSERT_TRUE(Sh("ip addr add 198.51.100.1/24 dev vx0"));
  ASSERT_TRUE(Sh("ip link set vx0 up"));
  boost::asio::io_context io;
  MdnsService a(io, KeyFromSeed(11), {*ParseSocketAddr("0.0.0.0:1111")},
                OnInterface("vx0"));
  std::optional<NodeAddr> a_saw;
  a.on_peer([&](const NodeAddr& n) { a_saw = n; });
  ASSERT_TRUE(a.Start().has_value());
  auto b_future = b_result.get_future();
  bool ok = RunUntil(
      io,
      [&] {
        if (a_saw) a_found = true;
        return a_saw && b_future.wait_for(std::chrono::seconds(0)) ==
                            std::future_status::ready;
      },
      std::chrono::milliseconds(6000));
  stop = true;
  host_b.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(a_saw->id, KeyFromSeed(12));
  EXPECT_EQ(a_saw->direct_addresses,
            std::vector<UdpEndpoint>{*ParseSocketAddr("198.51.100.2:2222")});
  EXPECT_EQ(b_future.get(), "198.51.100.1:1111");
  Sh("ip link del vx0");
}

// An interface deleted and created again (new index) is joined again by
// the periodic rescan; discovery resumes.
TEST(MdnsService, RejoinsARecreatedInterface) {
  REQUIRE_LAB();
  auto make_link = [] {
    return Sh("ip link add vr0 type veth peer name vr1") &&
           Sh("ip addr add 203.0.113.1/24 dev vr0") &&
           Sh("ip addr add 203.0.113.2/24 dev vr1") &&
           Sh("ip link set vr0 up") && Sh("ip link set vr1 up");
  };
  ASSERT_TRUE(make_link());
  boost::asio::io_context io;
  auto opt_a = OnInterface("vr0");
  opt_a.rescan_interval_ns = 100 * kMs;
  opt_a.engine.expiry_ns = 500 * kMs;
  opt_a.engine.ipv6 = false;
  auto opt_b = opt_a;
  opt_b.interfaces = {"vr1"};
  MdnsService a(io, KeyFromSeed(21), {*ParseSocketAddr("0.0.0.0:2100")}, opt_a);
  MdnsService b(io, KeyFromSeed(22), {*ParseSocketAddr("0.0.0.0:2200")}, opt_b);
  int discovered = 0;
  bool expired = false;
  a.on_event([&](const MdnsEvent& e) {
    if (e.kind == MdnsEventKind::kDiscovered) ++discovered;
    if (e.kind == MdnsEventKind::kExpired) expired = true;
  });
  ASSERT_TRUE(a.Start().has_value());
  ASSERT_TRUE(b.Start().has_value());
  ASSERT_TRUE(RunUntil(
      io, [&] { return discovered == 1; }, std::chrono::milliseconds(3000)));
  ASSERT_TRUE(Sh("ip link del vr0"));
  ASSERT_TRUE(RunUntil(
      io, [&] { return expired; }, std::chrono::milliseconds(3000)));
  ASSERT_TRUE(make_link());
  EXPECT_TRUE(RunUntil(
      io, [&] { return discovered == 2; }, std::chrono::milliseconds(4000)));
  Sh("ip link del vr0");
}

TEST(MdnsService, Ipv6Only) {
  REQUIRE_LAB();
  boost::asio::io_context io;
  auto opt_a = OnInterface("vm0");
  opt_a.engine.ipv4 = false;
  auto opt_b = OnInterface("vm1");
  opt_b.engine.ipv4 = false;
  MdnsService a(io, KeyFromSeed(3), {*ParseSocketAddr("[::]:3333")}, opt_a);
  MdnsService b(io, KeyFromSeed(4), {*ParseSocketAddr("[::]:4444")}, opt_b);
  ASSERT_TRUE(a.Start().has_value());
  ASSERT_TRUE(b.Start().has_value());
  ASSERT_TRUE(RunUntil(
      io, [&] { return !a.peers().empty(); }, std::chrono::milliseconds(5000)));
  EXPECT_EQ(a.peers()[0].id, KeyFromSeed(4));
  EXPECT_EQ(a.peers()[0].direct_addresses,
            std::vector<UdpEndpoint>{*ParseSocketAddr("[2001:db8::2]:4444")});
}

TEST(MdnsService, SilentPeerExpiresAndGarbageIsDropped) {
  REQUIRE_LAB();
  boost::asio::io_context io;
  MdnsService a(io, KeyFromSeed(5), {*ParseSocketAddr("0.0.0.0:5555")},
                OnInterface("vm0"));
  auto b = std::make_unique<MdnsService>(
      io, KeyFromSeed(6), std::vector{*ParseSocketAddr("0.0.0.0:6666")},
      OnInterface("vm1"));
  bool expired = false;
  a.on_event([&](const MdnsEvent& e) {
    if (e.kind == MdnsEventKind::kExpired && e.peer.id == KeyFromSeed(6)) {
      expired = true;
    }
  });
  ASSERT_TRUE(a.Start().has_value());
  ASSERT_TRUE(b->Start().has_value());
  ASSERT_TRUE(RunUntil(
      io, [&] { return !a.peers().empty(); }, std::chrono::milliseconds(5000)));

  // Garbage multicast onto the LAN from vm1's side.
  ip::udp::socket junk(io, ip::udp::v4());
  junk.set_option(
      ip::multicast::outbound_interface(ip::make_address_v4("192.0.2.2")));
  ip::udp::endpoint group(ip::make_address_v4(kMdnsGroupV4), kMdnsPort);
  const uint8_t bad1[] = {1, 2, 3};
  const uint8_t bad2[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c};
  junk.send_to(boost::asio::buffer(bad1), group);
  junk.send_to(boost::asio::buffer(bad2), group);
  ASSERT_TRUE(RunUntil(
      io, [&] { return a.stats().malformed >= 2; },
      std::chrono::milliseconds(2000)));

  b->Stop();
  b.reset();
  auto t_stop = Clock::now();
  ASSERT_TRUE(RunUntil(
      io, [&] { return expired; }, std::chrono::milliseconds(6000)));
  double s = std::chrono::duration<double>(Clock::now() - t_stop).count();
  EXPECT_TRUE(a.peers().empty());
  EXPECT_GT(s, 1.5);  // the expiry rule: 3 * tau = 2.1 s, not sooner
  std::printf("[ measure  ] silent peer expired after %.2f s\n", s);
}

}  // namespace
}  // namespace vudo
