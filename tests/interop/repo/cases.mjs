// Message vectors for vudo's repo codec: real frames captured from
// automerge-repo peers (see capture.mjs) plus hand-built messages for the
// types and shapes a live exchange does not produce, and invalid inputs.
import { cbor } from "@automerge/automerge-repo";
import { captureExchange } from "./capture.mjs";
import { expectIdentical, hex, toJson } from "./normalize.mjs";

const DOC = "235mYAaFq3G2SdRxKfhYPkevRi8P";

// Shapes automerge-repo builds, in its own field order, that the live
// exchange does not produce (or not reliably).
export const synthesized = [
  ["leave", { type: "leave", senderId: "peer-a" }],
  ["error-spec-minimal", { type: "error", message: "protocol error" }],
  ["join-no-versions", { type: "join", senderId: "old-client", peerMetadata: {} }],
  // vudo re-encodes the alias as peerMetadata: same meaning, other bytes.
  ["join-metadata-alias", { type: "join", senderId: "p", metadata: { storageId: "s-1", isEphemeral: false }, supportedProtocolVersions: ["1", "2"] }, false],
  ["join-no-metadata", { type: "join", senderId: "p", supportedProtocolVersions: ["1"] }],
  // Unknown fields are tolerated and not re-encoded.
  ["sync-extra-fields", { type: "sync", targetId: "b", data: new Uint8Array([0x42, 0, 0, 1, 0, 0, 0]), documentId: DOC, senderId: "a", future: { nested: [1, 2, 3] }, flag: true }, false],
  ["sync-empty-data", { type: "sync", targetId: "b", data: new Uint8Array(0), documentId: DOC, senderId: "a" }],
  ["sync-1k-data", { type: "sync", targetId: "b", data: Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff), documentId: DOC, senderId: "a" }],
  ["ephemeral-big-count", { type: "ephemeral", targetId: "b", documentId: DOC, data: new Uint8Array([0xa0]), count: 4294967296 + 5, sessionId: "s", senderId: "a" }],
  ["remote-subscription-change-remove-only", { type: "remote-subscription-change", targetId: "b", remove: ["s-1", "s-2"], senderId: "a" }],
  ["remote-heads-changed-two-storages", { type: "remote-heads-changed", targetId: "b", documentId: DOC, newHeads: { "s-1": { heads: [], timestamp: 1 }, "s-2": { heads: ["2kWbL6nBtF1mR9ozADjrLz9GXC7TxdQ5kLz5GEuumYF8jmFjDx"], timestamp: 1710000000000 } }, senderId: "a" }],
  ["peer-unicode-ids", { type: "peer", senderId: "s\u00e9rveur-\u{1F600}", peerMetadata: { isEphemeral: true }, selectedProtocolVersion: "1", targetId: "x".repeat(300) }],
];

// Inputs vudo must refuse, with the error code it must give and a word the
// message must contain.
export const invalid = [
  ["unknown-type", cbor.encode({ type: "presence-v9", senderId: "a" }), "unsupported", "presence-v9"],
  ["no-type", cbor.encode({ senderId: "a" }), "invalid_argument", "type"],
  ["type-not-text", cbor.encode({ type: 7 }), "invalid_argument", "type"],
  ["not-a-map", cbor.encode(["sync"]), "invalid_argument", "map"],
  ["sync-missing-documentId", cbor.encode({ type: "sync", targetId: "b", data: new Uint8Array([1]), senderId: "a" }), "invalid_argument", "documentId"],
  ["sync-documentId-number", cbor.encode({ type: "sync", targetId: "b", data: new Uint8Array([1]), documentId: 5, senderId: "a" }), "invalid_argument", "documentId"],
  ["sync-documentId-bad-checksum", cbor.encode({ type: "sync", targetId: "b", data: new Uint8Array([1]), documentId: DOC.slice(0, -1) + "Q", senderId: "a" }), "corrupt", "documentId"],
  ["sync-data-text", cbor.encode({ type: "sync", targetId: "b", data: "abc", documentId: DOC, senderId: "a" }), "invalid_argument", "data"],
  ["sync-missing-senderId", cbor.encode({ type: "sync", targetId: "b", data: new Uint8Array([1]), documentId: DOC }), "invalid_argument", "senderId"],
  ["request-undefined-targetId", cbor.encode({ type: "request", targetId: undefined, data: new Uint8Array([1]), documentId: DOC, senderId: "a" }), "invalid_argument", "targetId"],
  ["ephemeral-fractional-count", cbor.encode({ type: "ephemeral", targetId: "b", documentId: DOC, data: new Uint8Array([1]), count: 1.5, sessionId: "s", senderId: "a" }), "invalid_argument", "count"],
  ["join-versions-not-array", cbor.encode({ type: "join", senderId: "a", supportedProtocolVersions: "1" }), "invalid_argument", "supportedProtocolVersions"],
  ["peer-metadata-ephemeral-text", cbor.encode({ type: "peer", senderId: "a", targetId: "b", selectedProtocolVersion: "1", peerMetadata: { isEphemeral: "yes" } }), "invalid_argument", "isEphemeral"],
  ["heads-changed-heads-not-text", cbor.encode({ type: "remote-heads-changed", targetId: "b", documentId: DOC, newHeads: { s: { heads: [1], timestamp: 1 } }, senderId: "a" }), "invalid_argument", "heads"],
  ["heads-changed-no-timestamp", cbor.encode({ type: "remote-heads-changed", targetId: "b", documentId: DOC, newHeads: { s: { heads: [] } }, senderId: "a" }), "invalid_argument", "timestamp"],
  ["truncated", cbor.encode({ type: "leave", senderId: "peer-a" }).subarray(0, 10), "truncated", "cbor"],
  ["trailing-bytes", Buffer.concat([cbor.encode({ type: "leave", senderId: "a" }), Buffer.from([0])]), "invalid_argument", "trailing"],
  ["empty", new Uint8Array(0), "truncated", "empty"],
];

// Captured frames reduced to a few of each type and shape.
export function selectCaptured(frames) {
  const perShape = new Map();
  const out = [];
  for (const f of frames) {
    const shape = f.type + ":" + JSON.stringify(toJson(f.object), (k, v) => (typeof v === "string" || typeof v === "number" ? typeof v : v));
    const n = perShape.get(shape) ?? 0;
    if (n >= (f.type === "sync" ? 4 : 1)) continue;
    perShape.set(shape, n + 1);
    out.push(f);
  }
  return out;
}

export function vectorOf(name, origin, bytes, object, identical = true) {
  return { name, origin, cbor: hex(bytes), json: toJson(object), identical: identical && expectIdentical(object) };
}

export async function buildVectors() {
  const frames = selectCaptured(await captureExchange());
  const counts = {};
  const messages = frames.map(f => {
    counts[f.type] = (counts[f.type] ?? 0) + 1;
    return vectorOf(`captured-${f.type}-${counts[f.type]}`, "captured", f.bytes, f.object);
  });
  for (const [name, object, identical] of synthesized) {
    messages.push(vectorOf(name, "synthesized", cbor.encode(object), object, identical ?? true));
  }
  return {
    messages,
    invalid: invalid.map(([name, bytes, error, contains]) => ({ name, cbor: hex(bytes), error, contains })),
  };
}
