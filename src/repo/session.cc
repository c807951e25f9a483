#include "repo/session.h"

#include "base/log.h"

namespace vudo::repo {

PeerSession::PeerSession(Repo* repo, ByteStream* stream, Options options)
    : repo_(repo),
      stream_(stream),
      options_(std::move(options)),
      decoder_(options_.max_frame) {}

PeerSession::~PeerSession() {
  if (registered_) repo_->RemovePeer(peer_id_);
}

void PeerSession::Start() {
  if (options_.role != Role::kInitiator) return;
  JoinMessage join;
  join.sender_id = repo_->self();
  join.peer_metadata = options_.metadata;
  join.supported_protocol_versions =
      std::vector<std::string>{std::string(kProtocolV1)};
  WriteMessage(join);
}

void PeerSession::WriteMessage(const Message& m) {
  if (closed_) return;
  Bytes body = EncodeMessage(m);
  Bytes frame;
  if (auto s = AppendFrame(frame, body, options_.max_frame); !s) {
    VUDO_LOG_ERROR("dropping a {} message of {} bytes: {}", MessageType(m),
                   body.size(), s.error().ToString());
    return;
  }
  bytes_sent_ += frame.size();
  stream_->Write(std::move(frame));
}

void PeerSession::Send(const Message& message) {
  if (!ready_) return;
  // The remote knows itself by the id it claimed.
  Message m = message;
  std::visit(
      [&](auto& x) {
        if constexpr (requires { x.target_id = remote_claim_; }) {
          using T = std::decay_t<decltype(x.target_id)>;
          if constexpr (std::is_same_v<T, PeerId>)
            x.target_id = remote_claim_;
          else
            x.target_id = std::optional<PeerId>(remote_claim_);
        }
      },
      m);
  WriteMessage(m);
}

void PeerSession::Close(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::string(reason);
  stream_->Close(reason);
}

void PeerSession::OnClosed() {
  if (registered_) {
    registered_ = false;
    repo_->RemovePeer(peer_id_);
  }
  closed_ = true;
}

void PeerSession::Fail(const std::string& reason) {
  VUDO_LOG_WARN("session {}: {}",
                peer_id_.empty() ? "?" : peer_id_.substr(0, 10), reason);
  ErrorMessage err;
  err.sender_id = repo_->self();
  if (!remote_claim_.empty()) err.target_id = remote_claim_;
  err.message = reason;
  WriteMessage(err);
  Close(reason);
}

void PeerSession::OnBytes(ByteSpan data) {
  if (closed_) return;
  bytes_received_ += data.size();
  if (auto s = decoder_.Append(data); !s)
    return Fail("bad frame: " + s.error().ToString());
  while (!closed_) {
    auto frame = decoder_.Next();
    if (!frame) return Fail("bad frame: " + frame.error().ToString());
    if (!*frame) return;
    HandleFrame(**frame);
  }
}

void PeerSession::HandleFrame(ByteSpan frame) {
  auto m = DecodeMessage(frame, options_.max_frame);
  if (!m) {
    if (IsUnknownMessageType(m.error())) {
      VUDO_LOG_DEBUG("ignoring message: {}", m.error().message);
      return;
    }
    return Fail("bad message: " + m.error().ToString());
  }
  if (!ready_) return Handshake(*m);
  // Map the remote's claimed id to the id the repo knows it by.
  bool spoofed = false;
  std::visit(
      [&](auto& x) {
        if constexpr (requires { x.sender_id = remote_claim_; }) {
          using T = std::decay_t<decltype(x.sender_id)>;
          if constexpr (std::is_same_v<T, PeerId>) {
            if (x.sender_id != remote_claim_) spoofed = true;
            x.sender_id = peer_id_;
          } else if (x.sender_id) {
            if (*x.sender_id != remote_claim_) spoofed = true;
            x.sender_id = peer_id_;
          }
        }
      },
      *m);
  if (spoofed) return Fail("senderId differs from the handshake's");
  repo_->Receive(peer_id_, *m);
}

void PeerSession::Handshake(const Message& m) {
  if (options_.role == Role::kAcceptor) {
    const auto* join = std::get_if<JoinMessage>(&m);
    if (!join) return Fail("expected join, got " + std::string(MessageType(m)));
    remote_claim_ = join->sender_id;
    auto version = SelectProtocolVersion(*join);
    if (!version) return Fail("no supported protocol version (we speak \"1\")");
    if (!Accept(join->sender_id)) return;
    PeerMessage peer;
    peer.sender_id = repo_->self();
    peer.target_id = join->sender_id;
    peer.peer_metadata = options_.metadata;
    peer.selected_protocol_version = *version;
    WriteMessage(peer);  // before the repo's first sync messages
    return Register();
  }
  const auto* peer = std::get_if<PeerMessage>(&m);
  if (!peer) {
    if (const auto* err = std::get_if<ErrorMessage>(&m))
      return Fail("peer refused the handshake: " + err->message);
    return Fail("expected peer, got " + std::string(MessageType(m)));
  }
  if (peer->selected_protocol_version != kProtocolV1)
    return Fail("peer selected unsupported protocol version " +
                peer->selected_protocol_version);
  if (!Accept(peer->sender_id)) return;
  Register();
}

bool PeerSession::Accept(const PeerId& remote_claimed) {
  remote_claim_ = remote_claimed;
  peer_id_ = options_.authenticated_id.value_or(remote_claimed);
  if (peer_id_.empty()) {
    Fail("empty peer id");
    return false;
  }
  if (peer_id_ == repo_->self()) {
    Fail("connected to ourselves");
    return false;
  }
  return true;
}

void PeerSession::Register() {
  ready_ = true;
  registered_ = true;
  repo_->AddPeer(peer_id_, this, {});
  if (on_ready_ && !closed_) on_ready_(peer_id_);
}

}  // namespace vudo::repo
