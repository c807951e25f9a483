#include "discovery/node_addr.h"

#include <gtest/gtest.h>

namespace vudo {
namespace {

TEST(SocketAddrTest, ParsesAndFormatsBothFamilies) {
  auto v4 = ParseSocketAddr("127.0.0.1:1024").value();
  EXPECT_TRUE(v4.address().is_v4());
  EXPECT_EQ(v4.port(), 1024);
  EXPECT_EQ(FormatSocketAddr(v4), "127.0.0.1:1024");
  auto v6 = ParseSocketAddr("[::1]:5").value();
  EXPECT_TRUE(v6.address().is_v6());
  EXPECT_EQ(FormatSocketAddr(v6), "[::1]:5");
}

TEST(SocketAddrTest, RejectsGarbage) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "::1:5", "[::1]5", "[::1]", "host:80", "1.2.3.4:80x", "[zz]:1"}) {
    EXPECT_FALSE(ParseSocketAddr(bad)) << bad;
  }
}

}  // namespace
}  // namespace vudo
