#include "repo/document_id.h"

#include <gtest/gtest.h>

#include <set>

#include "base/encoding.h"
#include "crypto/hash.h"

namespace vudo::repo {
namespace {

// Ids produced by automerge-repo 2.5.6 (stringifyAutomergeUrl) for these
// bytes.
constexpr std::string_view kBytesHex = "4a5b10229c3f41d2830e010203040506";
constexpr std::string_view kText = "235mYAaFq3G2SdRxKfhYPkevRi8P";

DocumentId Known() {
  return DocumentId::FromBytes(HexDecode(kBytesHex).value()).value();
}

TEST(DocumentIdTest, MatchesAutomergeRepo) {
  EXPECT_EQ(Known().ToString(), kText);
  EXPECT_EQ(Known().ToUrl(), std::string("automerge:") + std::string(kText));
  EXPECT_EQ(DocumentId().ToString(), "11111111111111114Ki9Gx");
  EXPECT_EQ(DocumentId::Parse(kText).value(), Known());
  EXPECT_EQ(DocumentId::Parse("automerge:235mYAaFq3G2SdRxKfhYPkevRi8P").value(),
            Known());
  // Another id automerge-repo generated, with its binary form.
  EXPECT_EQ(HexEncode(DocumentId::Parse("automerge:cb7VPXS1Q3Az1t2gde1dm8WjwdD")
                          .value()
                          .bytes()),
            "2c0aed0b4cff45278dc3c8c3ba7a958f");
}

TEST(DocumentIdTest, ParseErrorsAreClear) {
  auto err = [](std::string_view s) {
    auto r = DocumentId::Parse(s);
    EXPECT_FALSE(r) << s;
    return r ? Error{} : r.error();
  };
  EXPECT_EQ(err("").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(err("automerge:").code, ErrorCode::kInvalidArgument);
  EXPECT_NE(err("235mYAaFq3G2SdRxKfhYPkevRi80").message.find("document id"),
            std::string::npos);  // '0' is not base58
  // One character changed: checksum mismatch.
  EXPECT_EQ(err("235mYAaFq3G2SdRxKfhYPkevRi8Q").code, ErrorCode::kCorrupt);
  // Valid base58check, but 15 bytes.
  std::string short_id = crypto::Base58CheckEncode(Bytes(15, 7));
  EXPECT_NE(err(short_id).message.find("15 bytes"), std::string::npos);
  EXPECT_NE(err("http://x/235mYAaFq3G2SdRxKfhYPkevRi8P").message.find("scheme"),
            std::string::npos);
  EXPECT_NE(
      err("automerge:235mYAaFq3G2SdRxKfhYPkevRi8P#").message.find("heads"),
      std::string::npos);
  EXPECT_NE(err(std::string(5000, 'z')).message.find("too long"),
            std::string::npos);
  EXPECT_FALSE(DocumentId::FromBytes(Bytes(17, 0)));
}

TEST(DocumentIdTest, RandomIsUuidV4AndDistinct) {
  std::set<DocumentId> seen;
  for (int i = 0; i < 100; ++i) {
    DocumentId id = DocumentId::Random();
    EXPECT_EQ(id.bytes()[6] >> 4, 4);
    EXPECT_EQ(id.bytes()[8] & 0xC0, 0x80);
    EXPECT_EQ(DocumentId::Parse(id.ToUrl()).value(), id);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(DocumentIdTest, UrlWithHeads) {
  std::array<uint8_t, 32> h1{}, h2{};
  h1.fill(0xAB);
  h2[31] = 1;
  std::string url = Known().ToUrl() + "#" + crypto::Base58CheckEncode(h1) +
                    "|" + crypto::Base58CheckEncode(h2);
  auto parsed = ParseAutomergeUrl(url).value();
  EXPECT_EQ(parsed.document_id, Known());
  EXPECT_TRUE(parsed.has_heads);
  ASSERT_EQ(parsed.heads.size(), 2u);
  EXPECT_EQ(parsed.heads[0], h1);
  EXPECT_EQ(parsed.heads[1], h2);
  EXPECT_EQ(parsed.ToString(), url);

  auto plain = ParseAutomergeUrl(Known().ToUrl()).value();
  EXPECT_FALSE(plain.has_heads);
  auto empty_heads = ParseAutomergeUrl(Known().ToUrl() + "#").value();
  EXPECT_TRUE(empty_heads.has_heads);
  EXPECT_TRUE(empty_heads.heads.empty());

  EXPECT_FALSE(ParseAutomergeUrl(std::string(kText)));  // no prefix
  EXPECT_FALSE(ParseAutomergeUrl(url + "#x"));
  EXPECT_FALSE(ParseAutomergeUrl(url + "|"));
  EXPECT_FALSE(ParseAutomergeUrl(Known().ToUrl() + "#" +
                                 crypto::Base58CheckEncode(Bytes(31, 1))));
}

TEST(DocumentIdTest, Hashable) {
  std::hash<DocumentId> h;
  EXPECT_EQ(h(Known()), h(DocumentId::Parse(kText).value()));
  EXPECT_NE(h(Known()), h(DocumentId()));
}

}  // namespace
}  // namespace vudo::repo
