#include "repo/framing.h"

#include <cstdint>

namespace vudo::repo {

Status AppendFrame(Bytes& out, ByteSpan message, size_t max_frame) {
  if (message.size() > max_frame || message.size() > UINT32_MAX) {
    return Err(ErrorCode::kOverflow,
               "frame: message of {} bytes exceeds the limit of {} bytes",
               message.size(), max_frame);
  }
  out.reserve(out.size() + kFrameHeaderBytes + message.size());
  AppendU32BE(out, uint32_t(message.size()));
  Append(out, message);
  return Ok();
}

Result<Bytes> EncodeFrame(ByteSpan message, size_t max_frame) {
  Bytes out;
  VUDO_TRY(AppendFrame(out, message, max_frame));
  return out;
}

Status AppendMessageFrame(Bytes& out, const Message& message,
                          size_t max_frame) {
  size_t start = out.size();
  AppendU32BE(out, 0);
  EncodeMessageTo(message, out);
  size_t len = out.size() - start - kFrameHeaderBytes;
  if (len > max_frame || len > UINT32_MAX) {
    out.resize(start);
    return Err(ErrorCode::kOverflow,
               "frame: message of {} bytes exceeds the limit of {} bytes", len,
               max_frame);
  }
  for (int i = 0; i < 4; ++i) out[start + i] = uint8_t(len >> (24 - 8 * i));
  return Ok();
}

Status FrameDecoder::CheckHeader() {
  if (error_) return tl::unexpected(*error_);
  if (buffered() < kFrameHeaderBytes) return Ok();
  uint32_t len = LoadU32BE(buffer_.data() + start_);
  if (len > max_frame_) {
    error_ = Error{ErrorCode::kOverflow,
                   fmt::format("frame: announced length {} exceeds the limit "
                               "of {} bytes",
                               len, max_frame_)};
    buffer_.clear();
    start_ = 0;
    return tl::unexpected(*error_);
  }
  return Ok();
}

Status FrameDecoder::Append(ByteSpan data) {
  if (error_) return tl::unexpected(*error_);
  // Drop the consumed prefix before growing, so the buffer never holds more
  // than the unread bytes plus this call's.
  if (start_ > 0 && (start_ >= buffer_.size() / 2 || start_ > (1u << 20))) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + ptrdiff_t(start_));
    start_ = 0;
  }
  vudo::Append(buffer_, data);
  return CheckHeader();
}

Result<std::optional<Bytes>> FrameDecoder::Next() {
  VUDO_TRY(CheckHeader());
  if (buffered() < kFrameHeaderBytes) return std::optional<Bytes>();
  uint32_t len = LoadU32BE(buffer_.data() + start_);
  if (buffered() - kFrameHeaderBytes < len) return std::optional<Bytes>();
  auto body = buffer_.begin() + ptrdiff_t(start_ + kFrameHeaderBytes);
  Bytes frame(body, body + len);
  start_ += kFrameHeaderBytes + len;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return std::optional<Bytes>(std::move(frame));
}

}  // namespace vudo::repo
