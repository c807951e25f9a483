#include "automerge/sync/sync.h"

#include <algorithm>
#include <iterator>

namespace vudo::automerge::sync {
namespace {

void SortUnique(HashList& hashes) {
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
}

// Marks every change that is `heads` (those we know) or an ancestor of
// them. Change indexes are a causal order: deps have smaller indexes.
std::vector<bool> MarkAncestors(Document& doc, size_t num_changes,
                                std::span<const ChangeHash> heads) {
  std::vector<bool> marked(num_changes, false);
  std::vector<uint32_t> stack;
  for (const auto& head : heads) {
    if (auto index = doc.ChangeIndex(head); index && !marked[*index]) {
      marked[*index] = true;
      stack.push_back(uint32_t(*index));
    }
  }
  while (!stack.empty()) {
    uint32_t index = stack.back();
    stack.pop_back();
    for (uint32_t dep : doc.ChangeDepIndexesAt(index)) {
      if (!marked[dep]) {
        marked[dep] = true;
        stack.push_back(dep);
      }
    }
  }
  return marked;
}

// True if every one of our heads is in `hashes`: then every change is an
// ancestor of `hashes` (or one of them).
bool CoversHeads(const HashList& our_heads,
                 std::span<const ChangeHash> hashes) {
  return std::all_of(
      our_heads.begin(), our_heads.end(), [&](const ChangeHash& head) {
        return std::find(hashes.begin(), hashes.end(), head) != hashes.end();
      });
}

// Whether we have the change `hash`. Our heads are checked first: that
// answers the common questions (the peer's heads equal ours) without the
// engine's hash index, which a freshly loaded document builds lazily.
bool Known(Document& doc, const HashList& our_heads, const ChangeHash& hash) {
  return std::find(our_heads.begin(), our_heads.end(), hash) !=
             our_heads.end() ||
         doc.HasChange(hash);
}

// The changes that are not ancestors of `have_deps`, in application order
// (automerge's ChangeGraph::get_hashes).
std::vector<uint32_t> ChangesSince(Document& doc, size_t num_changes,
                                   const HashList& our_heads,
                                   std::span<const ChangeHash> have_deps) {
  std::vector<uint32_t> out;
  if (have_deps.empty()) {
    out.resize(num_changes);
    for (size_t i = 0; i < num_changes; ++i) out[i] = uint32_t(i);
    return out;
  }
  if (CoversHeads(our_heads, have_deps)) return out;
  std::vector<bool> ancestors = MarkAncestors(doc, num_changes, have_deps);
  for (size_t i = 0; i < num_changes; ++i) {
    if (!ancestors[i]) out.push_back(uint32_t(i));
  }
  return out;
}

// The hashes on the paths back from `start` that we have neither applied
// nor queued (automerge's missing_deps_from), sorted. Without queued changes
// that is the start hashes we lack. With queued changes the engine does not
// expose their deps, so we ask only for the start hashes that are neither
// applied nor queued: asking for every missing dep of the queue (which is
// what Document::GetMissingDeps reports) would stall the sync on orphans
// the peer cannot provide, while a dep we do not ask for still arrives
// through the peer's Bloom filter comparison.
HashList MissingDepsFrom(Document& doc, const HashList& our_heads,
                         const HashList& start) {
  HashList missing;
  for (const auto& hash : start) {
    if (!Known(doc, our_heads, hash)) missing.push_back(hash);
  }
  SortUnique(missing);
  if (doc.NumQueued() != 0 && !missing.empty()) {
    HashList not_queued = doc.GetMissingDeps(missing);
    HashList out;
    std::set_intersection(missing.begin(), missing.end(), not_queued.begin(),
                          not_queued.end(), std::back_inserter(out));
    return out;
  }
  return missing;
}

Have MakeHave(Document& doc, size_t num_changes, const HashList& our_heads,
              const HashList& last_sync) {
  std::vector<uint32_t> since =
      ChangesSince(doc, num_changes, our_heads, last_sync);
  // Straight from the change records (no copy of 260k hashes).
  BloomFilter bloom =
      BloomFilter::ForEntries(static_cast<uint32_t>(since.size()));
  for (uint32_t i : since) bloom.Add(doc.ChangeHashAt(i));
  return Have{last_sync, std::move(bloom)};
}

// Automerge's get_hashes_to_send: what the peer explicitly needs (and we
// have), then every change since its last sync that none of its Bloom
// filters contains, plus all changes that depend on those.
//
// When the peer's heads include all of ours, every change of ours is an
// ancestor of its heads, so its filter (which covers all its changes since
// its last sync, and a Bloom filter has no false negatives) holds every
// candidate: only the explicit needs remain, and we skip the walk.
std::vector<uint32_t> ChangesToSend(Document& doc, size_t num_changes,
                                    const HashList& our_heads,
                                    const HashList& their_heads,
                                    const std::vector<Have>& have,
                                    const HashList& need) {
  std::vector<uint32_t> need_indexes;
  for (const auto& hash : need) {
    if (auto index = doc.ChangeIndex(hash)) {
      need_indexes.push_back(uint32_t(*index));
    }
  }
  if (have.empty() || CoversHeads(our_heads, their_heads)) {
    return need_indexes;
  }

  HashList last_sync;
  for (const auto& h : have) {
    last_sync.insert(last_sync.end(), h.last_sync.begin(), h.last_sync.end());
  }
  SortUnique(last_sync);
  std::vector<uint32_t> since =
      ChangesSince(doc, num_changes, our_heads, last_sync);

  // Changes in `since` are in causal order, so a single forward pass finds
  // the closure: a change goes if no filter has it or if one of its deps
  // goes.
  std::vector<bool> send(num_changes, false);
  for (uint32_t index : since) {
    const ChangeHash& hash = doc.ChangeHashAt(index);
    bool go = std::all_of(have.begin(), have.end(), [&](const Have& h) {
      return !h.bloom.Contains(hash);
    });
    if (!go) {
      for (uint32_t dep : doc.ChangeDepIndexesAt(index)) {
        if (send[dep]) {
          go = true;
          break;
        }
      }
    }
    send[index] = go;
  }

  std::vector<uint32_t> out;
  for (uint32_t index : need_indexes) {
    if (!send[index]) out.push_back(index);
  }
  for (uint32_t index : since) {
    if (send[index]) out.push_back(index);
  }
  return out;
}

// The changes part of a message under construction.
struct Payload {
  MessageVersion version = MessageVersion::kV1;
  std::vector<Bytes> changes;
  std::vector<uint32_t> indexes;  // the changes it carries
};

Payload ChangesPayload(Document& doc, const SyncState& state,
                       std::vector<uint32_t> indexes) {
  Payload payload;
  payload.indexes = std::move(indexes);
  if (state.SupportsV2()) {
    payload.version = MessageVersion::kV2;
    size_t total = 0;
    for (uint32_t i : payload.indexes) total += doc.ChangeBytesAt(i).size();
    if (total != 0) {
      Bytes joined;
      joined.reserve(total);
      for (uint32_t i : payload.indexes) Append(joined, doc.ChangeBytesAt(i));
      payload.changes.push_back(std::move(joined));
    }
  } else {
    payload.version = MessageVersion::kV1;
    for (uint32_t i : payload.indexes) {
      ByteSpan bytes = doc.ChangeBytesAt(i);
      payload.changes.emplace_back(bytes.begin(), bytes.end());
    }
  }
  return payload;
}

Payload WholeDocumentPayload(Document& doc, size_t num_changes) {
  Payload payload;
  payload.version = MessageVersion::kV2;
  payload.changes.push_back(doc.Save());
  payload.indexes.resize(num_changes);
  for (size_t i = 0; i < num_changes; ++i) payload.indexes[i] = uint32_t(i);
  return payload;
}

// Automerge's advance_heads: after applying changes, the shared heads are
// our new heads that the changes created plus the old shared heads that
// are still heads.
HashList AdvanceHeads(const HashList& old_heads, const HashList& new_heads,
                      const HashList& old_shared) {
  HashList out;
  for (const auto& head : new_heads) {
    if (std::find(old_heads.begin(), old_heads.end(), head) ==
        old_heads.end()) {
      out.push_back(head);
    }
  }
  for (const auto& head : old_shared) {
    if (std::find(new_heads.begin(), new_heads.end(), head) !=
        new_heads.end()) {
      out.push_back(head);
    }
  }
  SortUnique(out);
  return out;
}

}  // namespace

std::optional<Message> GenerateSyncMessage(Document& doc, SyncState& state) {
  HashList our_heads = doc.Heads();
  const size_t num_changes = doc.NumChanges();

  HashList our_need;
  if (!state.read_only && state.their_heads) {
    our_need = MissingDepsFrom(doc, our_heads, *state.their_heads);
  }

  // Send a filter of what we have only once everything we need is among
  // the peer's heads (otherwise the peer would answer a stale filter).
  std::vector<Have> our_have;
  {
    HashList their_heads = state.their_heads.value_or(HashList{});
    SortUnique(their_heads);
    bool all_in_heads =
        std::all_of(our_need.begin(), our_need.end(), [&](const ChangeHash& h) {
          return std::binary_search(their_heads.begin(), their_heads.end(), h);
        });
    if (all_in_heads) {
      our_have.push_back(
          MakeHave(doc, num_changes, our_heads, state.shared_heads));
    }
  }

  // The peer's last sync names a change we do not have (we lost data, or
  // it confused us with someone else): ask it to start over.
  if (state.their_have && !state.their_have->empty()) {
    for (const auto& hash : state.their_have->front().last_sync) {
      if (!Known(doc, our_heads, hash)) {
        Message reset;
        reset.version = MessageVersion::kV1;
        reset.heads = our_heads;
        reset.have.push_back(Have{});
        if (!state.v1_only) reset.flags = kFlagSupportsSyncReset;
        return reset;
      }
    }
  }

  Payload payload;
  if (state.peer_read_only) {
    // It would ignore our changes anyway.
    payload = ChangesPayload(doc, state, {});
  } else if (state.their_have && state.their_need) {
    if (state.SendWholeDocument()) {
      payload = WholeDocumentPayload(doc, num_changes);
    } else {
      std::vector<uint32_t> all = ChangesToSend(
          doc, num_changes, our_heads, state.their_heads.value_or(HashList{}),
          *state.their_have, *state.their_need);
      std::vector<uint32_t> fresh;
      fresh.reserve(all.size());
      for (uint32_t i : all) {
        if (!state.sent_hashes.contains(doc.ChangeHashAt(i))) {
          fresh.push_back(i);
        }
      }
      if (fresh.size() > num_changes / 3 && state.SupportsV2()) {
        // More than a third of the document: the document chunk is smaller.
        payload = WholeDocumentPayload(doc, num_changes);
      } else {
        payload = ChangesPayload(doc, state, std::move(fresh));
      }
    }
  } else {
    payload = ChangesPayload(doc, state, {});
  }

  const bool heads_unchanged = state.last_sent_heads == our_heads;
  const bool heads_equal = state.their_heads && *state.their_heads == our_heads;
  if (heads_unchanged && state.have_responded) {
    if ((heads_equal || state.read_only) && payload.indexes.empty()) {
      return std::nullopt;
    }
    if (state.in_flight) return std::nullopt;
  }

  state.have_responded = true;
  state.last_sent_heads = our_heads;
  state.sent_hashes.reserve(state.sent_hashes.size() + payload.indexes.size());
  for (uint32_t i : payload.indexes) {
    state.sent_hashes.insert(doc.ChangeHashAt(i));
  }

  Message message;
  message.version = payload.version;
  message.changes = std::move(payload.changes);
  uint8_t flags = kFlagSupportsSyncReset;
  if (state.read_only) flags |= kFlagReadOnly;
  if (state.needs_reset) {
    // Leaving read-only: the peer must forget what it sent us. A peer that
    // knows SyncReset gets the flag; an older one gets empty heads, which
    // makes it reset as if we had lost everything.
    state.needs_reset = false;
    if (state.PeerSupportsSyncReset()) {
      flags |= kFlagSyncReset;
      message.heads = our_heads;
    }
  } else {
    message.heads = our_heads;
  }
  message.have = std::move(our_have);
  message.need = std::move(our_need);
  if (!state.v1_only) message.flags = flags;
  state.in_flight = true;
  return message;
}

std::optional<Bytes> GenerateSyncMessageBytes(Document& doc, SyncState& state) {
  auto message = GenerateSyncMessage(doc, state);
  if (!message) return std::nullopt;
  return EncodeMessage(*message);
}

Status ReceiveSyncMessage(Document& doc, SyncState& state,
                          const Message& message) {
  HashList before_heads = doc.Heads();

  // Load first: if the chunks are bad, nothing has changed yet.
  const bool apply = !message.changes.empty() && !state.read_only;
  if (apply) {
    Status loaded;
    if (message.changes.size() == 1) {
      loaded = doc.LoadIncremental(message.changes.front());
    } else {
      Bytes joined;
      size_t total = 0;
      for (const auto& c : message.changes) total += c.size();
      joined.reserve(total);
      for (const auto& c : message.changes) Append(joined, c);
      loaded = doc.LoadIncremental(joined);
    }
    if (!loaded) {
      return tl::unexpected(loaded.error().WithContext("sync message changes"));
    }
  }

  state.in_flight = false;
  if (message.flags && !state.v1_only) {
    PeerCapabilities capabilities;
    capabilities.message_v2 = true;
    capabilities.sync_reset = (*message.flags & kFlagSupportsSyncReset) != 0;
    state.their_capabilities = capabilities;
    if (*message.flags & kFlagSyncReset) state.sent_hashes.clear();
    state.peer_read_only = (*message.flags & kFlagReadOnly) != 0;
  }

  if (apply) {
    state.shared_heads =
        AdvanceHeads(before_heads, doc.Heads(), state.shared_heads);
  }

  // Forget sent changes the peer has acknowledged by naming them (or a
  // descendant) among its heads.
  if (!state.sent_hashes.empty() && CoversHeads(doc.Heads(), message.heads)) {
    // The peer has everything we have.
    state.sent_hashes.clear();
  } else if (!state.sent_hashes.empty()) {
    const size_t num_changes = doc.NumChanges();
    std::vector<bool> acknowledged =
        MarkAncestors(doc, num_changes, message.heads);
    state.sent_hashes.erase_if([&](const ChangeHash& hash) {
      auto index = doc.ChangeIndex(hash);
      return index && acknowledged[*index];
    });
  }

  if (message.changes.empty() && message.heads == before_heads) {
    state.last_sent_heads = message.heads;
  }

  const HashList after_heads = doc.Heads();
  HashList known_heads;
  for (const auto& head : message.heads) {
    if (Known(doc, after_heads, head)) known_heads.push_back(head);
  }
  if (known_heads.size() == message.heads.size()) {
    state.shared_heads = message.heads;
    if (message.heads.empty()) {
      // The peer lost all its data: start over.
      state.last_sent_heads.clear();
      state.sent_hashes.clear();
    }
  } else {
    known_heads.insert(known_heads.end(), state.shared_heads.begin(),
                       state.shared_heads.end());
    SortUnique(known_heads);
    state.shared_heads = std::move(known_heads);
  }

  state.their_have = message.have;
  state.their_heads = message.heads;
  state.their_need = message.need;
  return Ok();
}

Status ReceiveSyncMessageBytes(Document& doc, SyncState& state,
                               ByteSpan message) {
  VUDO_ASSIGN_OR_RETURN(Message decoded, DecodeMessage(message));
  return ReceiveSyncMessage(doc, state, decoded);
}

bool HasOurChanges(Document& doc, const SyncState& state) {
  return state.shared_heads == doc.Heads();
}

}  // namespace vudo::automerge::sync
