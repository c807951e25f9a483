// Columnar codecs of the Automerge storage format (internal to the engine).
//
// RLE: sleb n > 0: a run of n copies of one value; n < 0: |n| literal values;
// n == 0: uleb k nulls. Delta: RLE of signed differences (nulls keep the
// running value). Boolean: alternating uleb run lengths, starting with false.
// Value: metadata column (uleb len << 4 | tag, RLE) + raw bytes column.
//
// The encoders reproduce the state machines of the Rust implementation
// exactly (canonical form): a column that holds only nulls encodes to
// nothing, literal runs absorb values until two equal ones meet, etc.
//
// Decoders never read past their input and never produce more than
// `max_items` values (kOverflow), so a hostile run length cannot allocate
// without bound.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "automerge/types.h"
#include "base/bytes.h"
#include "base/leb128.h"
#include "base/result.h"

namespace vudo::automerge::col {

// Column spec: id << 4 | deflate << 3 | type.
enum ColumnType : uint8_t {
  kGroup = 0,
  kActor = 1,
  kUintRle = 2,
  kDelta = 3,
  kBool = 4,
  kStringRle = 5,
  kValueMeta = 6,
  kValueRaw = 7,
};
constexpr uint32_t Spec(uint32_t id, ColumnType type) {
  return (id << 4) | type;
}
inline constexpr uint32_t kDeflateBit = 8;

// ---- Encoders ----

// Generic RLE encoder over values of type T; Write(out, v) appends one value.
template <typename T, typename Writer>
class RleEncoder {
 public:
  explicit RleEncoder(Bytes& out) : out_(out) {}
  void Append(const T& v) {
    switch (state_) {
      case kEmpty:
        lone_ = v;
        state_ = kLone;
        break;
      case kLone:
        if (lone_ == v) {
          run_count_ = 2;
          state_ = kRun;
        } else {
          lit_.clear();
          lit_.push_back(std::move(lone_));
          lone_ = v;
          state_ = kLit;
        }
        break;
      case kRun:
        if (lone_ == v) {
          ++run_count_;
        } else {
          FlushRun();
          lone_ = v;
          state_ = kLone;
        }
        break;
      case kLit:
        // lit_ holds the literal prefix; lone_ is the last literal value.
        if (lone_ == v) {
          FlushLit(false);
          run_count_ = 2;
          state_ = kRun;
        } else {
          lit_.push_back(std::move(lone_));
          lone_ = v;
        }
        break;
      case kInitNull:
      case kNull:
        FlushNulls();
        lone_ = v;
        state_ = kLone;
        break;
    }
  }
  void AppendNull() {
    switch (state_) {
      case kEmpty:
        null_count_ = 1;
        state_ = kInitNull;
        break;
      case kInitNull:
      case kNull:
        ++null_count_;
        break;
      case kLone:
        lit_.clear();
        FlushLit(true);
        null_count_ = 1;
        state_ = kNull;
        break;
      case kRun:
        FlushRun();
        null_count_ = 1;
        state_ = kNull;
        break;
      case kLit:
        FlushLit(true);
        null_count_ = 1;
        state_ = kNull;
        break;
    }
  }
  void Append(const std::optional<T>& v) {
    if (v)
      Append(*v);
    else
      AppendNull();
  }
  // Writes what is pending. A column of only nulls writes nothing.
  void Finish() {
    switch (state_) {
      case kEmpty:
      case kInitNull:
        break;
      case kNull:
        FlushNulls();
        break;
      case kLone:
        lit_.clear();
        FlushLit(true);
        break;
      case kRun:
        FlushRun();
        break;
      case kLit:
        FlushLit(true);
        break;
    }
    state_ = kEmpty;
  }

 private:
  enum State { kEmpty, kInitNull, kNull, kLone, kRun, kLit };
  void FlushRun() {
    AppendSleb(out_, static_cast<int64_t>(run_count_));
    Writer::Write(out_, lone_);
  }
  // Writes lit_ (+ lone_ if with_last) as a literal run.
  void FlushLit(bool with_last) {
    int64_t n = static_cast<int64_t>(lit_.size()) + (with_last ? 1 : 0);
    AppendSleb(out_, -n);
    for (const auto& x : lit_) Writer::Write(out_, x);
    if (with_last) Writer::Write(out_, lone_);
    lit_.clear();
  }
  void FlushNulls() {
    out_.push_back(0);
    AppendUleb(out_, null_count_);
  }

  Bytes& out_;
  State state_ = kEmpty;
  T lone_{};
  std::vector<T> lit_;
  uint64_t run_count_ = 0;
  uint64_t null_count_ = 0;
};

struct UlebWriter {
  static void Write(Bytes& out, uint64_t v) { AppendUleb(out, v); }
};
struct SlebWriter {
  static void Write(Bytes& out, int64_t v) { AppendSleb(out, v); }
};
struct StrWriter {
  static void Write(Bytes& out, const std::string& v) {
    AppendUleb(out, v.size());
    out.insert(out.end(), v.begin(), v.end());
  }
};

using UintRleEncoder = RleEncoder<uint64_t, UlebWriter>;
using StrRleEncoder = RleEncoder<std::string, StrWriter>;

class DeltaEncoder {
 public:
  explicit DeltaEncoder(Bytes& out) : rle_(out) {}
  void Append(int64_t v) {
    rle_.Append(static_cast<int64_t>(static_cast<uint64_t>(v) -
                                     static_cast<uint64_t>(abs_)));
    abs_ = v;
  }
  void AppendNull() { rle_.AppendNull(); }
  void Append(const std::optional<int64_t>& v) {
    if (v)
      Append(*v);
    else
      AppendNull();
  }
  void Finish() { rle_.Finish(); }

 private:
  RleEncoder<int64_t, SlebWriter> rle_;
  int64_t abs_ = 0;
};

class BoolEncoder {
 public:
  explicit BoolEncoder(Bytes& out) : out_(out) {}
  void Append(bool v) {
    if (v == last_) {
      ++count_;
    } else {
      AppendUleb(out_, count_);
      last_ = v;
      count_ = 1;
    }
  }
  void Finish() {
    if (count_ > 0) AppendUleb(out_, count_);
    count_ = 0;
    last_ = false;
  }

 private:
  Bytes& out_;
  bool last_ = false;
  uint64_t count_ = 0;
};

// Appends the raw bytes of a scalar value and returns its metadata
// (len << 4 | tag).
uint64_t EncodeValue(const ScalarValue& v, Bytes& raw);

// ---- Decoders ----

Result<std::vector<std::optional<uint64_t>>> DecodeUintRle(ByteSpan data,
                                                           size_t max_items);
Result<std::vector<std::optional<std::string>>> DecodeStrRle(ByteSpan data,
                                                             size_t max_items);
// Delta column to absolute values (nulls stay null).
Result<std::vector<std::optional<int64_t>>> DecodeDelta(ByteSpan data,
                                                        size_t max_items);
Result<std::vector<bool>> DecodeBool(ByteSpan data, size_t max_items);
// Values from a metadata column and the raw column; `count` values at most
// are produced from meta (all of raw must be consumed).
Result<std::vector<ScalarValue>> DecodeValues(ByteSpan meta, ByteSpan raw,
                                              size_t max_items);
// Decodes one value given its metadata and raw bytes. Errors: kInvalidArgument
// for bad UTF-8, wrong lengths.
Result<ScalarValue> DecodeValue(uint64_t meta, ByteSpan raw);

// True if `s` is valid UTF-8 (no surrogates, no overlongs).
bool IsValidUtf8(std::string_view s);

// Raw column metadata as stored: (spec, len) pairs.
struct ColumnMeta {
  uint32_t spec = 0;
  uint64_t len = 0;
};
// Reads uleb n and n (spec, len) pairs; checks specs ascend (deflate bit
// masked) and the total length fits in `available`.
Result<std::vector<ColumnMeta>> ReadColumnMeta(ByteReader& r, size_t available);

// A set of columns by spec (deflate bit removed, data inflated).
class Columns {
 public:
  // Slices `data` (which starts at the first column) per `meta`; inflates
  // deflated columns. Returns the bytes consumed through `consumed`.
  static Result<Columns> Slice(const std::vector<ColumnMeta>& meta,
                               ByteSpan data, size_t* consumed);
  // Empty span if absent.
  ByteSpan Get(uint32_t spec) const;
  const std::vector<uint32_t>& specs() const { return specs_; }

 private:
  std::vector<uint32_t> specs_;
  std::vector<ByteSpan> data_;
  std::vector<Bytes> owned_;  // inflated columns
};

// Writes column metadata for the non-empty columns in `cols` (already in
// ascending spec order) followed by nothing; the caller appends the data.
struct OutColumn {
  uint32_t spec;
  Bytes data;
};
void WriteColumnMeta(const std::vector<OutColumn>& cols, Bytes& out);
void WriteColumnData(const std::vector<OutColumn>& cols, Bytes& out);

}  // namespace vudo::automerge::col
