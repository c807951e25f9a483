#include "base/inflate.h"

#include <zlib.h>

namespace vudo {

Result<Bytes> InflateBytes(ByteSpan data, InflateFormat format,
                           size_t max_out) {
  const bool gzip = format == InflateFormat::kGzip;
  const char* what = gzip ? "gzip" : "DEFLATE";
  z_stream zs{};
  if (inflateInit2(&zs, gzip ? 16 + MAX_WBITS : -MAX_WBITS) != Z_OK)
    return Err(ErrorCode::kInternal, "inflateInit2 failed");
  Bytes out;
  uint8_t buf[16384];
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Err(ErrorCode::kCorrupt, "bad {} data", what);
    }
    size_t got = sizeof buf - zs.avail_out;
    if (out.size() + got > max_out) {
      inflateEnd(&zs);
      return Err(ErrorCode::kOverflow, "inflated data exceeds {} bytes",
                 max_out);
    }
    out.insert(out.end(), buf, buf + got);
    if (rc == Z_OK && got == 0 && zs.avail_in == 0) {
      inflateEnd(&zs);
      return Err(ErrorCode::kCorrupt, "truncated {} data", what);
    }
  }
  bool trailing = zs.avail_in != 0;
  inflateEnd(&zs);
  if (trailing)
    return Err(ErrorCode::kCorrupt, "bytes after the {} stream", what);
  return out;
}

}  // namespace vudo
