// A pair of automerge-repo NetworkAdapters joined by a pipe through vudo's
// message codec: every message one repo sends is CBOR-encoded by
// automerge-repo, decoded into vudo's typed structs and re-encoded by vudo
// (repo_message_tool, kept running), then decoded by automerge-repo and
// delivered to the other repo. The adapters speak the websocket adapter's
// join/peer handshake over the same pipe. If vudo's codec lost or changed
// anything, the two repos would not sync.
import { spawn } from "node:child_process";
import { NetworkAdapter, cbor } from "@automerge/automerge-repo";

// The running tool: one hex line in, one JSON line out, in order.
export class VudoCodec {
  #proc;
  #pending = [];
  #buffer = "";
  constructor(toolPath) {
    this.#proc = spawn(toolPath, ["decode"], { stdio: ["pipe", "pipe", "inherit"] });
    this.#proc.stdout.setEncoding("utf8");
    this.#proc.stdout.on("data", chunk => {
      this.#buffer += chunk;
      let nl;
      while ((nl = this.#buffer.indexOf("\n")) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        this.#pending.shift()?.(JSON.parse(line));
      }
    });
    this.passed = 0;
  }
  // automerge-repo bytes -> vudo decode + encode -> bytes.
  roundTrip(bytes) {
    return new Promise((resolve, reject) => {
      this.#pending.push(r => {
        if (!r.ok) return reject(new Error(`vudo refused a ${cbor.decode(bytes).type} message: ${r.error}`));
        this.passed++;
        resolve(Buffer.from(r.cbor, "hex"));
      });
      this.#proc.stdin.write(Buffer.from(bytes).toString("hex") + "\n");
    });
  }
  close() {
    this.#proc.stdin.end();
  }
}

class PipeAdapter extends NetworkAdapter {
  other;
  #ready = false;
  #codec;
  #chain = Promise.resolve();  // keeps delivery in send order
  constructor(codec) {
    super();
    this.#codec = codec;
  }
  isReady() {
    return this.#ready;
  }
  whenReady() {
    return Promise.resolve();
  }
  connect(peerId, peerMetadata) {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.#ready = true;
    if (this.initiator) {
      this.send({ type: "join", senderId: peerId, peerMetadata: this.peerMetadata, supportedProtocolVersions: ["1"] });
    }
  }
  send(message) {
    const bytes = cbor.encode(message);
    this.#chain = this.#chain
      .then(() => this.#codec.roundTrip(bytes))
      .then(out => this.other.receive(cbor.decode(out)))
      .catch(e => this.other.emit("vudo-error", e));
  }
  receive(message) {
    if (message.type === "join") {
      this.emit("peer-candidate", { peerId: message.senderId, peerMetadata: message.peerMetadata });
      this.send({ type: "peer", senderId: this.peerId, peerMetadata: this.peerMetadata, selectedProtocolVersion: "1", targetId: message.senderId });
    } else if (message.type === "peer") {
      this.emit("peer-candidate", { peerId: message.senderId, peerMetadata: message.peerMetadata });
    } else {
      this.emit("message", message);
    }
  }
  disconnect() {
    this.#ready = false;
  }
}

// Two connected adapters; `a` initiates the handshake.
export function vudoPipe(codec) {
  const a = new PipeAdapter(codec);
  const b = new PipeAdapter(codec);
  a.other = b;
  b.other = a;
  a.initiator = true;
  return [a, b];
}
