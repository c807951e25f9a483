// The repo: a node's documents by DocumentId, kept durable in a Store and in
// sync with any number of peers over the automerge-repo protocol.
//
// Transport-independent: a peer is anything that implements Channel (a QUIC
// stream, a WebSocket, an in-process pipe). The owner of the transport does
// the join/peer handshake (see handshake.h), then calls AddPeer, feeds every
// later message to Receive, and calls RemovePeer when the transport closes.
//
// Durability: Change() and every received change are appended to the store
// (fsync) before anything acknowledges them: before Change() returns, and
// before the sync reply that tells the sender we have them.
//
// Access control (SharePolicy): a peer may read a document (sync it, request
// it) and may write it (have its changes applied) only if the policy says so.
// A peer that may not read gets doc-unavailable, exactly as if the document
// did not exist; a peer that may read but not write is synced with a
// read-only sync state (its changes are never applied).
//
// Threading: not thread-safe; everything runs on the node's event loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "automerge/document.h"
#include "automerge/sync/state.h"
#include "base/clock.h"
#include "repo/document_id.h"
#include "repo/messages.h"
#include "repo/store.h"

namespace vudo::repo {

// One connection to one peer that carries repo messages.
class Channel {
 public:
  virtual ~Channel() = default;
  // Queues a message for the peer (never blocks; the transport applies its
  // own flow control and size limits).
  virtual void Send(const Message& message) = 0;
  // Closes the connection (the owner later calls Repo::RemovePeer).
  virtual void Close(std::string_view reason) = 0;
};

// Who may read and write what. The default allows everything.
class SharePolicy {
 public:
  virtual ~SharePolicy() = default;
  // May `peer` connect at all (checked by the transport at the handshake)?
  virtual bool AllowPeer(const PeerId& /*peer*/) const { return true; }
  virtual bool MayRead(const PeerId& /*peer*/,
                       const DocumentId& /*doc*/) const {
    return true;
  }
  virtual bool MayWrite(const PeerId& /*peer*/,
                        const DocumentId& /*doc*/) const {
    return true;
  }
  // Offer the document to the peer without being asked (default: if it may
  // read it).
  virtual bool Announce(const PeerId& peer, const DocumentId& doc) const {
    return MayRead(peer, doc);
  }
};

// Allow-lists from the node's config (see docs/node.md):
//   {"peers": [ids] | absent = anyone,
//    "documents": {"<doc id>" | "*": {"read": [ids|"*"], "write": [ids|"*"]}}}
// A document without an entry (and no "*") is readable and writable by every
// allowed peer.
class AllowListPolicy : public SharePolicy {
 public:
  struct Access {
    std::optional<std::set<PeerId>> read;   // nullopt = anyone
    std::optional<std::set<PeerId>> write;  // nullopt = anyone
  };
  std::optional<std::set<PeerId>> peers;
  std::map<std::string, Access> documents;  // by doc id text or "*"

  bool AllowPeer(const PeerId& peer) const override;
  bool MayRead(const PeerId& peer, const DocumentId& doc) const override;
  bool MayWrite(const PeerId& peer, const DocumentId& doc) const override;

 private:
  const Access* Find(const DocumentId& doc) const;
};

struct RepoOptions {
  PeerId self;  // our peer id (vudo: the node id hex)
  std::optional<StorageId> storage_id;
  Store* store = nullptr;               // required; not owned
  const SharePolicy* policy = nullptr;  // nullptr: allow everything
  const Clock* clock = nullptr;         // nullptr: the system clock
  // Compact a document's stored changes into a snapshot past this many.
  size_t compact_after = 2000;
  // Documents held in memory at most; peers cannot push more.
  size_t max_documents = 100000;
};

// What happened to a document, for observers.
struct DocumentEvent {
  DocumentId id;
  std::vector<automerge::ChangeHash> heads;  // after the event
  size_t new_changes = 0;
  std::optional<PeerId> from;  // nullopt: a local Change()
};

struct PeerDocStats {
  uint64_t messages_sent = 0, messages_received = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
  uint64_t changes_received = 0;
};

class Repo {
 public:
  explicit Repo(RepoOptions options);
  ~Repo();
  Repo(const Repo&) = delete;
  Repo& operator=(const Repo&) = delete;

  const PeerId& self() const { return options_.self; }

  // ---- Documents ----
  // A new document with a random id; `init` (optional) makes its first
  // changes. Persisted before returning.
  Result<DocumentId> Create(
      const std::function<Status(automerge::Document&)>& init = nullptr);
  // Makes the document known locally (loading it from the store if stored,
  // else starting empty) and syncs it with the peers that may read it, which
  // fills it if one of them has it.
  Result<automerge::Document*> Find(const DocumentId& id);
  // The document if loaded or stored; kNotFound otherwise.
  Result<automerge::Document*> Get(const DocumentId& id);
  // Runs `edit` on the document; each change it commits (and any pending
  // transaction, committed with the clock's time) is persisted, then synced.
  // Returns the new change hashes. On error nothing is persisted and the
  // pending transaction is rolled back.
  Result<std::vector<automerge::ChangeHash>> Change(
      const DocumentId& id,
      const std::function<Status(automerge::Document&)>& edit);
  // Documents loaded or stored.
  std::vector<DocumentId> Documents() const;

  // ---- Peers ----
  // Registers a connected peer (after the handshake) and starts syncing the
  // documents the policy announces to it.
  void AddPeer(const PeerId& peer, Channel* channel,
               const PeerMetadata& metadata = {});
  void RemovePeer(const PeerId& peer);
  // Handles one message from a registered peer. Messages that break the
  // protocol get an ErrorMessage and close the channel; the repo keeps
  // serving everyone else and its data is untouched.
  void Receive(const PeerId& from, const Message& message);
  std::vector<PeerId> Peers() const;
  PeerDocStats Stats(const PeerId& peer, const DocumentId& doc) const;

  // ---- Events ----
  using Observer = std::function<void(const DocumentEvent&)>;
  void OnChange(Observer observer) {
    observers_.push_back(std::move(observer));
  }
  // Called when a requested document turns out to be unavailable everywhere.
  void OnUnavailable(std::function<void(const DocumentId&)> cb) {
    unavailable_cb_ = std::move(cb);
  }

 private:
  enum class PeerDocStatus { kUnknown, kHas, kWants, kUnavailable };
  struct PeerDoc {
    automerge::sync::SyncState state;
    PeerDocStatus status = PeerDocStatus::kUnknown;
    PeerDocStats stats;
  };
  struct Doc {
    DocumentId id;
    std::unique_ptr<automerge::Document> doc;
    std::map<PeerId, PeerDoc> peers;
    size_t persisted_changes = 0;  // NumChanges() already in the store
    bool requested = false;        // we asked peers for it (empty locally)
  };
  struct Peer {
    Channel* channel;
    PeerMetadata metadata;
  };

  Result<Doc*> Load(const DocumentId& id, bool create_empty);
  Status Persist(Doc& d);
  void Notify(Doc& d, size_t new_changes, const std::optional<PeerId>& from);
  void SyncWith(Doc& d, const PeerId& peer);
  void SyncAll(Doc& d, const std::optional<PeerId>& except = std::nullopt);
  PeerDoc& PeerState(Doc& d, const PeerId& peer);
  void HandleSync(const PeerId& from, const DocumentId& id, ByteSpan data,
                  bool is_request);
  void HandleUnavailable(const PeerId& from, const DocumentId& id);
  void CheckUnavailable(Doc& d);
  void SendTo(const PeerId& peer, Message message);
  void ProtocolError(const PeerId& peer, const std::string& what);
  bool MayRead(const PeerId& p, const DocumentId& d) const;
  bool MayWrite(const PeerId& p, const DocumentId& d) const;
  automerge::ActorId NewActor() const;

  RepoOptions options_;
  SharePolicy default_policy_;
  std::map<DocumentId, std::unique_ptr<Doc>> docs_;
  std::map<PeerId, Peer> peers_;
  std::vector<Observer> observers_;
  std::function<void(const DocumentId&)> unavailable_cb_;
  std::set<std::string> seen_ephemeral_;
};

}  // namespace vudo::repo
