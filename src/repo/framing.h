// Length-prefixed framing of repo messages on a byte stream (the
// `iroh/automerge-repo/1` QUIC stream): each frame is a u32 big-endian
// length followed by that many bytes (one CBOR message).
//
//   FrameDecoder decoder;            // default cap: kMaxMessageBytes
//   VUDO_TRY(decoder.Append(chunk)); // bytes as they arrive, any split
//   while (true) {
//     VUDO_ASSIGN_OR_RETURN(auto frame, decoder.Next());
//     if (!frame) break;             // need more bytes
//     Handle(*frame);
//   }
//
// A frame whose announced length exceeds the cap is refused (kOverflow) as
// soon as its 4-byte header is seen, before any of its body is buffered; the
// decoder then stays failed (the stream cannot be resynchronised). Memory is
// bounded by cap + 4 + the size of one Append() call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/bytes.h"
#include "base/result.h"
#include "repo/messages.h"

namespace vudo::repo {

inline constexpr size_t kFrameHeaderBytes = 4;

// Appends header + message. kOverflow if the message is longer than
// max_frame (or than a u32 can express).
Status AppendFrame(Bytes& out, ByteSpan message,
                   size_t max_frame = kMaxMessageBytes);
Result<Bytes> EncodeFrame(ByteSpan message,
                          size_t max_frame = kMaxMessageBytes);
// Appends header + the message's CBOR, encoded in place (no intermediate
// buffer). kOverflow (and `out` unchanged) if the encoding exceeds max_frame.
Status AppendMessageFrame(Bytes& out, const Message& message,
                          size_t max_frame = kMaxMessageBytes);

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame = kMaxMessageBytes)
      : max_frame_(max_frame) {}

  // Buffers more stream bytes. Fails (with the sticky error) once the
  // decoder has failed.
  Status Append(ByteSpan data);

  // The next complete frame's body, nullopt if more bytes are needed, or the
  // sticky kOverflow error for an oversized frame.
  Result<std::optional<Bytes>> Next();

  // Bytes buffered but not yet returned as frames.
  size_t buffered() const { return buffer_.size() - start_; }
  bool failed() const { return error_.has_value(); }

 private:
  Status CheckHeader();

  size_t max_frame_;
  Bytes buffer_;
  size_t start_ = 0;  // consumed prefix of buffer_
  std::optional<Error> error_;
};

}  // namespace vudo::repo
