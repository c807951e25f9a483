#include "repo/repo.h"

#include <sodium.h>

#include "automerge/sync/message.h"
#include "automerge/sync/sync.h"
#include "base/log.h"

namespace vudo::repo {

namespace am = vudo::automerge;
namespace amsync = vudo::automerge::sync;

// ---- AllowListPolicy ----

namespace {
bool Allowed(const std::optional<std::set<PeerId>>& list, const PeerId& p) {
  return !list || list->count(p) > 0 || list->count("*") > 0;
}
}  // namespace

bool AllowListPolicy::AllowPeer(const PeerId& peer) const {
  return Allowed(peers, peer);
}

const AllowListPolicy::Access* AllowListPolicy::Find(
    const DocumentId& doc) const {
  if (auto it = documents.find(doc.ToString()); it != documents.end())
    return &it->second;
  if (auto it = documents.find("*"); it != documents.end()) return &it->second;
  return nullptr;
}

bool AllowListPolicy::MayRead(const PeerId& peer, const DocumentId& doc) const {
  if (!AllowPeer(peer)) return false;
  const Access* a = Find(doc);
  return !a || Allowed(a->read, peer) || (a->write && Allowed(a->write, peer));
}

bool AllowListPolicy::MayWrite(const PeerId& peer,
                               const DocumentId& doc) const {
  if (!AllowPeer(peer)) return false;
  const Access* a = Find(doc);
  return !a || Allowed(a->write, peer);
}

// ---- Repo ----

Repo::Repo(RepoOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = &SystemClock::Get();
}

Repo::~Repo() = default;

bool Repo::MayRead(const PeerId& p, const DocumentId& d) const {
  return (options_.policy ? *options_.policy : default_policy_).MayRead(p, d);
}
bool Repo::MayWrite(const PeerId& p, const DocumentId& d) const {
  return (options_.policy ? *options_.policy : default_policy_).MayWrite(p, d);
}

am::ActorId Repo::NewActor() const {
  am::ActorId actor(16);
  randombytes_buf(actor.data(), actor.size());
  return actor;
}

Result<Repo::Doc*> Repo::Load(const DocumentId& id, bool create_empty) {
  if (auto it = docs_.find(id); it != docs_.end()) return it->second.get();
  VUDO_ASSIGN_OR_RETURN(auto stored, options_.store->Load(id.ToString()));
  auto d = std::make_unique<Doc>();
  d->id = id;
  if (stored) {
    auto doc = am::Document::Load(*stored, NewActor());
    if (!doc)
      return tl::unexpected(
          doc.error().WithContext("stored document " + id.ToString()));
    d->doc = std::make_unique<am::Document>(std::move(*doc));
    d->persisted_changes = d->doc->NumChanges();
  } else if (create_empty) {
    d->doc = std::make_unique<am::Document>(NewActor());
  } else {
    return Err(ErrorCode::kNotFound, "no document {}", id.ToString());
  }
  Doc* raw = d.get();
  docs_.emplace(id, std::move(d));
  return raw;
}

Status Repo::Persist(Doc& d) {
  size_t n = d.doc->NumChanges();
  if (n <= d.persisted_changes) return Ok();
  std::vector<ByteSpan> chunks;
  std::vector<Bytes> hashes;
  for (size_t i = d.persisted_changes; i < n; ++i) {
    chunks.push_back(d.doc->ChangeBytesAt(i));
    const auto& h = d.doc->ChangeHashAt(i);
    hashes.emplace_back(h.begin(), h.end());
  }
  std::string key = d.id.ToString();
  VUDO_TRY(options_.store->AppendChanges(key, chunks, hashes));
  d.persisted_changes = n;
  VUDO_ASSIGN_OR_RETURN(size_t pending, options_.store->PendingChanges(key));
  if (pending > options_.compact_after) {
    Bytes saved = d.doc->Save();
    if (auto s = options_.store->Compact(key, saved); !s)
      VUDO_LOG_WARN("compaction of {} failed: {}", key, s.error().ToString());
  }
  return Ok();
}

void Repo::Notify(Doc& d, size_t new_changes,
                  const std::optional<PeerId>& from) {
  if (observers_.empty()) return;
  DocumentEvent ev{d.id, d.doc->Heads(), new_changes, from};
  for (auto& o : observers_) o(ev);
}

Result<DocumentId> Repo::Create(
    const std::function<Status(am::Document&)>& init) {
  DocumentId id = DocumentId::Random();
  auto d = std::make_unique<Doc>();
  d->id = id;
  d->doc = std::make_unique<am::Document>(NewActor());
  if (init) {
    if (auto s = init(*d->doc); !s) return tl::unexpected(s.error());
  }
  d->doc->Commit({.time = int64_t(options_.clock->WallNs() / 1'000'000'000)});
  VUDO_TRY(options_.store->AddDocument(id.ToString()));
  VUDO_TRY(Persist(*d));
  Doc* raw = d.get();
  docs_.emplace(id, std::move(d));
  for (const auto& [peer, _] : peers_)
    if ((options_.policy ? *options_.policy : default_policy_)
            .Announce(peer, id))
      SyncWith(*raw, peer);
  return id;
}

Result<am::Document*> Repo::Find(const DocumentId& id) {
  VUDO_ASSIGN_OR_RETURN(Doc * d, Load(id, /*create_empty=*/true));
  if (d->doc->NumChanges() == 0) d->requested = true;
  for (const auto& [peer, _] : peers_)
    if (MayRead(peer, id) && !d->peers.count(peer)) SyncWith(*d, peer);
  return d->doc.get();
}

Result<am::Document*> Repo::Get(const DocumentId& id) {
  VUDO_ASSIGN_OR_RETURN(Doc * d, Load(id, /*create_empty=*/false));
  return d->doc.get();
}

Result<std::vector<am::ChangeHash>> Repo::Change(
    const DocumentId& id, const std::function<Status(am::Document&)>& edit) {
  VUDO_ASSIGN_OR_RETURN(Doc * d, Load(id, /*create_empty=*/false));
  if (auto s = edit(*d->doc); !s) {
    d->doc->Rollback();
    return tl::unexpected(s.error());
  }
  d->doc->Commit({.time = int64_t(options_.clock->WallNs() / 1'000'000'000)});
  std::vector<am::ChangeHash> added;
  for (size_t i = d->persisted_changes; i < d->doc->NumChanges(); ++i)
    added.push_back(d->doc->ChangeHashAt(i));
  if (added.empty()) return added;
  if (d->persisted_changes == 0)
    VUDO_TRY(options_.store->AddDocument(id.ToString()));
  VUDO_TRY(Persist(*d));
  d->requested = false;
  Notify(*d, added.size(), std::nullopt);
  SyncAll(*d);
  return added;
}

std::vector<DocumentId> Repo::Documents() const {
  std::set<DocumentId> ids;
  for (const auto& [id, d] : docs_)
    if (d->doc->NumChanges() > 0 || d->persisted_changes > 0) ids.insert(id);
  if (auto stored = options_.store->ListDocuments(); stored) {
    for (const auto& s : *stored)
      if (auto id = DocumentId::Parse(s); id) ids.insert(*id);
  }
  return {ids.begin(), ids.end()};
}

// ---- Peers ----

void Repo::AddPeer(const PeerId& peer, Channel* channel,
                   const PeerMetadata& metadata) {
  peers_[peer] = Peer{channel, metadata};
  const SharePolicy& policy =
      options_.policy ? *options_.policy : default_policy_;
  for (auto& [id, d] : docs_) {
    bool wanted = d->requested && MayRead(peer, id);
    if (wanted || (d->doc->NumChanges() > 0 && policy.Announce(peer, id)))
      SyncWith(*d, peer);
  }
}

void Repo::RemovePeer(const PeerId& peer) {
  peers_.erase(peer);
  for (auto& [id, d] : docs_) {
    d->peers.erase(peer);
    if (d->requested) CheckUnavailable(*d);
  }
}

std::vector<PeerId> Repo::Peers() const {
  std::vector<PeerId> out;
  for (const auto& [p, _] : peers_) out.push_back(p);
  return out;
}

PeerDocStats Repo::Stats(const PeerId& peer, const DocumentId& doc) const {
  auto it = docs_.find(doc);
  if (it == docs_.end()) return {};
  auto pit = it->second->peers.find(peer);
  return pit == it->second->peers.end() ? PeerDocStats{} : pit->second.stats;
}

Repo::PeerDoc& Repo::PeerState(Doc& d, const PeerId& peer) {
  auto it = d.peers.find(peer);
  if (it != d.peers.end()) return it->second;
  PeerDoc pd;
  pd.state = amsync::SyncState::New(/*read_only=*/!MayWrite(peer, d.id));
  return d.peers.emplace(peer, std::move(pd)).first->second;
}

void Repo::SendTo(const PeerId& peer, Message message) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  it->second.channel->Send(message);
}

void Repo::SyncWith(Doc& d, const PeerId& peer) {
  if (!peers_.count(peer)) return;
  PeerDoc& pd = PeerState(d, peer);
  auto msg = amsync::GenerateSyncMessageBytes(*d.doc, pd.state);
  if (!msg) return;
  pd.stats.messages_sent++;
  pd.stats.bytes_sent += msg->size();
  bool nobody_has = true;
  for (const auto& [p, other] : d.peers)
    if (other.status == PeerDocStatus::kHas) nobody_has = false;
  if (d.doc->NumChanges() == 0 && d.requested && nobody_has &&
      pd.status == PeerDocStatus::kUnknown) {
    SendTo(peer, RequestMessage{options_.self, peer, d.id, std::move(*msg)});
  } else {
    SendTo(peer, SyncMessage{options_.self, peer, d.id, std::move(*msg)});
  }
}

void Repo::SyncAll(Doc& d, const std::optional<PeerId>& except) {
  const SharePolicy& policy =
      options_.policy ? *options_.policy : default_policy_;
  for (const auto& [peer, _] : peers_) {
    if (except && peer == *except) continue;
    // Peers already in a session for this document, or to whom we announce.
    if (d.peers.count(peer) || policy.Announce(peer, d.id)) SyncWith(d, peer);
  }
}

void Repo::ProtocolError(const PeerId& peer, const std::string& what) {
  VUDO_LOG_WARN("peer {}: {}", peer.substr(0, 10), what);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Channel* ch = it->second.channel;
  ch->Send(ErrorMessage{options_.self, peer, what});
  ch->Close(what);
}

void Repo::CheckUnavailable(Doc& d) {
  if (d.doc->NumChanges() > 0) return;
  bool any_pending = false;
  for (const auto& [p, pd] : d.peers)
    if (pd.status == PeerDocStatus::kUnknown ||
        pd.status == PeerDocStatus::kHas)
      any_pending = true;
  if (any_pending) return;
  for (auto& [p, pd] : d.peers) {
    if (pd.status == PeerDocStatus::kWants) {
      pd.status = PeerDocStatus::kUnavailable;
      SendTo(p, DocUnavailableMessage{options_.self, p, d.id});
    }
  }
  if (d.requested && unavailable_cb_) unavailable_cb_(d.id);
}

void Repo::HandleSync(const PeerId& from, const DocumentId& id, ByteSpan data,
                      bool is_request) {
  if (!MayRead(from, id)) {
    VUDO_LOG_INFO("peer {} may not read {}: doc-unavailable",
                  from.substr(0, 10), id.ToString());
    SendTo(from, DocUnavailableMessage{options_.self, from, id});
    return;
  }
  auto decoded = amsync::DecodeMessage(data);
  if (!decoded)
    return ProtocolError(from, "bad sync message for " + id.ToString() + ": " +
                                   decoded.error().ToString());
  // A document we have never seen: fetch it only if the peer has it (its
  // heads are not empty). A request for it, or an empty sync, is answered
  // doc-unavailable without creating anything, so a peer cannot make us
  // hold state for arbitrary ids.
  bool known = docs_.count(id) > 0;
  if (!known) {
    auto stored = options_.store->Load(id.ToString());
    known = stored && stored->has_value();
  }
  if (!known && (is_request || decoded->heads.empty())) {
    SendTo(from, DocUnavailableMessage{options_.self, from, id});
    return;
  }
  if (!known && docs_.size() >= options_.max_documents) {
    VUDO_LOG_WARN("refusing document {} from {}: {} documents loaded",
                  id.ToString(), from.substr(0, 10), docs_.size());
    SendTo(from, DocUnavailableMessage{options_.self, from, id});
    return;
  }
  auto loaded = Load(id, /*create_empty=*/true);
  if (!loaded) {
    VUDO_LOG_ERROR("cannot load {}: {}", id.ToString(),
                   loaded.error().ToString());
    SendTo(from, DocUnavailableMessage{options_.self, from, id});
    return;
  }
  Doc& d = **loaded;
  PeerDoc& pd = PeerState(d, from);
  pd.stats.messages_received++;
  pd.stats.bytes_received += data.size();
  if (is_request) pd.status = PeerDocStatus::kWants;
  if (!decoded->heads.empty()) pd.status = PeerDocStatus::kHas;
  size_t before = d.doc->NumChanges();
  if (auto s = amsync::ReceiveSyncMessageBytes(*d.doc, pd.state, data); !s)
    return ProtocolError(from, "sync message for " + id.ToString() +
                                   " refused: " + s.error().ToString());
  size_t added = d.doc->NumChanges() - before;
  if (added > 0) {
    pd.stats.changes_received += added;
    if (before == 0 && d.persisted_changes == 0) {
      if (auto s = options_.store->AddDocument(id.ToString()); !s)
        VUDO_LOG_ERROR("store: {}", s.error().ToString());
    }
    if (auto s = Persist(d); !s) {
      // Not durable: do not acknowledge. Close so the peer resends later.
      VUDO_LOG_ERROR("cannot persist changes of {}: {}", id.ToString(),
                     s.error().ToString());
      return ProtocolError(from, "storage failure");
    }
    d.requested = false;
    Notify(d, added, from);
    SyncAll(d);
    return;
  }
  if (d.doc->NumChanges() == 0) {
    CheckUnavailable(d);
    if (pd.status == PeerDocStatus::kUnavailable) return;
  }
  SyncWith(d, from);
}

void Repo::HandleUnavailable(const PeerId& from, const DocumentId& id) {
  auto it = docs_.find(id);
  if (it == docs_.end()) return;
  Doc& d = *it->second;
  PeerState(d, from).status = PeerDocStatus::kUnavailable;
  CheckUnavailable(d);
}

void Repo::Receive(const PeerId& from, const Message& message) {
  if (!peers_.count(from)) {
    VUDO_LOG_WARN("message from unregistered peer {} dropped",
                  from.substr(0, 10));
    return;
  }
  auto check_ids = [&](const PeerId& sender, const PeerId& target) {
    if (sender != from) {
      ProtocolError(from, "senderId does not match the connection's peer");
      return false;
    }
    if (target != options_.self) {
      VUDO_LOG_DEBUG("message for {} (not us) dropped", target.substr(0, 10));
      return false;
    }
    return true;
  };
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, SyncMessage> ||
                      std::is_same_v<T, RequestMessage>) {
          if (!check_ids(m.sender_id, m.target_id)) return;
          HandleSync(from, m.document_id, m.data,
                     std::is_same_v<T, RequestMessage>);
        } else if constexpr (std::is_same_v<T, DocUnavailableMessage>) {
          if (!check_ids(m.sender_id, m.target_id)) return;
          HandleUnavailable(from, m.document_id);
        } else if constexpr (std::is_same_v<T, EphemeralMessage>) {
          if (!check_ids(m.sender_id, m.target_id)) return;
          auto it = docs_.find(m.document_id);
          if (it == docs_.end() || !MayRead(from, m.document_id)) return;
          // Gossip to the other peers of the document, once.
          auto key = m.session_id + "/" + std::to_string(m.count);
          if (!seen_ephemeral_.insert(key).second) return;
          if (seen_ephemeral_.size() > 4096) seen_ephemeral_.clear();
          for (const auto& [p, _] : it->second->peers) {
            if (p == from || !MayRead(p, m.document_id)) continue;
            EphemeralMessage fwd = m;
            fwd.target_id = p;
            SendTo(p, fwd);
          }
        } else if constexpr (std::is_same_v<T, ErrorMessage>) {
          VUDO_LOG_WARN("peer {} reported an error: {}", from.substr(0, 10),
                        m.message);
          peers_.at(from).channel->Close("peer reported an error");
        } else if constexpr (std::is_same_v<T, LeaveMessage>) {
          // The transport closes next.
        } else if constexpr (std::is_same_v<T, JoinMessage> ||
                             std::is_same_v<T, PeerMessage>) {
          ProtocolError(from, "handshake message after the handshake");
        } else {
          // remote-subscription-change / remote-heads-changed: accepted and
          // ignored (vudo does not offer remote heads subscriptions yet).
        }
      },
      message);
}

}  // namespace vudo::repo
