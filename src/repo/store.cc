#include "repo/store.h"

#include <sqlite3.h>

namespace vudo::repo {
namespace {

constexpr int kSchemaVersion = 1;

// RAII prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Status ok() const {
    if (rc_ != SQLITE_OK)
      return Err(ErrorCode::kIo, "sqlite prepare: {}", sqlite3_errmsg(db_));
    return Ok();
  }
  void Bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), int(s.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, ByteSpan b) {
    sqlite3_bind_blob64(stmt_, i, b.data(), b.size(), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // SQLITE_ROW, SQLITE_DONE or an error.
  int Step() { return sqlite3_step(stmt_); }
  Status Run() {
    int rc = Step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
      return Err(ErrorCode::kIo, "sqlite: {}", sqlite3_errmsg(db_));
    return Ok();
  }
  Bytes Blob(int col) {
    auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? Bytes(p, p + n) : Bytes{};
  }
  std::string Text(int col) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : "";
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  tl::unexpected<vudo::Error> Error() const {
    return Err(ErrorCode::kIo, "sqlite: {}", sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      file.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Err(ErrorCode::kIo, "cannot open {}: {}", file.string(), msg);
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<Store> store(new Store(db));
  VUDO_TRY(store->Exec("PRAGMA journal_mode=WAL"));
  VUDO_TRY(store->Exec("PRAGMA synchronous=FULL"));
  VUDO_TRY(store->Exec("PRAGMA foreign_keys=ON"));
  int version = 0;
  {
    Stmt s(db, "PRAGMA user_version");
    VUDO_TRY(s.ok());
    if (s.Step() == SQLITE_ROW) version = int(s.Int(0));
  }
  if (version == 0) {
    VUDO_TRY(store->Exec(
        "BEGIN;"
        "CREATE TABLE IF NOT EXISTS documents(doc_id TEXT PRIMARY KEY);"
        "CREATE TABLE IF NOT EXISTS chunks("
        "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,"
        "  kind INTEGER NOT NULL,"  // 0 change, 1 snapshot
        "  hash BLOB,"
        "  data BLOB NOT NULL);"
        "CREATE UNIQUE INDEX IF NOT EXISTS chunks_hash ON chunks(doc_id, hash)"
        "  WHERE hash IS NOT NULL;"
        "CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, kind, seq);"
        "CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE IF NOT EXISTS sync_states(doc_id TEXT, peer TEXT,"
        "  state BLOB, PRIMARY KEY(doc_id, peer));"
        "PRAGMA user_version=1;"
        "COMMIT;"));
  } else if (version != kSchemaVersion) {
    return Err(ErrorCode::kCorrupt, "{}: unsupported store schema {}",
               file.string(), version);
  }
  return store;
}

Store::~Store() { sqlite3_close(db_); }

Status Store::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return Err(ErrorCode::kIo, "sqlite: {}", msg);
  }
  return Ok();
}

Status Store::AddDocument(std::string_view doc_id) {
  Stmt s(db_, "INSERT OR IGNORE INTO documents(doc_id) VALUES(?)");
  VUDO_TRY(s.ok());
  s.Bind(1, doc_id);
  return s.Run();
}

Result<size_t> Store::AppendChanges(std::string_view doc_id,
                                    const std::vector<ByteSpan>& chunks,
                                    const std::vector<Bytes>& hashes) {
  if (chunks.size() != hashes.size())
    return Err(ErrorCode::kInternal, "AppendChanges: {} chunks, {} hashes",
               chunks.size(), hashes.size());
  VUDO_TRY(Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Result<size_t> {
    VUDO_TRY(AddDocument(doc_id));
    Stmt s(db_,
           "INSERT OR IGNORE INTO chunks(doc_id, kind, hash, data) "
           "VALUES(?, 0, ?, ?)");
    VUDO_TRY(s.ok());
    size_t added = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
      s.Bind(1, doc_id);
      s.Bind(2, ByteSpan(hashes[i]));
      s.Bind(3, chunks[i]);
      VUDO_TRY(s.Run());
      added += size_t(sqlite3_changes(db_));
      s.Reset();
    }
    return added;
  };
  auto r = body();
  if (!r) {
    Exec("ROLLBACK");
    return r;
  }
  VUDO_TRY(Exec("COMMIT"));
  return r;
}

Result<std::optional<Bytes>> Store::Load(std::string_view doc_id) {
  {
    Stmt s(db_, "SELECT 1 FROM documents WHERE doc_id = ?");
    VUDO_TRY(s.ok());
    s.Bind(1, doc_id);
    if (s.Step() != SQLITE_ROW) return std::optional<Bytes>();
  }
  Stmt s(db_,
         "SELECT data FROM chunks WHERE doc_id = ? ORDER BY kind DESC, seq");
  VUDO_TRY(s.ok());
  s.Bind(1, doc_id);
  Bytes out;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return s.Error();
    Bytes b = s.Blob(0);
    Append(out, b);
  }
  return std::optional<Bytes>(std::move(out));
}

Result<size_t> Store::PendingChanges(std::string_view doc_id) {
  Stmt s(db_, "SELECT count(*) FROM chunks WHERE doc_id = ? AND kind = 0");
  VUDO_TRY(s.ok());
  s.Bind(1, doc_id);
  if (s.Step() != SQLITE_ROW) return s.Error();
  return size_t(s.Int(0));
}

Result<uint64_t> Store::StoredBytes(std::string_view doc_id) {
  Stmt s(db_,
         "SELECT coalesce(sum(length(data)), 0) FROM chunks WHERE doc_id = ?");
  VUDO_TRY(s.ok());
  s.Bind(1, doc_id);
  if (s.Step() != SQLITE_ROW) return s.Error();
  return uint64_t(s.Int(0));
}

Status Store::Compact(std::string_view doc_id, ByteSpan snapshot) {
  VUDO_TRY(Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    VUDO_TRY(AddDocument(doc_id));
    {
      Stmt del(db_, "DELETE FROM chunks WHERE doc_id = ?");
      VUDO_TRY(del.ok());
      del.Bind(1, doc_id);
      VUDO_TRY(del.Run());
    }
    Stmt ins(
        db_,
        "INSERT INTO chunks(doc_id, kind, hash, data) VALUES(?, 1, NULL, ?)");
    VUDO_TRY(ins.ok());
    ins.Bind(1, doc_id);
    ins.Bind(2, snapshot);
    return ins.Run();
  };
  if (auto s = body(); !s) {
    Exec("ROLLBACK");
    return s;
  }
  return Exec("COMMIT");
}

Result<std::vector<std::string>> Store::ListDocuments() {
  Stmt s(db_, "SELECT doc_id FROM documents ORDER BY doc_id");
  VUDO_TRY(s.ok());
  std::vector<std::string> out;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return s.Error();
    out.push_back(s.Text(0));
  }
  return out;
}

Status Store::RemoveDocument(std::string_view doc_id) {
  Stmt s(db_, "DELETE FROM documents WHERE doc_id = ?");
  VUDO_TRY(s.ok());
  s.Bind(1, doc_id);
  return s.Run();
}

Status Store::PutSetting(std::string_view key, std::string_view value) {
  Stmt s(db_, "INSERT OR REPLACE INTO settings(key, value) VALUES(?, ?)");
  VUDO_TRY(s.ok());
  s.Bind(1, key);
  s.Bind(2, value);
  return s.Run();
}

Result<std::optional<std::string>> Store::GetSetting(std::string_view key) {
  Stmt s(db_, "SELECT value FROM settings WHERE key = ?");
  VUDO_TRY(s.ok());
  s.Bind(1, key);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return s.Error();
  return std::optional<std::string>(s.Text(0));
}

Status Store::PutSyncState(std::string_view doc_id, std::string_view peer,
                           ByteSpan state) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO sync_states(doc_id, peer, state) "
         "VALUES(?, ?, ?)");
  VUDO_TRY(s.ok());
  s.Bind(1, doc_id);
  s.Bind(2, peer);
  s.Bind(3, state);
  return s.Run();
}

Result<std::optional<Bytes>> Store::GetSyncState(std::string_view doc_id,
                                                 std::string_view peer) {
  Stmt s(db_, "SELECT state FROM sync_states WHERE doc_id = ? AND peer = ?");
  VUDO_TRY(s.ok());
  s.Bind(1, doc_id);
  s.Bind(2, peer);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<Bytes>();
  if (rc != SQLITE_ROW) return s.Error();
  return std::optional<Bytes>(s.Blob(0));
}

}  // namespace vudo::repo
