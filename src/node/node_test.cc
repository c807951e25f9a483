#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <thread>

#include "node/control.h"
#include "node/home.h"
#include "node/todo_service.h"

namespace vudo::node {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vudo-node-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(NodeTest, TodoCommandsPersistAcrossReopen) {
  std::string doc_url;
  {
    auto home = Home::Open(dir_).value();
    repo::RepoOptions o;
    o.self = home->node_id();
    o.store = home->store.get();
    repo::Repo repo(o);
    TodoService todos(&repo, home->store.get(), &SystemClock::Get());
    ASSERT_TRUE(todos.LoadFromSettings());
    auto a = todos.Execute({{"cmd", "add"}, {"title", "Buy milk"}});
    ASSERT_TRUE(a["ok"].get<bool>()) << a.dump();
    EXPECT_TRUE(a["saved"].get<bool>());
    EXPECT_EQ(a["todo"]["title"], "Buy milk");
    doc_url = a["doc"];
    EXPECT_TRUE(todos.Execute({{"cmd", "add"}, {"title", "Walk"}})["ok"]);
    EXPECT_TRUE(todos.Execute({{"cmd", "toggle"}, {"ref", "1"}})["ok"]);
    EXPECT_TRUE(
        todos.Execute({{"cmd", "edit"}, {"ref", "2"}, {"title", "Run"}})["ok"]);
    auto bad = todos.Execute({{"cmd", "toggle"}, {"ref", "7"}});
    EXPECT_FALSE(bad["ok"].get<bool>());
    EXPECT_FALSE(todos.Execute({{"cmd", "nope"}})["ok"].get<bool>());
    EXPECT_FALSE(todos.Execute(json::array())["ok"].get<bool>());
  }
  auto home = Home::Open(dir_).value();
  repo::RepoOptions o;
  o.self = home->node_id();
  o.store = home->store.get();
  repo::Repo repo(o);
  TodoService todos(&repo, home->store.get(), &SystemClock::Get());
  ASSERT_TRUE(todos.LoadFromSettings());
  auto list = todos.Execute({{"cmd", "list"}});
  EXPECT_EQ(list["doc"], doc_url);
  ASSERT_EQ(list["todos"].size(), 2u);
  EXPECT_EQ(list["todos"][0]["title"], "Buy milk");
  EXPECT_TRUE(list["todos"][0]["done"].get<bool>());
  EXPECT_EQ(list["todos"][1]["title"], "Run");
}

TEST_F(NodeTest, ControlSocketRoundTripAndGarbage) {
  fs::create_directories(dir_);
  boost::asio::io_context io;
  int calls = 0;
  ControlServer server(io, [&](const json& req) {
    ++calls;
    return json{{"ok", true}, {"echo", req}};
  });
  auto path = dir_ / kControlSocketName;
  ASSERT_TRUE(server.Start(path));
  std::thread loop([&] { io.run_for(std::chrono::seconds(10)); });
  auto answer = ControlRequest(path, {{"cmd", "ping"}}, 5000).value();
  EXPECT_EQ(answer["echo"]["cmd"], "ping");
  // A second server on the same path refuses to start: a node runs there.
  boost::asio::io_context io2;
  ControlServer second(io2, [](const json&) { return json{}; });
  EXPECT_EQ(second.Start(path).error().code, ErrorCode::kAlreadyExists);
  io.stop();
  loop.join();
  EXPECT_EQ(calls, 2) << "ping from the second server's liveness check";
  server.Stop();
  EXPECT_EQ(ControlRequest(path, {{"cmd", "ping"}}, 1000).error().code,
            ErrorCode::kNotFound);
}

TEST_F(NodeTest, AccessConfigParsing) {
  std::string id(64, 'a');
  auto key = crypto::SecretKey::Generate().public_key().ToHex();
  auto p = ParseAccessConfig(
               R"({"peers": [")" + key +
               R"("], "documents": {"*": {"read": ["*"], "write": [")" + key +
               R"("]}}})")
               .value();
  EXPECT_TRUE(p.AllowPeer(key));
  EXPECT_FALSE(p.AllowPeer("someone"));
  EXPECT_FALSE(ParseAccessConfig("[1]"));
  EXPECT_FALSE(ParseAccessConfig(R"({"peers": ["not-an-id"]})"));
  EXPECT_FALSE(ParseAccessConfig(R"({"documents": {"bad": {}}})"));
  EXPECT_FALSE(ParseAccessConfig("{"));
}

}  // namespace
}  // namespace vudo::node
