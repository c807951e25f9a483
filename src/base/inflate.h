// zlib decompression with a cap on the output size, shared by the Automerge
// engine (raw DEFLATE columns and chunks) and the CLI (gzip trace files).
#pragma once

#include <cstddef>

#include "base/bytes.h"
#include "base/result.h"

namespace vudo {

enum class InflateFormat { kRawDeflate, kGzip };

// Decompresses all of `data`. Errors: kCorrupt (bad or truncated stream,
// bytes after its end), kOverflow (more than `max_out` bytes out).
Result<Bytes> InflateBytes(ByteSpan data, InflateFormat format, size_t max_out);

}  // namespace vudo
