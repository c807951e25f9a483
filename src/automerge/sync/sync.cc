#include "automerge/sync/sync.h"

#include <algorithm>
#include <iterator>

#include "automerge/sync/graph.h"

namespace vudo::automerge::sync {
namespace {

void SortUnique(HashList& hashes) {
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
}

// Record prefetch distance of the linear scans below.
constexpr uint32_t kScanAhead = 16;

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
// hash index.
bool Known(const ChangeGraph& graph, const HashList& our_heads,
           const ChangeHash& hash) {
  return std::find(our_heads.begin(), our_heads.end(), hash) !=
             our_heads.end() ||
         graph.Has(hash);
}

// Change indexes in increasing (application) order: every change, or a
// list (the whole document is common and needs no array).
struct IndexList {
  bool all = false;
  uint32_t count = 0;  // when `all`
  std::vector<uint32_t> list;

  size_t size() const { return all ? count : list.size(); }
  uint32_t operator[](size_t k) const {
    return all ? static_cast<uint32_t>(k) : list[k];
  }
};

// The hashes on the paths back from `start` that we have neither applied
// nor queued (automerge's missing_deps_from), sorted. Without queued changes
// that is the start hashes we lack. With queued changes the engine does not
// expose their deps, so we ask only for the start hashes that are neither
// applied nor queued: asking for every missing dep of the queue (which is
// what Document::GetMissingDeps reports) would stall the sync on orphans
// the peer cannot provide, while a dep we do not ask for still arrives
// through the peer's Bloom filter comparison.
HashList MissingDepsFrom(Document& doc, const ChangeGraph& graph,
                         const HashList& our_heads, const HashList& start) {
  HashList missing;
  for (const auto& hash : start) {
    if (!Known(graph, our_heads, hash)) missing.push_back(hash);
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

// The changes that are neither `heads` (those we know) nor ancestors of
// them, in increasing index order. Every change is one of our heads or an
// ancestor of one, so walking back from our heads and from `heads` at once
// finds them: changes are taken in decreasing index order (deps have
// smaller indexes, so a change's children all come first and it is known
// whether `heads` reach it), and the walk stops when no change that only
// our heads reach is left. It visits about the changes that differ and
// their deps, not the whole history (automerge's get_hashes walks it all).
std::vector<uint32_t> NotAncestors(const ChangeGraph& graph,
                                   const HashList& our_heads,
                                   std::span<const ChangeHash> heads) {
  enum : uint8_t { kUnseen = 0, kOurs = 1, kTheirs = 2 };
  std::vector<uint8_t> seen(graph.size(), kUnseen);
  std::vector<uint32_t> queue;  // a max-heap of indexes
  size_t ours_left = 0;         // queued kOurs entries
  for (const auto& head : heads) {
    if (auto index = graph.Find(head); index && seen[*index] == kUnseen) {
      seen[*index] = kTheirs;
      queue.push_back(*index);
    }
  }
  for (const auto& head : our_heads) {
    if (auto index = graph.Find(head); index && seen[*index] == kUnseen) {
      seen[*index] = kOurs;
      queue.push_back(*index);
      ++ours_left;
    }
  }
  std::make_heap(queue.begin(), queue.end());
  std::vector<uint32_t> out;
  while (ours_left != 0) {
    std::pop_heap(queue.begin(), queue.end());
    const uint32_t index = queue.back();
    queue.pop_back();
    const uint8_t mark = seen[index];
    if (mark == kOurs) {
      --ours_left;
      out.push_back(index);
    }
    for (uint32_t dep : graph.deps(index)) {
      if (seen[dep] == kUnseen) {
        seen[dep] = mark;
        queue.push_back(dep);
        std::push_heap(queue.begin(), queue.end());
        ours_left += mark == kOurs;
      } else if (seen[dep] == kOurs && mark == kTheirs) {
        seen[dep] = kTheirs;  // still queued, now as theirs
        --ours_left;
      }
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// NotAncestors of the last hash list asked for: the filter we send and the
// changes we select often need the same (our shared heads are the peer's
// heads after a round).
class NotAncestorsCache {
 public:
  NotAncestorsCache(const ChangeGraph& graph, const HashList& our_heads)
      : graph_(graph), our_heads_(our_heads) {}
  const std::vector<uint32_t>& Of(std::span<const ChangeHash> heads) {
    HashList key(heads.begin(), heads.end());
    SortUnique(key);
    if (!valid_ || key != key_) {
      list_ = NotAncestors(graph_, our_heads_, key);
      key_ = std::move(key);
      valid_ = true;
    }
    return list_;
  }

 private:
  const ChangeGraph& graph_;
  const HashList& our_heads_;
  bool valid_ = false;
  HashList key_;
  std::vector<uint32_t> list_;
};

// The changes that are not ancestors of `have_deps`, in application order
// (automerge's ChangeGraph::get_hashes).
IndexList ChangesSince(const ChangeGraph& graph, NotAncestorsCache& cache,
                       const HashList& our_heads,
                       std::span<const ChangeHash> have_deps) {
  IndexList out;
  if (have_deps.empty()) {
    out.all = true;
    out.count = graph.size();
    return out;
  }
  if (CoversHeads(our_heads, have_deps)) return out;
  out.list = cache.Of(have_deps);
  return out;
}

// One pass over the changes `since`, in order: adds each to `add` (unless
// null) and sets held[k] when `lookup` (unless null) may hold since[k],
// skipping the lookup where held[k] is already set. Each hash's probes are
// computed once (eight hashes at a time) and set or tested a group later;
// the change records are prefetched further ahead. The records are the bulk
// of the memory traffic (a big document's do not fit in the caches), hence
// one pass for both filters where possible.
void ScanFilters(const ChangeGraph& graph, const IndexList& since,
                 BloomFilter* add, const BloomFilter* lookup,
                 std::vector<uint8_t>& held) {
  const size_t n = since.size();
  if (add && !add->HasBitArray()) add = nullptr;  // Add would do nothing
  if (lookup && lookup->num_entries() == 0) lookup = nullptr;  // holds none
  if (lookup && !lookup->HasBitArray()) {
    // A filter with entries but no probes holds everything (see Contains).
    std::fill(held.begin(), held.end(), 1);
    lookup = nullptr;
  }
  if (!add && !lookup) return;
  // Changes go in groups of kLanes: a group's probes are computed one group
  // before they are set or tested.
  constexpr size_t kLanes = BloomFilter::kLanes;
  constexpr size_t kLoadAhead = 32;  // records prefetched this far ahead
  BloomFilter::LaneProbes add_probes[2], look_probes[2];
  bool look_on[2][kLanes] = {};
  size_t group_start[2] = {0, 0}, group_len[2] = {0, 0};
  auto needed = [&](size_t k) { return add || !held[k]; };
  // Filters of the same size and probe count probe the same positions (two
  // peers with as many changes since their last sync, e.g. equal forks).
  const bool same_probes = add && lookup &&
                           add->bits().size() == lookup->bits().size() &&
                           add->num_probes() == lookup->num_probes();
  for (size_t k = 0; k < kLoadAhead && k < n; ++k) {
    if (needed(k)) graph.Prefetch(since[k]);
  }
  const size_t groups = (n + kLanes - 1) / kLanes;
  for (size_t g = 0; g <= groups; ++g) {
    const size_t slot = g & 1;
    if (g < groups) {
      const size_t start = g * kLanes;
      const size_t len = std::min(kLanes, n - start);
      for (size_t k = start + kLoadAhead;
           k < start + kLoadAhead + kLanes && k < n; ++k) {
        if (needed(k)) graph.Prefetch(since[k]);
      }
      const ChangeHash* hashes[kLanes];
      const ChangeHash* any = nullptr;
      bool any_lookup = false;
      for (size_t j = 0; j < kLanes; ++j) {
        const size_t k = start + j;
        look_on[slot][j] = j < len && lookup && !held[k];
        any_lookup |= look_on[slot][j];
        hashes[j] = j < len && (add || look_on[slot][j]) ? &graph.hash(since[k])
                                                         : nullptr;
        if (!any && hashes[j]) any = hashes[j];
      }
      for (auto& h : hashes) h = h ? h : any;  // padding lanes: ignored
      // (Prefetching the filter bytes as well made it slower: the filters
      // stay in the L2 cache, and the prefetches compete with the records'.)
      if (add) add->Probes8(hashes, add_probes[slot]);
      if (any_lookup && !same_probes) {
        lookup->Probes8(hashes, look_probes[slot]);
      }
      group_start[slot] = start;
      group_len[slot] = len;
    }
    if (g >= 1) {
      const size_t prev = slot ^ 1;
      for (size_t j = 0; j < group_len[prev]; ++j) {
        if (add) add->SetLane(add_probes[prev], j);
        if (look_on[prev][j] &&
            lookup->TestLane(same_probes ? add_probes[prev] : look_probes[prev],
                             j)) {
          held[group_start[prev] + j] = 1;
        }
      }
    }
  }
}

// What a message of ours needs from the change graph: our `have` (a Bloom
// filter of the changes since our last sync, when `our_last_sync`) and
// automerge's get_hashes_to_send (when `their_have`): what the peer
// explicitly needs (and we have), then every change since its last sync
// that none of its Bloom filters contains, plus all changes that depend on
// those.
//
// When the peer's heads include all of ours, every change of ours is an
// ancestor of its heads, so its filter (which covers all its changes since
// its last sync, and a Bloom filter has no false negatives) holds every
// candidate: only the explicit needs remain, and we skip the walk. The same
// holds change by change: a change of ours that is an ancestor of the
// peer's heads is one the peer has, and if it is not an ancestor of the
// peer's last sync the peer's filter holds it, so it is not looked up (the
// peer builds its filter and its heads from the same document; automerge's
// empty filter of a reset is looked up as before).
struct Selection {
  std::optional<Have> have;
  std::vector<uint32_t> to_send;
};

Selection SelectChanges(const ChangeGraph& graph, const HashList& our_heads,
                        const HashList* our_last_sync,
                        const HashList& their_heads,
                        const std::vector<Have>* their_have,
                        const HashList* their_need) {
  Selection out;
  NotAncestorsCache cache(graph, our_heads);
  IndexList have_since;
  if (our_last_sync) {
    have_since = ChangesSince(graph, cache, our_heads, *our_last_sync);
    out.have =
        Have{*our_last_sync,
             BloomFilter::ForEntries(static_cast<uint32_t>(have_since.size()))};
  }

  bool select = their_have != nullptr;
  if (select) {
    for (const auto& hash : *their_need) {
      if (auto index = graph.Find(hash)) out.to_send.push_back(*index);
    }
    if (their_have->empty() || CoversHeads(our_heads, their_heads)) {
      select = false;
    }
  }
  IndexList send_since;
  if (select) {
    HashList last_sync;
    for (const auto& h : *their_have) {
      last_sync.insert(last_sync.end(), h.last_sync.begin(), h.last_sync.end());
    }
    SortUnique(last_sync);
    send_since = ChangesSince(graph, cache, our_heads, last_sync);
    if (send_since.size() == 0) select = false;
  }

  std::vector<uint8_t> held;
  if (select) {
    const size_t n = send_since.size();
    held.assign(n, 0);
    // Ancestors of the peer's heads: held without a lookup (see above).
    const bool trust_heads =
        their_have->size() == 1 &&
        their_have->front().bloom.num_entries() != 0 &&
        std::any_of(their_heads.begin(), their_heads.end(),
                    [&](const ChangeHash& h) { return graph.Has(h); });
    // Positions in send_since of the changes that are no ancestors of the
    // peer's heads (the only ones to look up when trust_heads).
    std::vector<uint32_t> lookups;
    if (trust_heads) {
      const std::vector<uint32_t>& not_theirs = cache.Of(their_heads);
      std::fill(held.begin(), held.end(), 1);
      size_t k = 0;
      for (uint32_t index : not_theirs) {  // both increasing
        if (send_since.all) k = index;     // position = index
        while (k < n && send_since[k] < index) ++k;
        if (k == n) break;
        if (send_since[k] == index) {
          held[k] = 0;
          lookups.push_back(static_cast<uint32_t>(k));
        }
      }
    }
    const bool same_changes = out.have && have_since.all == send_since.all &&
                              have_since.size() == send_since.size() &&
                              have_since.list == send_since.list;
    if (their_have->size() == 1 && same_changes) {
      // Both filters in one pass over the records.
      ScanFilters(graph, send_since, &out.have->bloom,
                  &their_have->front().bloom, held);
      our_last_sync = nullptr;  // done
    } else if (their_have->size() == 1 && trust_heads) {
      // Only the few changes the peer's heads do not cover.
      IndexList sub;
      for (uint32_t k : lookups) sub.list.push_back(send_since[k]);
      std::vector<uint8_t> sub_held(sub.size(), 0);
      ScanFilters(graph, sub, nullptr, &their_have->front().bloom, sub_held);
      for (size_t j = 0; j < lookups.size(); ++j)
        held[lookups[j]] = sub_held[j];
    } else if (their_have->size() == 1) {
      ScanFilters(graph, send_since, nullptr, &their_have->front().bloom, held);
    } else {
      // Automerge sends one filter; more are looked up one by one.
      for (size_t k = 0; k < n; ++k) {
        if (held[k]) continue;
        const ChangeHash& hash = graph.hash(send_since[k]);
        held[k] =
            std::any_of(their_have->begin(), their_have->end(),
                        [&](const Have& h) { return h.bloom.Contains(hash); });
      }
    }
  }
  if (our_last_sync && have_since.size() != 0) {
    std::vector<uint8_t> none(have_since.size(), 0);
    ScanFilters(graph, have_since, &out.have->bloom, nullptr, none);
  }
  if (!select) return out;

  // Changes in `since` are in causal order, so a single forward pass finds
  // the closure: a change goes if no filter has it or if one of its deps
  // goes. Nothing before the first change that no filter holds can go (its
  // deps would have to go first), so the pass starts there and reads the
  // deps of the few changes after it only.
  const size_t n = send_since.size();
  size_t first = 0;
  while (first < n && held[first]) ++first;
  if (first == n) return out;
  std::vector<uint8_t> send(graph.size(), 0);
  for (size_t k = first; k < n; ++k) {
    const uint32_t index = send_since[k];
    bool go = !held[k];
    if (!go) {
      if (k + kScanAhead < n) graph.PrefetchDeps(send_since[k + kScanAhead]);
      for (uint32_t dep : graph.deps(index)) {
        if (send[dep]) {
          go = true;
          break;
        }
      }
    }
    send[index] = go;
  }
  std::vector<uint32_t> need_indexes = std::move(out.to_send);
  out.to_send.clear();
  for (uint32_t index : need_indexes) {
    if (!send[index]) out.to_send.push_back(index);
  }
  for (size_t k = first; k < n; ++k) {
    if (send[send_since[k]]) out.to_send.push_back(send_since[k]);
  }
  return out;
}

// The changes part of a message under construction.
struct Payload {
  MessageVersion version = MessageVersion::kV1;
  std::vector<Bytes> changes;
  std::vector<uint32_t> indexes;  // the changes it carries
};

Payload ChangesPayload(const ChangeGraph& graph, const SyncState& state,
                       std::vector<uint32_t> indexes) {
  Payload payload;
  payload.indexes = std::move(indexes);
  if (state.SupportsV2()) {
    payload.version = MessageVersion::kV2;
    size_t total = 0;
    for (uint32_t i : payload.indexes) total += graph.bytes(i).size();
    if (total != 0) {
      Bytes joined;
      joined.reserve(total);
      for (uint32_t i : payload.indexes) Append(joined, graph.bytes(i));
      payload.changes.push_back(std::move(joined));
    }
  } else {
    payload.version = MessageVersion::kV1;
    for (uint32_t i : payload.indexes) {
      ByteSpan bytes = graph.bytes(i);
      payload.changes.emplace_back(bytes.begin(), bytes.end());
    }
  }
  return payload;
}

Payload WholeDocumentPayload(Document& doc, const ChangeGraph& graph) {
  Payload payload;
  payload.version = MessageVersion::kV2;
  payload.changes.push_back(doc.Save());
  const uint32_t num_changes = graph.size();
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
  // One history check for the whole step; the graph is read directly.
  const ChangeGraph graph(doc);
  const size_t num_changes = doc.NumChanges();

  HashList our_need;
  if (!state.read_only && state.their_heads) {
    our_need = MissingDepsFrom(doc, graph, our_heads, *state.their_heads);
  }

  // The peer's last sync names a change we do not have (we lost data, or
  // it confused us with someone else): ask it to start over. (Automerge
  // builds our filter first and drops it here; we skip that work.)
  if (state.their_have && !state.their_have->empty()) {
    for (const auto& hash : state.their_have->front().last_sync) {
      if (!Known(graph, our_heads, hash)) {
        Message reset;
        reset.version = MessageVersion::kV1;
        reset.heads = our_heads;
        reset.have.push_back(Have{});
        if (!state.v1_only) reset.flags = kFlagSupportsSyncReset;
        return reset;
      }
    }
  }

  // Send a filter of what we have only once everything we need is among
  // the peer's heads (otherwise the peer would answer a stale filter).
  const HashList their_heads = state.their_heads.value_or(HashList{});
  bool make_have;
  {
    HashList sorted_heads = their_heads;
    SortUnique(sorted_heads);
    make_have =
        std::all_of(our_need.begin(), our_need.end(), [&](const ChangeHash& h) {
          return std::binary_search(sorted_heads.begin(), sorted_heads.end(),
                                    h);
        });
  }
  // Select changes unless the peer is read-only (it would ignore them),
  // has not told us what it has, or gets the whole document.
  const bool select = !state.peer_read_only && state.their_have &&
                      state.their_need && !state.SendWholeDocument();
  Selection selection =
      SelectChanges(graph, our_heads, make_have ? &state.shared_heads : nullptr,
                    their_heads, select ? &*state.their_have : nullptr,
                    select ? &*state.their_need : nullptr);
  std::vector<Have> our_have;
  if (selection.have) our_have.push_back(std::move(*selection.have));

  Payload payload;
  if (state.peer_read_only) {
    payload = ChangesPayload(graph, state, {});
  } else if (state.their_have && state.their_need) {
    if (state.SendWholeDocument()) {
      payload = WholeDocumentPayload(doc, graph);
    } else {
      std::vector<uint32_t> fresh;
      fresh.reserve(selection.to_send.size());
      for (uint32_t i : selection.to_send) {
        if (!state.sent_hashes.contains(graph.hash(i))) {
          fresh.push_back(i);
        }
      }
      if (fresh.size() > num_changes / 3 && state.SupportsV2()) {
        // More than a third of the document: the document chunk is smaller.
        payload = WholeDocumentPayload(doc, graph);
      } else {
        payload = ChangesPayload(graph, state, std::move(fresh));
      }
    }
  } else {
    payload = ChangesPayload(graph, state, {});
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
    state.sent_hashes.insert(graph.hash(i));
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

  const HashList after_heads = doc.Heads();
  if (apply) {
    state.shared_heads =
        AdvanceHeads(before_heads, after_heads, state.shared_heads);
  }

  const ChangeGraph graph(doc);

  // Forget sent changes the peer has acknowledged by naming them (or a
  // descendant) among its heads.
  if (!state.sent_hashes.empty() && CoversHeads(after_heads, message.heads)) {
    // The peer has everything we have.
    state.sent_hashes.clear();
  } else if (!state.sent_hashes.empty()) {
    const std::vector<uint32_t> not_acknowledged =
        NotAncestors(graph, after_heads, message.heads);  // sorted
    state.sent_hashes.erase_if([&](const ChangeHash& hash) {
      auto index = graph.Find(hash);
      return index && !std::binary_search(not_acknowledged.begin(),
                                          not_acknowledged.end(), *index);
    });
  }

  if (message.changes.empty() && message.heads == before_heads) {
    state.last_sent_heads = message.heads;
  }

  HashList known_heads;
  for (const auto& head : message.heads) {
    if (Known(graph, after_heads, head)) known_heads.push_back(head);
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
