#include "crypto/ed25519.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/encoding.h"

namespace vudo::crypto {
namespace {

namespace fs = std::filesystem;

fs::path TempDir() {
  auto d = fs::temp_directory_path() /
           ("vudo-ed25519-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(Ed25519Test, Rfc8032TestVector1) {
  auto seed = HexDecode(
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto key = SecretKey::FromSeed(*seed).value();
  EXPECT_EQ(key.public_key().ToHex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = key.Sign({});
  EXPECT_EQ(HexEncode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(key.public_key().Verify({}, sig));
  sig[0] ^= 1;
  EXPECT_FALSE(key.public_key().Verify({}, sig));
}

TEST(Ed25519Test, SignVerifyAndHexRoundTrip) {
  auto a = SecretKey::Generate();
  auto b = SecretKey::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  auto sig = a.Sign(AsBytes("hello"));
  EXPECT_TRUE(a.public_key().Verify(AsBytes("hello"), sig));
  EXPECT_FALSE(a.public_key().Verify(AsBytes("hellp"), sig));
  EXPECT_FALSE(b.public_key().Verify(AsBytes("hello"), sig));
  auto hex = a.public_key().ToHex();
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(PublicKey::FromHex(hex).value(), a.public_key());
}

TEST(Ed25519Test, RejectsBadPublicKeys) {
  EXPECT_FALSE(PublicKey::FromHex("abcd"));
  EXPECT_FALSE(PublicKey::FromHex(std::string(64, 'g')));
  EXPECT_FALSE(PublicKey::FromBytes(Bytes(31)));
  // The all-zero point has small order: refused.
  EXPECT_FALSE(PublicKey::FromBytes(Bytes(32, 0)));
}

TEST(Ed25519Test, PemRoundTripAndGarbage) {
  auto key = SecretKey::Generate();
  auto pem = key.ToPem();
  EXPECT_NE(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto back = SecretKey::FromPem(pem).value();
  EXPECT_EQ(back.public_key(), key.public_key());
  EXPECT_FALSE(SecretKey::FromPem(""));
  EXPECT_FALSE(SecretKey::FromPem("garbage"));
  EXPECT_FALSE(SecretKey::FromPem(
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  std::string truncated = pem;
  truncated.erase(40, 8);
  EXPECT_FALSE(SecretKey::FromPem(truncated));
  EXPECT_FALSE(SecretKey::FromPem(std::string(10000, 'A')));
}

TEST(Ed25519Test, FileIsOwnerOnlyAndLoadsBack) {
  auto dir = TempDir();
  auto path = dir / "secret.key";
  auto key = SecretKey::Generate();
  ASSERT_TRUE(key.SaveToFile(path));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(SecretKey::LoadFromFile(path).value().public_key(),
            key.public_key());
  EXPECT_EQ(key.SaveToFile(path).error().code, ErrorCode::kAlreadyExists);
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(SecretKey::LoadFromFile(path).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(SecretKey::LoadFromFile(dir / "missing").error().code,
            ErrorCode::kNotFound);
  { std::ofstream(dir / "bad.key") << "not a key"; }
  ::chmod((dir / "bad.key").c_str(), 0600);
  EXPECT_EQ(SecretKey::LoadFromFile(dir / "bad.key").error().code,
            ErrorCode::kInvalidArgument);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vudo::crypto
