#include "repo/document_id.h"

#include <sodium.h>

#include <cstring>

#include "crypto/ed25519.h"
#include "crypto/hash.h"

namespace vudo::repo {
namespace {

// base58check of 16 bytes is at most 28 characters, of 36 bytes (a head) at
// most 50; refuse long text before the quadratic base58 decoder sees it.
constexpr size_t kMaxIdChars = 64;

// base58check costs a quadratic base conversion and two SHA-256 per id, and
// every sync message carries its document's id as text: remember the last
// few conversions per thread (direct-mapped, 64 entries each way).
struct CacheEntry {
  std::array<uint8_t, DocumentId::kSize> bytes{};
  std::string text;  // empty = unused
};
constexpr size_t kCacheSize = 64;

size_t Slot(ByteSpan key) {
  size_t h = 0;
  for (uint8_t b : key) h = h * 31 + b;
  return h % kCacheSize;
}

CacheEntry& TextCacheSlot(std::string_view text) {
  thread_local std::array<CacheEntry, kCacheSize> cache;
  return cache[Slot(AsBytes(text))];
}

CacheEntry& BytesCacheSlot(const std::array<uint8_t, DocumentId::kSize>& b) {
  thread_local std::array<CacheEntry, kCacheSize> cache;
  return cache[Slot(b)];
}

}  // namespace

DocumentId DocumentId::Random() {
  crypto::InitSodium();
  std::array<uint8_t, kSize> b;
  randombytes_buf(b.data(), b.size());
  b[6] = uint8_t((b[6] & 0x0F) | 0x40);  // UUID version 4
  b[8] = uint8_t((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return DocumentId(b);
}

Result<DocumentId> DocumentId::FromBytes(ByteSpan bytes) {
  if (bytes.size() != kSize) {
    return Err(ErrorCode::kInvalidArgument,
               "document id: {} bytes, expected {}", bytes.size(), kSize);
  }
  std::array<uint8_t, kSize> b;
  std::memcpy(b.data(), bytes.data(), kSize);
  return DocumentId(b);
}

Result<DocumentId> DocumentId::Parse(std::string_view text) {
  std::string_view id = text;
  if (id.starts_with(kAutomergeUrlPrefix)) {
    id.remove_prefix(kAutomergeUrlPrefix.size());
    if (id.find('#') != std::string_view::npos) {
      return Err(ErrorCode::kInvalidArgument,
                 "document id: URL has a heads section; use ParseAutomergeUrl");
    }
  } else if (id.find(':') != std::string_view::npos) {
    return Err(ErrorCode::kInvalidArgument,
               "document id: expected \"automerge:<id>\" or a bare id, got a "
               "URL with another scheme");
  }
  if (id.empty()) {
    return Err(ErrorCode::kInvalidArgument, "document id: empty");
  }
  if (id.size() > kMaxIdChars) {
    return Err(ErrorCode::kInvalidArgument,
               "document id: {} characters is too long", id.size());
  }
  CacheEntry& slot = TextCacheSlot(id);
  if (!slot.text.empty() && slot.text == id) return DocumentId(slot.bytes);
  auto decoded = crypto::Base58CheckDecode(id);
  if (!decoded)
    return tl::unexpected(decoded.error().WithContext("document id"));
  VUDO_ASSIGN_OR_RETURN(DocumentId parsed, FromBytes(*decoded));
  slot.bytes = parsed.bytes();
  slot.text = std::string(id);
  return parsed;
}

std::string DocumentId::ToString() const {
  CacheEntry& slot = BytesCacheSlot(bytes_);
  if (slot.text.empty() || slot.bytes != bytes_) {
    slot.bytes = bytes_;
    slot.text = crypto::Base58CheckEncode(bytes_);
  }
  return slot.text;
}

std::string DocumentId::ToUrl() const {
  return std::string(kAutomergeUrlPrefix) + ToString();
}

std::string AutomergeUrl::ToString() const {
  std::string out = document_id.ToUrl();
  if (has_heads) {
    out += '#';
    for (size_t i = 0; i < heads.size(); ++i) {
      if (i > 0) out += '|';
      out += crypto::Base58CheckEncode(heads[i]);
    }
  }
  return out;
}

Result<AutomergeUrl> ParseAutomergeUrl(std::string_view url) {
  if (!url.starts_with(kAutomergeUrlPrefix)) {
    return Err(ErrorCode::kInvalidArgument,
               "automerge URL: must start with \"automerge:\"");
  }
  AutomergeUrl out;
  size_t hash = url.find('#');
  std::string_view base = url.substr(0, hash);
  VUDO_ASSIGN_OR_RETURN(out.document_id, DocumentId::Parse(base));
  if (hash == std::string_view::npos) return out;
  std::string_view heads = url.substr(hash + 1);
  if (heads.find('#') != std::string_view::npos) {
    return Err(ErrorCode::kInvalidArgument,
               "automerge URL: more than one heads section");
  }
  out.has_heads = true;
  while (!heads.empty()) {
    size_t bar = heads.find('|');
    std::string_view head = heads.substr(0, bar);
    if (head.empty() || head.size() > kMaxIdChars) {
      return Err(ErrorCode::kInvalidArgument, "automerge URL: bad head \"{}\"",
                 head);
    }
    auto decoded = crypto::Base58CheckDecode(head);
    if (!decoded) {
      return tl::unexpected(decoded.error().WithContext("automerge URL: head"));
    }
    if (decoded->size() != 32) {
      return Err(ErrorCode::kInvalidArgument,
                 "automerge URL: head of {} bytes, expected 32",
                 decoded->size());
    }
    std::array<uint8_t, 32> h;
    std::memcpy(h.data(), decoded->data(), 32);
    out.heads.push_back(h);
    if (bar == std::string_view::npos) break;
    heads.remove_prefix(bar + 1);
    if (heads.empty()) {
      return Err(ErrorCode::kInvalidArgument,
                 "automerge URL: empty head after '|'");
    }
  }
  return out;
}

}  // namespace vudo::repo
