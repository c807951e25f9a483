// Arbitrary bytes into the frame decoder, fed in pieces whose sizes come from
// the input itself. Every frame it returns must be exactly what a one-shot
// parse of the same stream finds, and it must never exceed its cap.
#include <cstdlib>

#include "repo/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t cap = size_t(data[0]) * 16;  // small caps reach the limit
  const uint8_t step_seed = data[1];
  vudo::ByteSpan stream(data + 2, size - 2);

  // Reference: walk the stream once.
  std::vector<vudo::Bytes> expected;
  bool expect_error = false;
  for (size_t pos = 0; pos + 4 <= stream.size();) {
    uint32_t len = vudo::LoadU32BE(stream.data() + pos);
    if (len > cap) {
      expect_error = true;
      break;
    }
    if (stream.size() - pos - 4 < len) break;
    expected.emplace_back(stream.begin() + pos + 4,
                          stream.begin() + pos + 4 + len);
    pos += 4 + len;
  }

  vudo::repo::FrameDecoder decoder(cap);
  std::vector<vudo::Bytes> got;
  bool error = false;
  size_t pos = 0, step = step_seed % 7 + 1;
  while (pos < stream.size() && !error) {
    size_t n = std::min(step, stream.size() - pos);
    error = !decoder.Append(stream.subspan(pos, n));
    pos += n;
    step = (step * 5 + 3) % 97 + 1;
    while (!error) {
      auto next = decoder.Next();
      if (!next) {
        error = true;
        break;
      }
      if (!*next) break;
      if ((*next)->size() > cap) std::abort();
      got.push_back(std::move(**next));
    }
  }
  if (got != expected || error != expect_error) std::abort();
  return 0;
}
