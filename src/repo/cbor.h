// A small CBOR (RFC 8949) value model, decoder and encoder for the
// automerge-repo network messages.
//
// Why our own and not nlohmann::json::from_cbor: the reference peer (cbor-x)
// writes `undefined` (0xf7) for absent optional fields, which nlohmann rejects,
// and nlohmann recurses without a depth limit (a deeply nested input would
// overflow the stack). This decoder:
//   - accepts every well-formed item: definite and indefinite lengths,
//     non-minimal length heads (cbor-x writes maps as 0xb9 + u16), tags,
//     simple values, half/single/double floats;
//   - enforces limits (input size, nesting depth, total item count) before
//     allocating, so hostile input costs at most O(input) memory;
//   - rejects truncated items, trailing bytes, invalid UTF-8 in text strings,
//     reserved additional-info values and misplaced break codes, each with a
//     clear Error (kTruncated, kInvalidArgument or kOverflow).
//
// The encoder writes what cbor-x (as automerge-repo configures it) writes for
// the same JS value, so messages are byte-identical to the reference peer's:
// minimal heads for integers, strings, byte strings and arrays; maps (JS
// objects) always with the 3-byte head 0xb9 + u16 count; non-integers as
// float64.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace vudo::repo::cbor {

// Appends the head of a CBOR item: major type + n in its shortest form.
void AppendHead(Bytes& out, uint8_t major, uint64_t n);

class Value {
 public:
  enum class Type {
    kUnsigned,  // major 0: uint()
    kNegative,  // major 1: the value is -1 - uint(); see AsInt()
    kBytes,     // major 2: bytes()
    kText,      // major 3: text() (valid UTF-8)
    kArray,     // major 4: items()
    kMap,       // major 5: entries(), in wire order, keys may repeat
    kTag,       // major 6: uint() is the tag number, items()[0] the content
    kSimple,    // major 7: false/true/null/undefined or another simple value
    kFloat,     // major 7: float16/32/64, as a double in float()
  };
  // Simple values (uint() of a kSimple).
  static constexpr uint64_t kFalse = 20, kTrue = 21, kNull = 22,
                            kUndefined = 23;

  Value() : type_(Type::kSimple), uint_(kNull) {}

  static Value Unsigned(uint64_t v);
  // Negative integer -1 - n.
  static Value NegativeMinusOne(uint64_t n);
  // Any int64 (chooses kUnsigned or kNegative).
  static Value Int(int64_t v);
  static Value FromBytes(ByteSpan b);
  static Value FromBytes(Bytes&& b);
  static Value Text(std::string_view s);
  // REQUIRES: utf8 is valid UTF-8.
  static Value TextFromUtf8(Bytes&& utf8);
  static Value Array(std::vector<Value> items = {});
  static Value Map(std::vector<std::pair<Value, Value>> entries = {});
  static Value Tag(uint64_t tag, Value content);
  static Value Bool(bool b);
  static Value Null();
  static Value Undefined();
  static Value Simple(uint8_t v);
  static Value Float(double d);

  Type type() const { return type_; }
  bool is_null_or_undefined() const {
    return type_ == Type::kSimple && (uint_ == kNull || uint_ == kUndefined);
  }
  bool is_bool() const {
    return type_ == Type::kSimple && (uint_ == kFalse || uint_ == kTrue);
  }
  bool as_bool() const { return uint_ == kTrue; }
  uint64_t uint() const { return uint_; }
  double float_value() const { return float_; }
  const Bytes& bytes() const { return bytes_; }
  Bytes& mutable_bytes() { return bytes_; }
  std::string_view text() const { return AsString(bytes_); }
  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& mutable_items() { return items_; }
  const std::vector<std::pair<Value, Value>>& entries() const {
    return entries_;
  }
  std::vector<std::pair<Value, Value>>& mutable_entries() { return entries_; }

  // Map lookup by text key: the first entry whose key is the text `key`, or
  // nullptr (also for non-maps).
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key) {
    return const_cast<Value*>(std::as_const(*this).Find(key));
  }
  // Appends a text-keyed entry to a map.
  void Add(std::string_view key, Value v);

  // A non-negative integer: kUnsigned, or a kFloat holding an integral value
  // in [0, 2^53] (cbor-x writes integers above 2^32 as float64). Otherwise an
  // Error naming `what`.
  Result<uint64_t> AsUint(std::string_view what) const;

  // Structural equality (floats compare by value; NaN never equals).
  friend bool operator==(const Value& a, const Value& b);

 private:
  Type type_;
  uint64_t uint_ = 0;
  double float_ = 0;
  Bytes bytes_;
  std::vector<Value> items_;
  std::vector<std::pair<Value, Value>> entries_;
};

struct DecodeLimits {
  size_t max_input_bytes = size_t{64} << 20;
  int max_depth = 32;
  // Items (every value, key and string chunk) in one input.
  size_t max_items = size_t{1} << 18;
};

// Decodes exactly one item spanning all of `data`.
Result<Value> Decode(ByteSpan data, const DecodeLimits& limits = {});

// Low-level access for decoders that map CBOR onto their own types without
// building a Value tree (the message decoder's fast path).
struct RawEntry {
  ByteSpan key;    // one complete, validated item
  ByteSpan value;  // one complete, validated item
};
// The entries of the map (definite or indefinite length) that spans all of
// `data`, in wire order. Every key and value is validated exactly as Decode
// would (limits included) but nothing is copied. kInvalidArgument "expected
// a map" if the item is not a map.
Result<std::vector<RawEntry>> SplitMap(ByteSpan data,
                                       const DecodeLimits& limits = {});
// The content of `item` if it is exactly one definite-length text string
// (valid UTF-8) / byte string; nullopt otherwise (other types, indefinite
// lengths: use Decode).
std::optional<std::string_view> PeekText(ByteSpan item);
std::optional<ByteSpan> PeekBytes(ByteSpan item);
// True if `item` is exactly `null` or `undefined`.
bool IsNullOrUndefined(ByteSpan item);

// Appends the encoding of `v` (see the header comment for the choices).
void Encode(const Value& v, Bytes& out);
Bytes Encode(const Value& v);

// Diagnostic rendering (RFC 8949 section 8 style), for logs and tests.
std::string ToDiagnostic(const Value& v);

}  // namespace vudo::repo::cbor
