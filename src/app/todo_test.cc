#include "app/todo.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
  EXPECT_EQ(todos.Resolve(milk.id.substr(0, 6)).value(), 0u);
  EXPECT_FALSE(todos.Resolve("9"));
  EXPECT_FALSE(todos.Resolve("zzz"));
  EXPECT_TRUE(todos.Remove(0, 1'700'000'004'000).value());
  ASSERT_EQ(todos.Size(), 1u);
  EXPECT_EQ(todos.List()[0].title, "Walk the cat");
  EXPECT_FALSE(todos.Toggle(5, 1));
  // One change per edit: genesis + 2 adds + toggle + edit + remove.
  EXPECT_EQ(doc.NumChanges(), 6u);
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
