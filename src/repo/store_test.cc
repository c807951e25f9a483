#include "repo/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace vudo::repo {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vudo-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

Bytes B(std::string_view s) { return ToBytes(s); }

TEST_F(StoreTest, AppendLoadDedupCompactReopen) {
  auto store = Store::Open(dir_ / "db").value();
  EXPECT_FALSE(store->Load("doc").value().has_value());
  Bytes c1 = B("change-1"), c2 = B("change-2"), c3 = B("change-3");
  EXPECT_EQ(store->AppendChanges("doc", {c1, c2}, {B("h1"), B("h2")}).value(),
            2u);
  EXPECT_EQ(store->AppendChanges("doc", {c2, c3}, {B("h2"), B("h3")}).value(),
            1u)
      << "h2 is already stored";
  EXPECT_EQ(store->Load("doc").value().value(), B("change-1change-2change-3"));
  EXPECT_EQ(store->PendingChanges("doc").value(), 3u);
  ASSERT_TRUE(store->Compact("doc", B("SNAP")));
  EXPECT_EQ(store->PendingChanges("doc").value(), 0u);
  Bytes c4 = B("change-4");
  store->AppendChanges("doc", {c4}, {B("h4")}).value();
  EXPECT_EQ(store->Load("doc").value().value(), B("SNAPchange-4"));
  // A second document is independent.
  store->AppendChanges("other", {c1}, {B("h1")}).value();
  EXPECT_EQ(store->ListDocuments().value(),
            (std::vector<std::string>{"doc", "other"}));
  ASSERT_TRUE(store->PutSetting("default_doc", "abc"));
  ASSERT_TRUE(store->PutSyncState("doc", "peer", B("state")));
  store.reset();

  auto again = Store::Open(dir_ / "db").value();
  EXPECT_EQ(again->Load("doc").value().value(), B("SNAPchange-4"));
  EXPECT_EQ(again->GetSetting("default_doc").value().value(), "abc");
  EXPECT_FALSE(again->GetSetting("missing").value().has_value());
  EXPECT_EQ(again->GetSyncState("doc", "peer").value().value(), B("state"));
  ASSERT_TRUE(again->RemoveDocument("other"));
  EXPECT_FALSE(again->Load("other").value().has_value());
}

TEST_F(StoreTest, RefusesAFileThatIsNotAStore) {
  {
    FILE* f = fopen((dir_ / "junk").c_str(), "w");
    fputs("this is not a database at all, just some text", f);
    fclose(f);
  }
  auto r = Store::Open(dir_ / "junk");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace vudo::repo
