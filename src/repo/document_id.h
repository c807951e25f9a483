// DocumentId: how automerge-repo names a document.
//
// 16 random bytes (automerge-repo draws a UUIDv4). Text form: base58check of
// the bytes (base58 of bytes || first 4 bytes of SHA-256(SHA-256(bytes))),
// e.g. "4NMNnkMhL8jXrdJ9jamS58PAVdXu". URL form: "automerge:<text>",
// optionally followed by "#<head>|<head>..." naming a version by its heads
// (each head a base58check-encoded 32-byte change hash).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace vudo::repo {

inline constexpr std::string_view kAutomergeUrlPrefix = "automerge:";

class DocumentId {
 public:
  static constexpr size_t kSize = 16;

  // The all-zero id (not random; only useful as a placeholder).
  DocumentId() : bytes_{} {}
  explicit DocumentId(const std::array<uint8_t, kSize>& bytes)
      : bytes_(bytes) {}

  // A fresh id from the OS CSPRNG (libsodium), shaped as a UUIDv4 like
  // automerge-repo's (version nibble 4, variant bits 10).
  static DocumentId Random();

  // Exactly 16 bytes, else kInvalidArgument.
  static Result<DocumentId> FromBytes(ByteSpan bytes);

  // Accepts the text form or the URL form ("automerge:<id>"; a "#heads"
  // suffix is refused here, see ParseAutomergeUrl). Errors (kInvalidArgument
  // unless noted), each naming the problem: empty input, a character outside
  // the base58 alphabet, a checksum mismatch (kCorrupt), a payload that is
  // not 16 bytes, an unexpected URL scheme.
  static Result<DocumentId> Parse(std::string_view text);

  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }
  // base58check text form.
  std::string ToString() const;
  // "automerge:" + ToString().
  std::string ToUrl() const;

  friend auto operator<=>(const DocumentId&, const DocumentId&) = default;

 private:
  std::array<uint8_t, kSize> bytes_;
};

// A parsed "automerge:<id>[#<head>|<head>...]" URL.
struct AutomergeUrl {
  DocumentId document_id;
  // Present when the URL has a '#' section; each head is 32 bytes.
  bool has_heads = false;
  std::vector<std::array<uint8_t, 32>> heads;

  std::string ToString() const;
};

// Errors: those of DocumentId::Parse, plus a missing "automerge:" prefix,
// more than one '#', a head that is not base58check of 32 bytes.
Result<AutomergeUrl> ParseAutomergeUrl(std::string_view url);

}  // namespace vudo::repo

template <>
struct std::hash<vudo::repo::DocumentId> {
  size_t operator()(const vudo::repo::DocumentId& id) const noexcept {
    size_t h = 0;
    for (uint8_t b : id.bytes()) h = h * 131 + b;
    return h;
  }
};
