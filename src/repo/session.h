// PeerSession: the automerge-repo protocol on one byte stream (a QUIC stream
// on ALPN `iroh/automerge-repo/1`, or any other ordered reliable stream):
// u32-BE length-prefixed CBOR messages (framing.h), the join/peer handshake,
// then every message goes to the Repo.
//
//   initiator                         acceptor
//     join {senderId, peerMetadata,
//           supportedProtocolVersions}  ->
//                                     <- peer {senderId, targetId,
//                                              selectedProtocolVersion: "1"}
//     ...repo messages both ways...
//
// When the transport authenticates the remote (QUIC: its Ed25519 node id),
// the session registers the peer with the repo under that id, whatever
// senderId the remote claims: access control then rests on the key, not on
// a string the peer chose. (The session rewrites ids between the two.)
//
// Untrusted input: an oversized frame, undecodable CBOR, a message before the
// handshake, an unsupported protocol version, or a refused peer closes the
// session with an error message; other sessions are unaffected. Unknown
// message types are ignored (forward compatibility).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "repo/framing.h"
#include "repo/repo.h"

namespace vudo::repo {

// The transport under a session.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  virtual void Write(Bytes data) = 0;
  // Closes the stream/connection after what was written (best effort).
  virtual void Close(std::string_view reason) = 0;
};

class PeerSession : public Channel {
 public:
  enum class Role { kInitiator, kAcceptor };
  struct Options {
    Role role = Role::kInitiator;
    // The remote's transport-authenticated id (QUIC node id hex), if any.
    std::optional<PeerId> authenticated_id;
    PeerMetadata metadata;  // what we announce
    size_t max_frame = kMaxMessageBytes;
  };

  // repo and stream are not owned and must outlive the session.
  PeerSession(Repo* repo, ByteStream* stream, Options options);
  ~PeerSession() override;

  // Sends join (initiator); the acceptor waits for it.
  void Start();
  // Bytes from the stream, in order, any split.
  void OnBytes(ByteSpan data);
  // The stream closed (either side): unregisters the peer.
  void OnClosed();

  bool ready() const { return ready_; }
  bool closed() const { return closed_; }
  // The peer id the repo knows the remote by (after the handshake).
  const PeerId& peer_id() const { return peer_id_; }
  const std::string& close_reason() const { return close_reason_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }

  // Called once when the handshake completes.
  void OnReady(std::function<void(const PeerId&)> cb) {
    on_ready_ = std::move(cb);
  }

  // Channel:
  void Send(const Message& message) override;
  void Close(std::string_view reason) override;

 private:
  void HandleFrame(ByteSpan frame);
  void Handshake(const Message& m);
  void Fail(const std::string& reason);
  bool Accept(const PeerId& remote_claimed);
  void Register();
  void WriteMessage(const Message& m);

  Repo* repo_;
  ByteStream* stream_;
  Options options_;
  FrameDecoder decoder_;
  bool ready_ = false;
  bool closed_ = false;
  bool registered_ = false;
  PeerId peer_id_;       // as the repo knows it
  PeerId remote_claim_;  // the senderId the remote uses
  std::string close_reason_;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  std::function<void(const PeerId&)> on_ready_;
};

}  // namespace vudo::repo
