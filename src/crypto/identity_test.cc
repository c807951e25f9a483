#include "crypto/identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace vudo::crypto {
namespace {

TEST(IdentityTest, CreatesOnceThenLoadsTheSameKey) {
  auto dir = std::filesystem::temp_directory_path() /
             ("vudo-identity-" + std::to_string(::getpid())) / "node";
  std::filesystem::remove_all(dir.parent_path());
  auto first = LoadOrCreateIdentity(dir).value();
  auto second = LoadOrCreateIdentity(dir).value();
  EXPECT_EQ(first.public_key(), second.public_key());
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // A damaged key file is reported, never silently replaced.
  { std::ofstream(dir / kSecretKeyFile, std::ios::trunc) << "damaged"; }
  EXPECT_EQ(LoadOrCreateIdentity(dir).error().code,
            ErrorCode::kInvalidArgument);
  std::filesystem::remove_all(dir.parent_path());
}

}  // namespace
}  // namespace vudo::crypto
