#include "automerge/document.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <tuple>

#include "base/encoding.h"

namespace vudo::automerge {
namespace {

nlohmann::json LoadJson(const std::string& name) {
  std::ifstream f(std::string(VUDO_SHARED_DIR) +
                  "/testdata/automerge/vectors/" + name);
  return nlohmann::json::parse(f);
}

Bytes Hex(const nlohmann::json& j) {
  return HexDecode(j.get<std::string>()).value();
}

std::vector<std::string> HexHeads(Document& d) {
  std::vector<std::string> out;
  for (const auto& h : d.Heads()) out.push_back(HashToHex(h));
  return out;
}

const ActorId kA(16, 0xaa), kB(16, 0xbb);
constexpr int64_t kT0 = 1700000000;

class TodoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    todo_ = LoadJson("todo_changes.json");
    for (const auto& c : todo_["changes"]) chunks_.push_back(Hex(c["hex"]));
  }
  nlohmann::json todo_;
  std::vector<Bytes> chunks_;
};

TEST_F(TodoTest, ApplyVectorChanges) {
  Document d(ActorId(16, 0x01));
  ASSERT_TRUE(d.ApplyChanges(std::span<const Bytes>(chunks_.data(), 5)));
  EXPECT_EQ(d.ToJson(), todo_["mergedStateBeforeC6"]);
  // The conflict on todos[0].done.
  auto todos = d.Get(kRoot, "todos")->obj;
  auto t0 = d.Get(todos, size_t{0})->obj;
  auto all = d.GetAll(t0, "done");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(d.ExportId(all[0].id), "16@" + HexEncode(kA));
  EXPECT_EQ(d.ExportId(all[1].id), "31@" + HexEncode(kB));
  ASSERT_TRUE(d.ApplyChanges(std::span<const Bytes>(chunks_.data() + 5, 1)));
  auto doc = LoadJson("todo_document.json");
  EXPECT_EQ(d.ToJson(), doc["finalJSON"]);
  EXPECT_EQ(HexHeads(d), doc["heads"].get<std::vector<std::string>>());
  EXPECT_EQ(d.NumChanges(), 6u);
}

TEST_F(TodoTest, OutOfOrderChangesQueue) {
  Document d(ActorId(16, 0x01));
  std::vector<Bytes> rev(chunks_.rbegin(), chunks_.rend());
  ASSERT_TRUE(d.ApplyChanges(std::span<const Bytes>(rev.data(), 5)));
  EXPECT_EQ(d.NumChanges(), 0u);
  EXPECT_EQ(d.NumQueued(), 5u);
  auto missing = d.GetMissingDeps({});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(HashToHex(missing[0]), todo_["changes"][0]["hash"]);
  ASSERT_TRUE(d.ApplyChanges(std::span<const Bytes>(&chunks_[0], 1)));
  EXPECT_EQ(d.NumChanges(), 6u);
  EXPECT_EQ(d.NumQueued(), 0u);
}

TEST_F(TodoTest, LocalEditsAreByteIdenticalToAutomergeJs) {
  Document a(kA);
  auto todos = a.PutObject(kRoot, "todos", ObjType::kList).value();
  auto h1 = a.Commit({kT0, "init"});
  ASSERT_TRUE(h1);
  EXPECT_EQ(HexEncode(a.ChangeBytesAt(0)), todo_["changes"][0]["hex"]);
  // push({id: 't1', title: 'Buy milk', done: false}), breadth first.
  auto t1 = a.InsertObject(todos, 0, ObjType::kMap).value();
  ASSERT_TRUE(a.Put(t1, "done", ScalarValue::Bool(false)));
  auto id = a.PutObject(t1, "id", ObjType::kText).value();
  auto title = a.PutObject(t1, "title", ObjType::kText).value();
  ASSERT_TRUE(a.SpliceText(id, 0, 0, "t1"));
  ASSERT_TRUE(a.SpliceText(title, 0, 0, "Buy milk"));
  a.Commit({kT0 + 1, "add t1"});
  EXPECT_EQ(HexEncode(a.ChangeBytesAt(1)), todo_["changes"][1]["hex"]);

  Document b = a.Fork(kB);
  // c3 on A.
  ASSERT_TRUE(a.Put(t1, "done", ScalarValue::Bool(true)));
  ASSERT_TRUE(a.SpliceText(title, 4, 0, "fresh "));
  auto t2 = a.InsertObject(todos, 1, ObjType::kMap).value();
  ASSERT_TRUE(a.Put(t2, "done", ScalarValue::Bool(false)));
  auto id2 = a.PutObject(t2, "id", ObjType::kText).value();
  auto title2 = a.PutObject(t2, "title", ObjType::kText).value();
  ASSERT_TRUE(a.SpliceText(id2, 0, 0, "t2"));
  ASSERT_TRUE(a.SpliceText(title2, 0, 0, "Walk dog"));
  a.Commit({kT0 + 2, "A edits"});
  EXPECT_EQ(HexEncode(a.ChangeBytesAt(2)), todo_["changes"][2]["hex"]);
  // c4, c5 on B.
  ASSERT_TRUE(b.Put(t1, "done", ScalarValue::Bool(true)));
  ASSERT_TRUE(b.SpliceText(title, 4, 0, "oat "));
  auto t3 = b.InsertObject(todos, 1, ObjType::kMap).value();
  ASSERT_TRUE(b.Put(t3, "done", ScalarValue::Bool(false)));
  auto id3 = b.PutObject(t3, "id", ObjType::kText).value();
  auto title3 = b.PutObject(t3, "title", ObjType::kText).value();
  ASSERT_TRUE(b.SpliceText(id3, 0, 0, "t3"));
  ASSERT_TRUE(b.SpliceText(title3, 0, 0, "Read"));
  b.Commit({kT0 + 3, "B edits"});
  EXPECT_EQ(HexEncode(b.ChangeBytesAt(2)), todo_["changes"][3]["hex"]);
  ASSERT_TRUE(b.Put(t1, "done", ScalarValue::Bool(false)));
  b.Commit({kT0 + 4, "B undo"});
  EXPECT_EQ(HexEncode(b.ChangeBytesAt(3)), todo_["changes"][4]["hex"]);
  // Merge, then c6 on A.
  ASSERT_TRUE(a.Merge(b));
  ASSERT_TRUE(a.Put(t1, "done", ScalarValue::Bool(true)));
  // t3 sits at index 2 after the merge (RGA order).
  auto t3v = a.Get(todos, size_t{2});
  ASSERT_TRUE(t3v);
  EXPECT_EQ(t3v->obj, t3);
  ASSERT_TRUE(a.Delete(todos, size_t{2}));
  a.Commit({kT0 + 5, "resolve"});
  EXPECT_EQ(HexEncode(a.ChangeBytesAt(5)), todo_["changes"][5]["hex"]);
  auto doc = LoadJson("todo_document.json");
  EXPECT_EQ(a.ToJson(), doc["finalJSON"]);
  // Saving gives what automerge-js saves.
  EXPECT_EQ(HexEncode(a.Save()), doc["saveHex"]);
}

TEST(DocumentTest, LoadTodoDocument) {
  auto doc = LoadJson("todo_document.json");
  auto todo = LoadJson("todo_changes.json");
  auto d = Document::Load(Hex(doc["saveHex"]), ActorId(16, 1));
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ(d->ToJson(), doc["finalJSON"]);
  EXPECT_EQ(HexHeads(*d), doc["heads"].get<std::vector<std::string>>());
  ASSERT_EQ(d->NumChanges(), 6u);
  // Reconstructed changes are the original chunks.
  for (size_t i = 0; i < 6; ++i) {
    auto idx = d->ChangeIndex(
        HashFromHex(todo["changes"][i]["hash"].get<std::string>()).value());
    ASSERT_TRUE(idx) << i;
    EXPECT_EQ(HexEncode(d->ChangeBytesAt(*idx)), todo["changes"][i]["hex"]);
  }
  EXPECT_EQ(HexEncode(d->Save()), doc["saveHex"]);
}

TEST(DocumentTest, EmptyDocument) {
  Document d(kA);
  auto doc = LoadJson("todo_document.json");
  EXPECT_EQ(HexEncode(d.Save()), doc["emptyDocSaveHex"]);
  auto e = Document::Load(Hex(doc["emptyDocSaveHex"]), kA);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->NumChanges(), 0u);
}

TEST(DocumentTest, ExtraVectors) {
  auto x = LoadJson("extra_vectors.json");
  Document d(ActorId(16, 0xcc));
  std::vector<Bytes> chunks;
  for (const auto& s : x["steps"]) chunks.push_back(Hex(s["hex"]));
  ASSERT_TRUE(d.ApplyChanges(chunks));
  auto j = d.ToJson();
  EXPECT_EQ(j["counter"], 13);
  EXPECT_EQ(j["text"], "hello world");
  EXPECT_EQ(j["bytes"], "010203");
  EXPECT_EQ(j["list"], nlohmann::json::parse("[1,3]"));
  EXPECT_EQ(j["date"], 1700000000123);
  EXPECT_FALSE(j.contains("nul"));
  auto loaded = Document::Load(Hex(x["saveHex"]), ActorId(16, 1));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ(loaded->ToJson(), j);
  EXPECT_EQ(loaded->Heads(), d.Heads());
  // Marks survive a save/load round trip through our encoder.
  EXPECT_EQ(HexEncode(d.Save()), x["saveHex"]);
  auto again = Document::Load(d.SaveNoCompress(), ActorId(16, 1));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->Heads(), d.Heads());
}

TEST(DocumentTest, FormatChecks) {
  auto fc = LoadJson("format_checks.json");
  auto todo = LoadJson("todo_changes.json");
  std::vector<Bytes> ch;
  for (const auto& c : todo["changes"]) ch.push_back(Hex(c["hex"]));
  Bytes concat;
  for (const auto& c : ch) Append(concat, c);
  auto d = Document::Load(concat, kA);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(
      HexHeads(*d),
      fc["loadConcatenatedChanges"]["heads"].get<std::vector<std::string>>());
  // Out of order: c2 then c1.
  Bytes ooo = ch[1];
  Append(ooo, ch[0]);
  auto d2 = Document::Load(ooo, kA);
  ASSERT_TRUE(d2.has_value());
  EXPECT_EQ(d2->ToJson(), fc["loadOutOfOrderChanges"]["json"]);
  // Missing dep.
  EXPECT_FALSE(Document::Load(ch[1], kA).has_value());
  // Bad checksums.
  Bytes bad = ch[0];
  bad[4] ^= 1;
  EXPECT_EQ(Document::Load(bad, kA).error().code, ErrorCode::kCorrupt);
  auto doc = LoadJson("todo_document.json");
  Bytes saved = Hex(doc["saveHex"]);
  Bytes bad_doc = saved;
  bad_doc[4] ^= 1;
  EXPECT_EQ(Document::Load(bad_doc, kA).error().code, ErrorCode::kCorrupt);
  for (size_t n = 1; n < saved.size(); n += 7)
    EXPECT_FALSE(Document::Load(ByteSpan(saved).first(n), kA).has_value());
  // Compressed change chunk.
  Bytes comp = ch[0];
  Append(comp, Hex(fc["compressedChangeChunkType2"]["hex"]));
  auto d3 = Document::Load(comp, kA);
  ASSERT_TRUE(d3.has_value());
  EXPECT_EQ(d3->ToJson(), fc["compressedChangeChunkType2"]["json"]);
  // Author footer (extra bytes) survives save/load with the same hash.
  Bytes author = Hex(fc["authorFooter"]["changeHex"]);
  auto d4 = Document::Load(author, kA).value();
  auto d5 = Document::Load(d4.Save(), kA);
  ASSERT_TRUE(d5.has_value()) << d5.error().ToString();
  EXPECT_EQ(d5->Heads(), d4.Heads());
  EXPECT_EQ(HexEncode(d5->ChangeBytesAt(0)), HexEncode(author));
}

TEST(DocumentTest, CountersAndConflicts) {
  Document d(kA);
  ASSERT_TRUE(d.Put(kRoot, "c", ScalarValue::Counter(10)));
  ASSERT_TRUE(d.Increment(kRoot, "c", 5));
  EXPECT_EQ(d.Get(kRoot, "c")->scalar.i, 15);
  d.Commit({1, ""});
  // Same value: no op.
  ASSERT_TRUE(d.Put(kRoot, "c", ScalarValue::Counter(15)));
  EXPECT_EQ(d.PendingOps(), 0u);
  ASSERT_TRUE(d.Delete(kRoot, "missing"));
  EXPECT_EQ(d.PendingOps(), 0u);
  EXPECT_FALSE(d.Increment(kRoot, "missing", 1).has_value());
  ASSERT_TRUE(d.Put(kRoot, "x", ScalarValue::Int(1)));
  EXPECT_FALSE(d.Increment(kRoot, "x", 1).has_value());
  d.Commit({2, ""});
  Document e = d.Fork(kB);
  ASSERT_TRUE(d.Put(kRoot, "x", ScalarValue::Int(2)));
  ASSERT_TRUE(e.Put(kRoot, "x", ScalarValue::Int(3)));
  ASSERT_TRUE(d.Merge(e));
  EXPECT_EQ(d.GetAll(kRoot, "x").size(), 2u);
  EXPECT_EQ(d.Get(kRoot, "x")->scalar.i, 3);  // bb > aa
  // Putting the winner's value again deletes the loser.
  ASSERT_TRUE(d.Put(kRoot, "x", ScalarValue::Int(3)));
  EXPECT_EQ(d.PendingOps(), 1u);
  EXPECT_EQ(d.GetAll(kRoot, "x").size(), 1u);
}

TEST(DocumentTest, TextSpliceUtf16) {
  Document d(kA);
  auto t = d.PutObject(kRoot, "t", ObjType::kText).value();
  ASSERT_TRUE(d.SpliceText(t, 0, 0, "a😀b"));
  EXPECT_EQ(d.Length(t), 4u);
  ASSERT_TRUE(d.SpliceText(t, 1, 2, ""));
  EXPECT_EQ(d.Text(t), "ab");
  ASSERT_TRUE(d.SpliceText(t, 1, 0, "XY"));
  ASSERT_TRUE(d.SpliceText(t, 0, 1, "Z"));
  EXPECT_EQ(d.Text(t), "ZXYb");
  EXPECT_FALSE(d.SpliceText(t, 9, 0, "q").has_value());
  // Many edits across block boundaries.
  std::string expect = d.Text(t);
  for (int i = 0; i < 2000; ++i) {
    size_t pos = (i * 7919) % (expect.size() + 1);
    ASSERT_TRUE(d.SpliceText(t, pos, 0, "k"));
    expect.insert(pos, "k");
    if (i % 3 == 0) {
      size_t dp = (i * 31) % expect.size();
      ASSERT_TRUE(d.SpliceText(t, dp, 1, ""));
      expect.erase(dp, 1);
    }
  }
  EXPECT_EQ(d.Text(t), expect);
  d.Commit({});
  auto l = Document::Load(d.Save(), kB);
  ASSERT_TRUE(l.has_value()) << l.error().ToString();
  auto lt = l->Get(kRoot, "t");
  ASSERT_TRUE(lt && lt->is_object);
  EXPECT_EQ(l->Text(lt->obj), expect);
  EXPECT_EQ(l->Heads(), d.Heads());
}

TEST(DocumentTest, SaveIncrementalAndGetChanges) {
  Document d(kA);
  ASSERT_TRUE(d.Put(kRoot, "a", ScalarValue::Int(1)));
  d.Commit({1, ""});
  Bytes full = d.Save();
  auto h1 = d.Heads();
  ASSERT_TRUE(d.Put(kRoot, "b", ScalarValue::Int(2)));
  d.Commit({2, ""});
  Bytes inc = d.SaveIncremental();
  EXPECT_EQ(d.SaveIncremental().size(), 0u);
  Bytes both = full;
  Append(both, inc);
  auto l = Document::Load(both, kB);
  ASSERT_TRUE(l.has_value()) << l.error().ToString();
  EXPECT_EQ(l->ToJson(), d.ToJson());
  EXPECT_EQ(d.GetChangesSince(h1).size(), 1u);
  EXPECT_EQ(d.GetChangesSince({}).size(), 2u);
  auto at = d.ForkAt(h1, kB).value();
  EXPECT_EQ(at.ToJson(), nlohmann::json::parse(R"({"a":1})"));
  Document e(kB);
  ASSERT_TRUE(e.LoadIncremental(both));
  EXPECT_EQ(e.Heads(), d.Heads());
}

TEST(DocumentTest, RollbackAndMalformedChanges) {
  Document d(kA);
  ASSERT_TRUE(d.Put(kRoot, "a", ScalarValue::Int(1)));
  d.Commit({});
  ASSERT_TRUE(d.Put(kRoot, "b", ScalarValue::Int(2)));
  d.Rollback();
  EXPECT_EQ(d.ToJson(), nlohmann::json::parse(R"({"a":1})"));
  Bytes junk = {0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 0};
  auto heads = d.Heads();
  std::vector<Bytes> v{junk};
  EXPECT_FALSE(d.ApplyChanges(v).has_value());
  EXPECT_EQ(d.Heads(), heads);
}

}  // namespace
}  // namespace vudo::automerge

namespace vudo::automerge {
namespace {

TEST(DocumentTest, LazyHistoryDetectsMismatchingHeads) {
  auto doc = LoadJson("todo_document.json");
  Bytes saved = Hex(doc["saveHex"]);
  auto chunk = ReadChunk(saved).value();
  Bytes body = ToBytes(chunk.body);
  // Rename the first change's message "init" -> "inix": still well formed,
  // but the reconstructed change no longer has the hash the heads name.
  std::string s(body.begin(), body.end());
  size_t at = s.find("init");
  ASSERT_NE(at, std::string::npos);
  body[at + 3] = 'x';
  Bytes forged = WriteChunk(ChunkType::kDocument, body);
  auto d = Document::Load(forged, kA);
  ASSERT_TRUE(d.has_value());  // the op set is fine
  EXPECT_EQ(d->ToJson(), doc["finalJSON"]);
  auto st = d->EnsureHistory();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(st.error().message.find("mismatching heads"), std::string::npos);
  // Save hands the document back unchanged.
  EXPECT_EQ(d->Save(), forged);
  // History users see the error too.
  std::vector<Bytes> none;
  EXPECT_FALSE(d->ApplyChanges(none).has_value());
  // A good document rebuilds its history on demand.
  auto good = Document::Load(saved, kA).value();
  EXPECT_EQ(good.NumChanges(), 6u);
  EXPECT_TRUE(good.EnsureHistory().has_value());
  EXPECT_EQ(good.GetChangesSince({}).size(), 6u);
}

// The op set Load builds straight from a document's columns equals the one
// built by applying the document's changes one op at a time: same JSON,
// byte-identical save, and the same change for the same local edit.
TEST(DocumentTest, ColumnLoadedOpSetMatchesReplayedChanges) {
  const std::string dir =
      std::string(VUDO_SHARED_DIR) + "/testdata/automerge/corpus/";
  // The quick ones; VUDO_FULL_CORPUS=1 checks every corpus document.
  std::vector<std::string> names = {
      "godot-modeled.amrg", "monday-meeting-notes.automerge", "stephen.amrg"};
  if (std::getenv("VUDO_FULL_CORPUS"))
    names = {"A1.am",
             "C1.am",
             "S1.am",
             "S2.am",
             "S3.am",
             "essay.amrg",
             "godot-modeled.amrg",
             "monday-meeting-notes.automerge",
             "moby-dick.automerge",
             "stephen.amrg",
             "webstraits.amrg"};
  size_t checked = 0;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    std::ifstream f(dir + name, std::ios::binary);
    ASSERT_TRUE(f.good());
    Bytes data((std::istreambuf_iterator<char>(f)),
               std::istreambuf_iterator<char>());
    auto loaded = Document::Load(data, kA);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    Document replayed(kA);
    ASSERT_TRUE(replayed.ApplyChanges(loaded->GetChangesSince({})).has_value());
    EXPECT_EQ(replayed.NumQueued(), 0u);
    EXPECT_EQ(loaded->ToJson(), replayed.ToJson());
    EXPECT_EQ(loaded->SaveNoCompress(), replayed.SaveNoCompress());
    ASSERT_TRUE(loaded->Put(kRoot, "vudo-check", ScalarValue::Int(7)));
    ASSERT_TRUE(replayed.Put(kRoot, "vudo-check", ScalarValue::Int(7)));
    EXPECT_EQ(loaded->Commit({kT0, "m"}), replayed.Commit({kT0, "m"}));
    EXPECT_EQ(loaded->Save(), replayed.Save());
    ++checked;
  }
  EXPECT_EQ(checked, names.size());
}

// Values and shapes the compact op set stores specially: long strings and
// bytes (arena), elements 255+ UTF-16 units wide, counters incremented in
// maps and lists, ops with several succ ids, nested objects.
TEST(DocumentTest, CompactOpSetEdgeCases) {
  Document d(kA);
  const std::string wide(300, 'w');
  auto t = d.PutObject(kRoot, "t", ObjType::kText).value();
  ASSERT_TRUE(d.SpliceText(t, 0, 0,
                           "ab\xc3\xa9\xf0\x9f\x98\x80"
                           "c"));
  ASSERT_TRUE(d.Insert(t, 2, ScalarValue::Str(wide)));
  ASSERT_TRUE(d.Insert(t, 0, ScalarValue::Str("0123456789")));
  auto l = d.PutObject(kRoot, "l", ObjType::kList).value();
  ASSERT_TRUE(d.Insert(l, 0, ScalarValue::Counter(5)));
  ASSERT_TRUE(d.Insert(l, 1, ScalarValue::BytesValue(std::string(40, '\0'))));
  ASSERT_TRUE(d.Insert(l, 2, ScalarValue::F64(-2.5)));
  ASSERT_TRUE(d.Insert(l, 3, ScalarValue::Uint(1ull << 63)));
  ASSERT_TRUE(d.InsertObject(l, 4, ObjType::kMap).has_value());
  ASSERT_TRUE(d.Put(kRoot, "c", ScalarValue::Counter(-3)));
  ASSERT_TRUE(d.Put(kRoot, "s", ScalarValue::Str("a string of 24 bytes....")));
  d.Commit({kT0, ""});
  ASSERT_TRUE(d.Increment(kRoot, "c", 10));
  ASSERT_TRUE(d.Increment(l, 0, 7));
  ASSERT_TRUE(d.Increment(l, 0, -2));
  d.Commit({kT0, ""});
  // Three actors overwrite the same key and element concurrently.
  Document e = d.Fork(kB), g = d.Fork(ActorId(16, 0xcc));
  ASSERT_TRUE(d.Put(kRoot, "s", ScalarValue::Int(1)));
  ASSERT_TRUE(e.Put(kRoot, "s", ScalarValue::Int(2)));
  ASSERT_TRUE(g.Put(kRoot, "s", ScalarValue::Int(3)));
  ASSERT_TRUE(e.Put(l, 2, ScalarValue::Bool(true)));
  ASSERT_TRUE(g.Put(l, 2, ScalarValue::Null()));
  ASSERT_TRUE(g.SpliceText(t, 1, 3, "xyz"));
  ASSERT_TRUE(d.Merge(e));
  ASSERT_TRUE(d.Merge(g));
  ASSERT_TRUE(d.Put(kRoot, "s", ScalarValue::Str("settled")));
  ASSERT_TRUE(d.Increment(kRoot, "c", 1));
  d.Commit({kT0, ""});
  EXPECT_EQ(d.Get(kRoot, "c")->scalar.i, 8);
  EXPECT_EQ(d.Get(l, 0)->scalar.i, 10);
  EXPECT_EQ(d.GetAll(l, 2).size(), 2u);
  const size_t text_len = d.Length(t);

  auto loaded = Document::Load(d.Save(), kB);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  // Object ids are per document: look them up in the loaded one.
  const ObjId lt = loaded->Get(kRoot, "t")->obj,
              ll = loaded->Get(kRoot, "l")->obj;
  EXPECT_EQ(loaded->ToJson(), d.ToJson());
  EXPECT_EQ(loaded->Length(lt), text_len);
  EXPECT_EQ(loaded->Text(lt), d.Text(t));
  EXPECT_EQ(loaded->Get(kRoot, "c")->scalar.i, 8);
  EXPECT_EQ(loaded->Get(ll, 0)->scalar.i, 10);
  EXPECT_EQ(loaded->GetAll(ll, 2).size(), 2u);
  EXPECT_EQ(loaded->Get(ll, 1)->scalar.s, std::string(40, '\0'));
  EXPECT_EQ(loaded->Get(ll, 3)->scalar.u, 1ull << 63);
  EXPECT_EQ(loaded->SaveNoCompress(), d.SaveNoCompress());
  // Edits on the loaded document (the element index is built on demand)
  // match the same edits on the original.
  loaded->SetActor(kA);
  for (auto [x, xt, xl] :
       {std::tuple{&d, t, l}, std::tuple{&*loaded, lt, ll}}) {
    ASSERT_TRUE(x->SpliceText(xt, 3, 2, "Q"));
    ASSERT_TRUE(x->Increment(xl, 0, 1));
    ASSERT_TRUE(x->Delete(xl, 1));
  }
  EXPECT_EQ(loaded->Commit({kT0, ""}), d.Commit({kT0, ""}));
  EXPECT_EQ(loaded->Text(lt), d.Text(t));
  EXPECT_EQ(loaded->Save(), d.Save());
}

// Remote changes applied right after a column load find the loaded
// elements by id (runs of consecutive counters, see ElemRuns), also when
// runs of several actors interleave and cross the 4096-element allocation
// chunks; the result equals the same changes applied to the document
// built op by op.
TEST(DocumentTest, RemoteChangesAfterLoadFindLoadedElements) {
  std::mt19937 rng(7);
  auto pick = [&](size_t n) {
    return static_cast<size_t>(rng() % (n + 1));  // 0..n
  };
  Document base(kA);
  auto t = base.PutObject(kRoot, "t", ObjType::kText).value();
  auto l = base.PutObject(kRoot, "l", ObjType::kList).value();
  base.Commit({kT0, ""});
  Document other = base.Fork(kB);
  // Two actors type words at random places, merging now and then: runs
  // of a few to a few hundred counters, interleaved in the text.
  for (int round = 0; round < 12; ++round) {
    for (Document* d : {&base, &other}) {
      for (int w = 0; w < 20; ++w) {
        std::string word(1 + rng() % 40, static_cast<char>('a' + rng() % 26));
        ASSERT_TRUE(d->SpliceText(t, pick(d->Length(t)), 0, word));
        if (w % 5 == 0) {
          ASSERT_TRUE(d->Insert(l, pick(d->Length(l)),
                                ScalarValue::Int(static_cast<int64_t>(w))));
        }
        d->Commit({kT0 + round, ""});
      }
    }
    ASSERT_TRUE(base.Merge(other));
    ASSERT_TRUE(other.Merge(base));
  }
  // One run of 8,200 counters at the end: it crosses a 4096-element
  // allocation chunk of the loader.
  ASSERT_TRUE(base.SpliceText(t, base.Length(t), 0, std::string(8200, 'z')));
  base.Commit({kT0 + 50, ""});
  const Bytes saved = base.Save();

  // A third actor edits the saved document: deletes, inserts after
  // existing elements, overwrites of list elements.
  auto remote = Document::Load(saved, ActorId(16, 0xcc));
  ASSERT_TRUE(remote.has_value()) << remote.error().message;
  const ObjId rt = remote->Get(kRoot, "t")->obj,
              rl = remote->Get(kRoot, "l")->obj;
  const auto base_heads = remote->Heads();
  for (int i = 0; i < 300; ++i) {
    const size_t len = remote->Length(rt);
    const size_t at = pick(len - 1);
    if (i % 3 == 0) {
      ASSERT_TRUE(
          remote->SpliceText(rt, at, std::min<size_t>(3, len - at), ""));
    } else {
      ASSERT_TRUE(remote->SpliceText(rt, at, 0, "XY"));
    }
    if (i % 10 == 0) {
      ASSERT_TRUE(remote->Put(rl, pick(remote->Length(rl) - 1),
                              ScalarValue::Str("set")));
    }
    remote->Commit({kT0 + 100, ""});
  }
  const auto changes = remote->GetChangesSince(base_heads);
  ASSERT_EQ(changes.size(), 300u);

  auto loaded = Document::Load(saved, kA);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  Document replayed(kA);
  ASSERT_TRUE(replayed.ApplyChanges(base.GetChangesSince({})).has_value());
  for (Document* d : {&*loaded, &replayed}) {
    ASSERT_TRUE(d->ApplyChanges(changes).has_value());
    EXPECT_EQ(d->NumQueued(), 0u);
    EXPECT_EQ(d->ToJson(), remote->ToJson());
    EXPECT_EQ(d->Heads(), remote->Heads());
  }
  EXPECT_EQ(loaded->SaveNoCompress(), replayed.SaveNoCompress());
  // Local edits on both after that still agree (new and loaded elements).
  const ObjId lt = loaded->Get(kRoot, "t")->obj;
  const ObjId pt = replayed.Get(kRoot, "t")->obj;
  for (size_t at : {size_t{0}, size_t{777}, size_t{4100}}) {
    ASSERT_TRUE(loaded->SpliceText(lt, at, 2, "q"));
    ASSERT_TRUE(replayed.SpliceText(pt, at, 2, "q"));
  }
  EXPECT_EQ(loaded->Commit({kT0, ""}), replayed.Commit({kT0, ""}));
  EXPECT_EQ(loaded->Text(lt), replayed.Text(pt));
}

}  // namespace
}  // namespace vudo::automerge
