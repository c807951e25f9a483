// Runs real automerge-repo peers (2.5.x) over loopback WebSockets and records
// every binary frame they send, so tests can check vudo's message codec
// against the bytes the reference implementation actually writes.
//
//   const frames = await captureExchange();  // [{type, bytes, object}]
import { Repo, cbor } from "@automerge/automerge-repo";
import {
  WebSocketClientAdapter,
  WebSocketServerAdapter,
} from "@automerge/automerge-repo-network-websocket";
import { WebSocket, WebSocketServer } from "ws";

// In-memory storage so the repos advertise a storageId in their metadata.
class MemoryStorage {
  #data = new Map();
  async load(key) {
    return this.#data.get(key.join("/"));
  }
  async save(key, data) {
    this.#data.set(key.join("/"), data);
  }
  async remove(key) {
    this.#data.delete(key.join("/"));
  }
  async loadRange(prefix) {
    const p = prefix.join("/");
    return [...this.#data]
      .filter(([k]) => k.startsWith(p))
      .map(([k, data]) => ({ key: k.split("/"), data }));
  }
  async removeRange(prefix) {
    const p = prefix.join("/");
    for (const k of [...this.#data.keys()]) if (k.startsWith(p)) this.#data.delete(k);
  }
}

const pause = ms => new Promise(r => setTimeout(r, ms));

async function until(what, predicate, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(10);
  }
}

export async function captureExchange() {
  const frames = [];
  const originalSend = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data, ...rest) {
    const bytes = new Uint8Array(data instanceof ArrayBuffer ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    frames.push(Uint8Array.from(bytes));
    return originalSend.call(this, data, ...rest);
  };
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise(r => server.on("listening", r));
  const url = `ws://127.0.0.1:${server.address().port}`;
  const repos = [];
  try {
    const a = new Repo({
      network: [new WebSocketServerAdapter(server)],
      storage: new MemoryStorage(),
      peerId: "server-peer-a",
      sharePolicy: async () => true,
      enableRemoteHeadsGossiping: true,
    });
    const b = new Repo({
      network: [new WebSocketClientAdapter(url)],
      storage: new MemoryStorage(),
      peerId: "client-peer-b",
      enableRemoteHeadsGossiping: true,
    });
    const c = new Repo({
      network: [new WebSocketClientAdapter(url)],
      peerId: "client-peer-c",
      enableRemoteHeadsGossiping: true,
    });
    repos.push(a, b, c);
    const decoded = () => frames.map(f => cbor.decode(f));
    const seen = type => decoded().some(m => m.type === type);
    await until("peer messages", () => decoded().filter(m => m.type === "peer").length >= 2);

    // B subscribes to A's storage heads: remote-subscription-change.
    const aStorage = await a.storageId();
    b.subscribeToRemotes([aStorage]);

    // A creates a document; B fetches it (request, sync both ways).
    const handle = a.create({ todos: [] });
    handle.change(d => {
      d.todos.push({ id: "t1", title: "buy milk", done: false });
    });
    const bHandle = await b.find(handle.url);
    await until("sync", () => seen("sync"));
    bHandle.change(d => {
      d.todos[0].done = true;
    });
    handle.change(d => {
      d.todos.push({ id: "t2", title: "x".repeat(300), done: false });
    });
    await until("B catches up", () => bHandle.doc()?.todos?.length === 2);

    // Ephemeral broadcast from B to A.
    bHandle.broadcast({ cursor: 42, user: "b" });
    await until("ephemeral", () => seen("ephemeral"));

    // C asks for a document nobody has: request, then doc-unavailable.
    const missing = "automerge:235mYAaFq3G2SdRxKfhYPkevRi8P";
    await c.find(missing).catch(() => {});
    await until("doc-unavailable", () => seen("doc-unavailable"));

    // Let remote-heads gossip settle (if it happens at all).
    await pause(300);

    // A raw client that speaks protocol "2" only: the server answers error.
    const raw = new WebSocket(url);
    await new Promise((res, rej) => {
      raw.on("open", res);
      raw.on("error", rej);
    });
    raw.send(cbor.encode({ type: "join", senderId: "raw-peer", peerMetadata: {}, supportedProtocolVersions: ["2"] }));
    await until("error", () => seen("error"));
    raw.close();
  } finally {
    for (const r of repos) await r.shutdown().catch(() => {});
    WebSocket.prototype.send = originalSend;
    for (const client of server.clients) client.terminate();
    await new Promise(r => server.close(r));
  }
  return frames.map(bytes => {
    const object = cbor.decode(bytes);
    return { type: object.type, bytes, object };
  });
}
