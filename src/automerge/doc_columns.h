// Column specs of a document chunk (its change columns and op columns), its
// header parser, and the bound on items per input byte that every document
// decoder applies. Shared by the op-set loader (load_ops.cc), the saver and
// generic loader (storage.cc) and the change-graph rebuild (history.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "automerge/columnar.h"
#include "automerge/types.h"
#include "base/bytes.h"
#include "base/result.h"

namespace vudo::automerge::doc_columns {

using namespace col;

// A decoder never accepts more than kOpsPerByte * input bytes + kOpsSlack
// items (ops, changes, succ ids) from one chunk: bounds the allocation a
// hostile count can cause.
inline constexpr size_t kOpsPerByte = 64;
inline constexpr size_t kOpsSlack = 4096;

// The parts of a document chunk's body before its optional head-index
// suffix: actors (in chunk order), heads, change columns, op columns
// (deflated columns inflated). Every count is checked against the bytes
// left before anything is allocated for it.
struct DocumentHeader {
  std::vector<Bytes> actors;
  std::vector<ChangeHash> heads;
  Columns changes, ops;
};
Result<DocumentHeader> ParseDocumentHeader(ByteSpan body);

// Change columns.
inline constexpr uint32_t kChActor = Spec(0, kActor);
inline constexpr uint32_t kChSeq = Spec(0, kDelta);
inline constexpr uint32_t kChMaxOp = Spec(1, kDelta);
inline constexpr uint32_t kChTime = Spec(2, kDelta);
inline constexpr uint32_t kChMessage = Spec(3, kStringRle);
inline constexpr uint32_t kChDepsN = Spec(4, kGroup);
inline constexpr uint32_t kChDeps = Spec(4, kDelta);
inline constexpr uint32_t kChExtraMeta = Spec(5, kValueMeta);
inline constexpr uint32_t kChExtraRaw = Spec(5, kValueRaw);

// Op columns.
inline constexpr uint32_t kObjActor = Spec(0, kActor);
inline constexpr uint32_t kObjCtr = Spec(0, kUintRle);
inline constexpr uint32_t kKeyActor = Spec(1, kActor);
inline constexpr uint32_t kKeyCtr = Spec(1, kDelta);
inline constexpr uint32_t kKeyStr = Spec(1, kStringRle);
inline constexpr uint32_t kIdActor = Spec(2, kActor);
inline constexpr uint32_t kIdCtr = Spec(2, kDelta);
inline constexpr uint32_t kInsert = Spec(3, kBool);
inline constexpr uint32_t kAction = Spec(4, kUintRle);
inline constexpr uint32_t kValMeta = Spec(5, kValueMeta);
inline constexpr uint32_t kValRaw = Spec(5, kValueRaw);
inline constexpr uint32_t kSuccN = Spec(8, kGroup);
inline constexpr uint32_t kSuccActor = Spec(8, kActor);
inline constexpr uint32_t kSuccCtr = Spec(8, kDelta);
inline constexpr uint32_t kExpand = Spec(9, kBool);
inline constexpr uint32_t kMarkName = Spec(10, kStringRle);

}  // namespace vudo::automerge::doc_columns
