// The fast history rebuild (history.cc) against the generic one
// (LoadDocumentChunk reconstructing Change objects + EncodeChange): byte for
// byte on every vector and corpus document, and the same verdict on
// corrupted documents.
#include "automerge/history.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "automerge/change.h"
#include "automerge/columnar.h"
#include "automerge/doc_impl.h"
#include "automerge/document.h"
#include "base/encoding.h"
#include "base/leb128.h"

namespace vudo::automerge {
namespace {

using LoadMode = Document::Impl::LoadMode;

Bytes ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)),
               std::istreambuf_iterator<char>());
}

// Bodies of the document chunks in `data` (which may also hold changes).
std::vector<Bytes> DocumentBodies(ByteSpan data) {
  std::vector<Bytes> out;
  size_t pos = 0;
  while (pos < data.size()) {
    auto c = ReadChunk(data.subspan(pos));
    if (!c) break;
    if (c->type == ChunkType::kDocument) out.push_back(ToBytes(c->body));
    pos += c->encoded_size;
  }
  return out;
}

std::vector<std::filesystem::path> TestDocuments() {
  std::vector<std::filesystem::path> out;
  const std::string base = std::string(VUDO_SHARED_DIR) + "/testdata/automerge";
  for (const char* dir : {"/vectors/bin", "/corpus"})
    for (const auto& e : std::filesystem::directory_iterator(base + dir))
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The generic path's change chunks (application order), or its error.
Result<std::vector<Bytes>> GenericChunks(ByteSpan body) {
  Document::Impl impl(ActorId(16, 0x77));
  VUDO_TRY(impl.LoadDocumentChunk(body, LoadMode::kHistoryOnly));
  std::vector<Bytes> out;
  for (const auto& r : impl.records) out.push_back(ToBytes(r.chunk()));
  return out;
}

// The fast path through a document (records, heads, clock).
Result<std::vector<Bytes>> FastChunks(ByteSpan body) {
  Document::Impl impl(ActorId(16, 0x77));
  VUDO_TRY(RebuildHistory(impl, body));
  std::vector<Bytes> out;
  for (const auto& r : impl.records) out.push_back(ToBytes(r.chunk()));
  return out;
}

TEST(HistoryTest, ByteIdenticalOnVectorsAndCorpus) {
  size_t docs = 0, changes = 0;
  for (const auto& path : TestDocuments()) {
    Bytes data = ReadFile(path);
    for (const Bytes& body : DocumentBodies(data)) {
      SCOPED_TRACE(path.filename().string());
      auto generic = GenericChunks(body);
      ASSERT_TRUE(generic.has_value()) << generic.error().ToString();
      auto fast = RebuildChangeChunks(body);
      ASSERT_TRUE(fast.has_value()) << fast.error().ToString();
      ASSERT_EQ(fast->size(), generic->size());
      for (size_t i = 0; i < fast->size(); ++i)
        ASSERT_EQ((*fast)[i], (*generic)[i]) << "change " << i;
      auto via_doc = FastChunks(body);
      ASSERT_TRUE(via_doc.has_value());
      EXPECT_EQ(*via_doc, *fast);
      // Each chunk decodes and re-encodes to itself.
      for (const Bytes& chunk : *fast) {
        auto ch = DecodeChange(chunk);
        ASSERT_TRUE(ch.has_value()) << ch.error().ToString();
        Change copy = *ch;
        ASSERT_TRUE(EncodeChange(copy).has_value());
        ASSERT_EQ(copy.bytes, chunk);
      }
      ++docs;
      changes += fast->size();
    }
  }
  EXPECT_GE(docs, 10u);
  EXPECT_GE(changes, 10000u);
}

// A record keeps some fields and reads the others (length, message, extra
// bytes, max op) back from its chunk: both agree with the decoded chunk, for
// rebuilt records and for records of applied changes.
void ExpectRecordsMatchChunks(const Document::Impl& impl) {
  for (const ChangeRecord& r : impl.records) {
    auto ch = DecodeChange(r.chunk());
    ASSERT_TRUE(ch.has_value()) << ch.error().message;
    EXPECT_EQ(ch->hash, r.hash);
    EXPECT_EQ(ch->seq, r.seq);
    EXPECT_EQ(ch->start_op, r.start_op);
    EXPECT_EQ(ch->time, r.time);
    EXPECT_EQ(ch->start_op + ch->ops.size() - 1, r.max_op());
    EXPECT_EQ(ch->deps.size(), r.deps_count);
    const ChangeRecord::Tail tail = r.tail();
    EXPECT_EQ(ch->message, tail.message);
    EXPECT_EQ(ch->extra, ToBytes(tail.extra));
    EXPECT_EQ(!ch->message.empty() || !ch->extra.empty(), bool(r.has_tail));
  }
}

TEST(HistoryTest, RecordsMatchTheirChunks) {
  size_t tails = 0;
  for (const auto& path : TestDocuments()) {
    Bytes data = ReadFile(path);
    for (const Bytes& body : DocumentBodies(data)) {
      SCOPED_TRACE(path.filename().string());
      Document::Impl fast(ActorId(16, 0x77));
      if (!RebuildHistory(fast, body)) continue;  // (damaged vectors)
      ExpectRecordsMatchChunks(fast);
      Document::Impl generic(ActorId(16, 0x77));
      if (!generic.LoadDocumentChunk(body, LoadMode::kHistoryOnly)) continue;
      ExpectRecordsMatchChunks(generic);
      for (const ChangeRecord& r : fast.records) tails += r.has_tail;
    }
  }
  EXPECT_GT(tails, 0u);  // some messages or extra bytes were read back
}

TEST(HistoryTest, LazyDocumentMatchesEagerHistory) {
  // A document with maps, lists, text, counters, conflicts and deletes,
  // edited by two actors.
  Document a(ActorId(16, 0xaa));
  ObjId list = *a.PutObject(kRoot, "list", ObjType::kList);
  ObjId text = *a.PutObject(kRoot, "text", ObjType::kText);
  ASSERT_TRUE(a.Put(kRoot, "n", ScalarValue::Counter(5)));
  ASSERT_TRUE(a.SpliceText(text, 0, 0, "héllo wörld"));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(a.Insert(list, i, ScalarValue::Int(i)));
  a.Commit({1, "first"});
  Document b = a.Fork(ActorId(16, 0xbb));
  ASSERT_TRUE(a.Put(kRoot, "k", ScalarValue::Str("a")));
  ASSERT_TRUE(b.Put(kRoot, "k", ScalarValue::Str("b")));
  ASSERT_TRUE(b.Increment(kRoot, "n", 3));
  ASSERT_TRUE(b.SpliceText(text, 2, 3, "XY"));
  ASSERT_TRUE(b.Delete(list, 1));
  b.Commit({2, ""});
  ASSERT_TRUE(a.Delete(list, 3));
  a.Commit({3, "a2"});
  ASSERT_TRUE(a.Merge(b));
  ASSERT_TRUE(a.Put(kRoot, "k", ScalarValue::Str("merged")));
  ASSERT_TRUE(a.Put(list, 0, ScalarValue::F64(1.5)));
  a.Commit({4, "after merge"});
  Bytes saved = a.Save();
  auto loaded = Document::Load(saved, ActorId(16, 0xcc));
  ASSERT_TRUE(loaded.has_value());
  ASSERT_TRUE(loaded->EnsureHistory().has_value());
  ASSERT_EQ(loaded->NumChanges(), a.NumChanges());
  EXPECT_EQ(loaded->Heads(), a.Heads());
  for (size_t i = 0; i < a.NumChanges(); ++i) {
    auto j = loaded->ChangeIndex(a.ChangeHashAt(i));
    ASSERT_TRUE(j.has_value());
    auto x = a.ChangeBytesAt(i), y = loaded->ChangeBytesAt(*j);
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end()));
    EXPECT_EQ(loaded->ChangeMetaAt(*j).message, a.ChangeMetaAt(i).message);
    EXPECT_EQ(loaded->ChangeDepsAt(*j), a.ChangeDepsAt(i));
  }
  // The rebuilt history accepts new local changes.
  ASSERT_TRUE(loaded->Put(kRoot, "z", ScalarValue::Int(1)));
  loaded->Commit({5, ""});
  EXPECT_EQ(loaded->NumChanges(), a.NumChanges() + 1);
}

TEST(HistoryTest, MergeDocumentChunkIntoNonEmptyDocument) {
  Document a(ActorId(16, 0xaa));
  ObjId text = *a.PutObject(kRoot, "text", ObjType::kText);
  ASSERT_TRUE(a.SpliceText(text, 0, 0, "base"));
  a.Commit({1, ""});
  Document c = a.Fork(ActorId(16, 0xcc));
  ASSERT_TRUE(c.Put(kRoot, "mine", ScalarValue::Int(1)));
  c.Commit({2, "c"});
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(a.SpliceText(text, i % 4, i % 3 == 0 ? 1 : 0, "x"));
    a.Commit({3 + i, ""});
  }
  Document d = c.Fork(ActorId(16, 0xdd));
  // c merges a's saved document (a document chunk into a non-empty
  // document); d applies a's change chunks one by one.
  ASSERT_TRUE(c.LoadIncremental(a.Save()).has_value());
  std::vector<Bytes> changes;
  for (ByteSpan ch : a.GetChangesSince({})) changes.push_back(ToBytes(ch));
  ASSERT_TRUE(d.ApplyChanges(changes).has_value());
  EXPECT_EQ(c.Heads(), d.Heads());
  EXPECT_EQ(c.NumChanges(), a.NumChanges() + 1);
  EXPECT_EQ(c.ToJson(), d.ToJson());
  for (size_t i = 0; i < a.NumChanges(); ++i) {
    auto j = c.ChangeIndex(a.ChangeHashAt(i));
    ASSERT_TRUE(j.has_value());
    auto x = a.ChangeBytesAt(i), y = c.ChangeBytesAt(*j);
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end()));
  }
  // A chunk whose heads do not match changes nothing.
  Bytes body = ToBytes(ReadChunk(a.SaveNoCompress()).value().body);
  ByteReader r(body);
  uint64_t nactors = ReadUleb(r).value();
  for (uint64_t i = 0; i < nactors; ++i)
    ASSERT_TRUE(r.Skip(ReadUleb(r).value()).has_value());
  ASSERT_GE(ReadUleb(r).value(), 1u);
  body[r.position()] ^= 0x80;
  Document f(ActorId(16, 0xff));
  ASSERT_TRUE(f.Put(kRoot, "k", ScalarValue::Int(1)));
  f.Commit({1, ""});
  auto before = f.Heads();
  auto st = f.LoadIncremental(WriteChunk(ChunkType::kDocument, body));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message, "mismatching heads");
  EXPECT_EQ(f.Heads(), before);
  EXPECT_EQ(f.NumChanges(), 1u);
}

// ---- corruption ----

// Rewrites one column (by spec, deflate bit clear) of an uncompressed
// document body: `change_cols` picks the change or the op columns.
Bytes RewriteColumn(ByteSpan body, bool change_cols, uint32_t spec,
                    const Bytes& data) {
  ByteReader r(body);
  uint64_t nactors = ReadUleb(r).value();
  for (uint64_t i = 0; i < nactors; ++i) {
    uint64_t len = ReadUleb(r).value();
    EXPECT_TRUE(r.Skip(len).has_value());
  }
  uint64_t nheads = ReadUleb(r).value();
  EXPECT_TRUE(r.Skip(32 * nheads).has_value());
  Bytes out(body.begin(), body.begin() + r.position());
  auto cmeta = col::ReadColumnMeta(r, r.remaining()).value();
  auto ometa = col::ReadColumnMeta(r, r.remaining()).value();
  std::vector<col::OutColumn> ccols, ocols;
  size_t pos = r.position();
  for (auto* list : {&cmeta, &ometa}) {
    auto& outcols = list == &cmeta ? ccols : ocols;
    for (const auto& m : *list) {
      EXPECT_EQ(m.spec & col::kDeflateBit, 0u);
      outcols.push_back(
          {m.spec, Bytes(body.begin() + pos, body.begin() + pos + m.len)});
      pos += m.len;
    }
  }
  auto& target = change_cols ? ccols : ocols;
  bool found = false;
  for (auto& c : target)
    if (c.spec == spec) {
      c.data = data;
      found = true;
    }
  if (!found) {
    target.push_back({spec, data});
    std::sort(target.begin(), target.end(),
              [](const auto& a, const auto& b) { return a.spec < b.spec; });
  }
  col::WriteColumnMeta(ccols, out);
  col::WriteColumnMeta(ocols, out);
  col::WriteColumnData(ccols, out);
  col::WriteColumnData(ocols, out);
  out.insert(out.end(), body.begin() + pos, body.end());
  return out;
}

Bytes ColumnOf(ByteSpan body, bool change_cols, uint32_t spec) {
  ByteReader r(body);
  uint64_t nactors = ReadUleb(r).value();
  for (uint64_t i = 0; i < nactors; ++i)
    EXPECT_TRUE(r.Skip(ReadUleb(r).value()).has_value());
  EXPECT_TRUE(r.Skip(32 * ReadUleb(r).value()).has_value());
  auto cmeta = col::ReadColumnMeta(r, r.remaining()).value();
  auto ometa = col::ReadColumnMeta(r, r.remaining()).value();
  size_t used = 0;
  auto cc = col::Columns::Slice(cmeta, r.rest(), &used).value();
  EXPECT_TRUE(r.Skip(used).has_value());
  auto oc = col::Columns::Slice(ometa, r.rest(), &used).value();
  return ToBytes((change_cols ? cc : oc).Get(spec));
}

Bytes EncodeDelta(const std::vector<std::optional<int64_t>>& v) {
  Bytes out;
  col::DeltaEncoder e(out);
  for (const auto& x : v) e.Append(x);
  e.Finish();
  return out;
}

// A small two-actor document saved without compression.
Bytes SmallBody() {
  Document a(ActorId(16, 0xaa));
  ObjId text = *a.PutObject(kRoot, "text", ObjType::kText);
  EXPECT_TRUE(a.SpliceText(text, 0, 0, "abcdef"));
  a.Commit({1, ""});
  Document b = a.Fork(ActorId(16, 0xbb));
  EXPECT_TRUE(b.SpliceText(text, 1, 2, "XYZ"));
  b.Commit({2, ""});
  EXPECT_TRUE(a.Put(kRoot, "k", ScalarValue::Int(7)));
  a.Commit({3, ""});
  EXPECT_TRUE(a.Merge(b));
  EXPECT_TRUE(a.Put(kRoot, "k", ScalarValue::Int(8)));
  EXPECT_TRUE(a.SpliceText(text, 0, 1, ""));
  a.Commit({4, ""});
  return ToBytes(ReadChunk(a.SaveNoCompress()).value().body);
}

constexpr uint32_t kChMaxOp = col::Spec(1, col::kDelta);
constexpr uint32_t kIdCtr = col::Spec(2, col::kDelta);

std::string ErrorOf(const Result<std::vector<Bytes>>& r) {
  return r ? std::string("ok") : r.error().message;
}

TEST(HistoryTest, NamedCorruptionErrors) {
  Bytes body = SmallBody();
  ASSERT_TRUE(FastChunks(body).has_value());
  auto maxops = col::DecodeDelta(ColumnOf(body, true, kChMaxOp), 100).value();
  ASSERT_EQ(maxops.size(), 4u);

  // The last change claims one op fewer: its last op belongs to no change.
  {
    auto m = maxops;
    *m.back() -= 1;
    Bytes bad = RewriteColumn(body, true, kChMaxOp, EncodeDelta(m));
    auto r = FastChunks(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("belong to no change"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(GenericChunks(bad).has_value());
  }
  // The first change claims one op more: counters no longer contiguous.
  {
    // Change 1 (the author's second change, concurrent with the other
    // actor's) claims the ops of the author's last change too, across the
    // other actor's counters.
    auto m = maxops;
    m[1] = m[3];
    Bytes bad = RewriteColumn(body, true, kChMaxOp, EncodeDelta(m));
    auto r = FastChunks(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("not contiguous"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(GenericChunks(bad).has_value());
  }
  // Two ops with the same id.
  {
    auto ids = col::DecodeDelta(ColumnOf(body, false, kIdCtr), 1000).value();
    ASSERT_GE(ids.size(), 3u);
    ids[1] = ids[0];
    Bytes bad = RewriteColumn(body, false, kIdCtr, EncodeDelta(ids));
    auto r = FastChunks(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("duplicate op id"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(GenericChunks(bad).has_value());
  }
  // A forged head.
  {
    Bytes bad = body;
    ByteReader r(bad);
    uint64_t nactors = ReadUleb(r).value();
    for (uint64_t i = 0; i < nactors; ++i)
      ASSERT_TRUE(r.Skip(ReadUleb(r).value()).has_value());
    ASSERT_GE(ReadUleb(r).value(), 1u);
    bad[r.position() + 5] ^= 1;
    auto f = FastChunks(bad);
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error().message, "mismatching heads");
    EXPECT_FALSE(GenericChunks(bad).has_value());
  }
  // A dep on a later change.
  {
    constexpr uint32_t kChDeps = col::Spec(4, col::kDelta);
    auto deps = col::DecodeDelta(ColumnOf(body, true, kChDeps), 100).value();
    ASSERT_FALSE(deps.empty());
    deps[0] = 3;
    Bytes bad = RewriteColumn(body, true, kChDeps, EncodeDelta(deps));
    auto f = FastChunks(bad);
    ASSERT_FALSE(f.has_value());
    EXPECT_NE(f.error().message.find("bad dep index"), std::string::npos);
    EXPECT_FALSE(GenericChunks(bad).has_value());
  }
  // Nothing is recorded when the rebuild fails.
  {
    auto m = maxops;
    *m.back() -= 1;
    Bytes bad = RewriteColumn(body, true, kChMaxOp, EncodeDelta(m));
    Document::Impl impl(ActorId(16, 1));
    EXPECT_FALSE(RebuildHistory(impl, bad).has_value());
    EXPECT_TRUE(impl.records.empty());
    EXPECT_TRUE(impl.heads.empty());
  }
}

// Random byte flips, insertions and truncations of document bodies: the
// fast and the generic rebuild agree on accepting (then byte for byte) or
// rejecting, and neither crashes.
TEST(HistoryTest, SameVerdictAsGenericOnDamagedDocuments) {
  std::vector<Bytes> bodies = {SmallBody()};
  for (const char* f : {"/vectors/bin/todo.automerge"}) {
    Bytes data =
        ReadFile(std::string(VUDO_SHARED_DIR) + "/testdata/automerge" + f);
    for (Bytes& b : DocumentBodies(data)) bodies.push_back(std::move(b));
  }
  std::mt19937 rng(12345);
  size_t accepted = 0, rejected = 0;
  for (const Bytes& body : bodies) {
    for (int trial = 0; trial < 4000; ++trial) {
      Bytes bad = body;
      int kind = trial % 3;
      size_t at = rng() % bad.size();
      if (kind == 0) {
        bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
      } else if (kind == 1) {
        bad[at] = static_cast<uint8_t>(rng());
      } else {
        bad.resize(at);
      }
      auto generic = GenericChunks(bad);
      auto fast = FastChunks(bad);
      ASSERT_EQ(generic.has_value(), fast.has_value())
          << "trial " << trial << ": generic " << ErrorOf(generic) << ", fast "
          << ErrorOf(fast) << " body " << HexEncode(bad);
      if (fast) {
        EXPECT_EQ(*fast, *generic);
        ++accepted;
      } else {
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 4000u);
  (void)accepted;
}

}  // namespace
}  // namespace vudo::automerge
