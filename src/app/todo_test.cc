#include "app/todo.h"

#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

namespace vudo::app {
namespace {

using automerge::ActorId;
using automerge::Document;

ActorId Actor(uint8_t b) { return ActorId(16, b); }

TEST(TodoTest, AddToggleEditRemove) {
  Document doc(Actor(1));
  TodoList todos(&doc);
  EXPECT_TRUE(todos.EnsureInitialized().value());
  EXPECT_FALSE(todos.EnsureInitialized().value());
  auto [milk, h1] = todos.Add("Buy milk", 1'700'000'000'000).value();
  todos.Add("Walk the dog", 1'700'000'001'000).value();
  ASSERT_EQ(todos.Size(), 2u);
  auto list = todos.List();
  EXPECT_EQ(list[0].title, "Buy milk");
  EXPECT_EQ(list[0].id, milk.id);
  EXPECT_FALSE(list[0].done);
  EXPECT_EQ(list[0].created_ms, 1'700'000'000'000);
  EXPECT_TRUE(todos.Toggle(0, 1'700'000'002'000).value().has_value());
  EXPECT_TRUE(todos.List()[0].done);
  EXPECT_FALSE(todos.SetDone(0, true, 1).value().has_value())
      << "no change when already done";
  EXPECT_TRUE(todos.Edit(1, "Walk the cat", 1'700'000'003'000).value());
  EXPECT_EQ(todos.List()[1].title, "Walk the cat");
  EXPECT_FALSE(todos.Edit(1, "Walk the cat", 1).value());
  EXPECT_EQ(todos.Resolve("2").value(), 1u);
  // 8 characters: never read as a position, whatever the random id.
  EXPECT_EQ(todos.Resolve(milk.id.substr(0, 8)).value(), 0u);
  // A number that is neither a position nor the start of an id.
  std::string unused;
  for (char c = '1'; c <= '9' && unused.empty(); ++c) {
    bool taken = false;
    for (const auto& t : todos.List()) taken = taken || t.id[0] == c;
    if (!taken) unused = std::string(1, c) + "9";
  }
  ASSERT_FALSE(unused.empty());
  EXPECT_FALSE(todos.Resolve(unused));
  EXPECT_FALSE(todos.Resolve("zzz"));
  EXPECT_TRUE(todos.Remove(0, 1'700'000'004'000).value());
  ASSERT_EQ(todos.Size(), 1u);
  EXPECT_EQ(todos.List()[0].title, "Walk the cat");
  EXPECT_FALSE(todos.Toggle(5, 1));
  // One change per edit: genesis + 2 adds + toggle + edit + remove.
  EXPECT_EQ(doc.NumChanges(), 6u);
}

TEST(TodoTest, DigitsThatAreNoPositionResolveAsAnIdPrefix) {
  Document doc(Actor(1));
  TodoList todos(&doc);
  // Ids are random hex: add todos until one starts with six decimal digits
  // that are not a position (each id does with probability ~6%; 300 tries).
  auto digits = [](const std::string& id) {
    for (size_t i = 0; i < 6; ++i)
      if (!std::isdigit(static_cast<unsigned char>(id[i]))) return false;
    return true;
  };
  std::optional<std::string> ref;
  for (int i = 0; i < 300 && !ref; ++i) {
    auto [t, h] = todos.Add("t" + std::to_string(i), 1000 + i).value();
    if (digits(t.id) && std::stoul(t.id.substr(0, 6)) > 300)
      ref = t.id.substr(0, 6);
  }
  ASSERT_TRUE(ref.has_value()) << "no id began with six digits in 300 tries";
  const auto list = todos.List();
  size_t matches = 0, at = 0;
  for (size_t k = 0; k < list.size(); ++k)
    if (list[k].id.starts_with(*ref)) ++matches, at = k;
  ASSERT_EQ(matches, 1u);  // 24 random bits: a clash is ~1e-5
  auto got = todos.Resolve(*ref);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, at);
}

TEST(TodoTest, IndependentInitializationDoesNotConflict) {
  Document a(Actor(1));
  Document b(Actor(2));
  TodoList ta(&a);
  TodoList tb(&b);
  ta.Add("from a", 1000).value();
  tb.Add("from b", 2000).value();
  ASSERT_TRUE(a.Merge(b));
  ASSERT_TRUE(b.Merge(a));
  EXPECT_EQ(ta.Size(), 2u);
  EXPECT_EQ(tb.Size(), 2u);
  EXPECT_EQ(a.Heads(), b.Heads());
  EXPECT_EQ(a.ToJson(), b.ToJson());
}

TEST(TodoTest, ConcurrentEditsMerge) {
  Document a(Actor(1));
  TodoList ta(&a);
  ta.Add("Buy milk", 1000).value();
  Document b = a.Fork(Actor(2));
  TodoList tb(&b);
  // Both toggle: one winner, the same on both sides.
  ta.Toggle(0, 2000).value();
  tb.Toggle(0, 2000).value();
  // Both edit the title: merged as text.
  ta.Edit(0, "Buy oat milk", 3000).value();
  tb.Edit(0, "Buy milk now", 3000).value();
  // Each adds one.
  ta.Add("a's todo", 4000).value();
  tb.Add("b's todo", 4000).value();
  ASSERT_TRUE(a.Merge(b));
  ASSERT_TRUE(b.Merge(a));
  EXPECT_EQ(a.ToJson(), b.ToJson());
  auto list = ta.List();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].title, "Buy oat milk now");
  EXPECT_TRUE(list[0].done);
  // Concurrent remove and toggle: the remove wins.
  Document c = a.Fork(Actor(3));
  TodoList tc(&c);
  ta.Remove(1, 5000).value();
  tc.Toggle(1, 5000).value();
  ASSERT_TRUE(a.Merge(c));
  EXPECT_EQ(ta.Size(), 2u);
}

}  // namespace
}  // namespace vudo::app
