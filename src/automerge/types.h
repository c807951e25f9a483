// Core value types of the Automerge engine: change hashes, actor ids, op ids,
// object ids, scalar values and object types.
//
// Everything here is a plain value type; none of it touches I/O.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"

namespace vudo::automerge {

// SHA-256 of a change chunk (see chunk.h).
using ChangeHash = std::array<uint8_t, 32>;

// Lowercase hex of a hash.
std::string HashToHex(const ChangeHash& hash);
// Errors: kInvalidArgument unless `hex` is 64 hex digits.
Result<ChangeHash> HashFromHex(std::string_view hex);

// An actor id: arbitrary bytes (automerge-js uses 16 random bytes).
using ActorId = Bytes;

// The kind of a composite object.
enum class ObjType : uint8_t { kMap, kList, kText, kTable };

const char* ObjTypeName(ObjType type);

// Type tags of scalar values, numbered as in the value-metadata column
// (len << 4 | tag), except that kFalse/kTrue are folded into kBool.
enum class ScalarType : uint8_t {
  kNull = 0,
  kBool = 1,
  kUint = 3,
  kInt = 4,
  kF64 = 5,
  kStr = 6,
  kBytes = 7,
  kCounter = 8,
  kTimestamp = 9,
  kUnknown = 10,  // tags 10..15; kept verbatim (unknown_tag, bytes)
};

// A scalar value. Only the fields that belong to `type` are meaningful
// (i, u and f share storage):
//   kBool: b; kUint: u; kInt/kCounter/kTimestamp: i; kF64: f;
//   kStr: s (UTF-8); kBytes: s (raw bytes); kUnknown: unknown_tag + s (raw).
struct ScalarValue {
  ScalarType type = ScalarType::kNull;
  bool b = false;
  uint8_t unknown_tag = 0;
  union {  // which one is meaningful depends on `type`
    int64_t i = 0;
    uint64_t u;
    double f;
  };
  std::string s;

  static ScalarValue Null() { return {}; }
  static ScalarValue Bool(bool v) {
    ScalarValue x;
    x.type = ScalarType::kBool;
    x.b = v;
    return x;
  }
  static ScalarValue Int(int64_t v) {
    ScalarValue x;
    x.type = ScalarType::kInt;
    x.i = v;
    return x;
  }
  static ScalarValue Uint(uint64_t v) {
    ScalarValue x;
    x.type = ScalarType::kUint;
    x.u = v;
    return x;
  }
  static ScalarValue F64(double v) {
    ScalarValue x;
    x.type = ScalarType::kF64;
    x.f = v;
    return x;
  }
  static ScalarValue Str(std::string v) {
    ScalarValue x;
    x.type = ScalarType::kStr;
    x.s = std::move(v);
    return x;
  }
  static ScalarValue BytesValue(std::string v) {
    ScalarValue x;
    x.type = ScalarType::kBytes;
    x.s = std::move(v);
    return x;
  }
  static ScalarValue Counter(int64_t v) {
    ScalarValue x;
    x.type = ScalarType::kCounter;
    x.i = v;
    return x;
  }
  static ScalarValue Timestamp(int64_t ms) {
    ScalarValue x;
    x.type = ScalarType::kTimestamp;
    x.i = ms;
    return x;
  }
  static ScalarValue Unknown(uint8_t tag, std::string raw) {
    ScalarValue x;
    x.type = ScalarType::kUnknown;
    x.unknown_tag = tag;
    x.s = std::move(raw);
    return x;
  }

  // Same type and same payload (f64 compared bitwise, so NaN == NaN).
  bool operator==(const ScalarValue& o) const;
};

// An operation id: (counter, actor). `actor` indexes the actor table of the
// document (or change) the id belongs to. Counter 0 is never a real op: the
// root object and the list head use it.
struct OpId {
  uint64_t counter = 0;
  uint32_t actor = 0;
  bool operator==(const OpId&) const = default;
};

// An object id within one document: the id of the op that created the
// object; the root map is kRoot. Valid for the document that produced it and
// for its forks (actor tables only grow).
using ObjId = OpId;
inline constexpr ObjId kRoot{0, 0};

// A property: a map key or a list/text index.
using Prop = std::variant<std::string, size_t>;

// What a read returns: a scalar or a reference to a nested object.
struct Value {
  bool is_object = false;
  ObjType obj_type = ObjType::kMap;  // if is_object
  ObjId obj;                         // if is_object
  ScalarValue scalar;                // if !is_object
  OpId id;                           // the op that set this value
};

}  // namespace vudo::automerge
