// vudo doc sync-stdio FILE [--v1] [--read-only]: an Automerge sync peer on
// standard streams, so that any harness (in any language) can sync with
// vudo.
//
// Framing, both directions: u32 big-endian length | bytes. Lockstep: every
// frame read from stdin is answered by exactly one frame on stdout.
//   - a frame with a sync message: vudo receives it, then answers with its
//     next message;
//   - an empty frame ("your turn"): vudo answers with its next message
//     (this is how the harness lets vudo speak first);
//   - an empty answer means vudo has nothing to send.
// When stdin closes, vudo saves the merged document to FILE (replacing it
// atomically) and prints {"heads":[...],"rounds":N} to stderr, N being the
// number of frames it answered. A malformed message stops the session with
// exit code 1; the document (untouched by that message) is still saved.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "automerge/document.h"
#include "automerge/sync/sync.h"
#include "base/encoding.h"
#include "cli/command.h"

namespace vudo::cli {
namespace {

// Largest frame we accept (the engine's own cap on inflated input).
constexpr uint32_t kMaxFrame = uint32_t{256} << 20;

struct SyncStdioArgs {
  std::string file;
  bool v1 = false;
  bool read_only = false;
};

automerge::ActorId RandomActor() {
  std::random_device rd;
  automerge::ActorId actor(16);
  for (auto& b : actor) b = uint8_t(rd());
  return actor;
}

Result<automerge::Document> LoadOrCreate(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return automerge::Document(RandomActor());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(ErrorCode::kIo, "cannot open {}", path);
  Bytes data((std::istreambuf_iterator<char>(in)),
             std::istreambuf_iterator<char>());
  auto doc = automerge::Document::Load(data, RandomActor());
  if (!doc) return tl::unexpected(doc.error().WithContext(path));
  return doc;
}

Status SaveAtomically(const std::string& path, ByteSpan data) {
  std::string tmp = path + ".tmp-sync";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Err(ErrorCode::kIo, "cannot write {}", tmp);
    out.write(reinterpret_cast<const char*>(data.data()),
              std::streamsize(data.size()));
    if (!out) return Err(ErrorCode::kIo, "cannot write {}", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return Err(ErrorCode::kIo, "cannot replace {}: {}", path, ec.message());
  return Ok();
}

// Reads one frame; nullopt at a clean end of input (before a length).
Result<std::optional<Bytes>> ReadFrame(std::FILE* in) {
  uint8_t header[4];
  size_t got = std::fread(header, 1, 4, in);
  if (got == 0 && std::feof(in)) return std::optional<Bytes>();
  if (got != 4)
    return Err(ErrorCode::kTruncated, "stdin ended inside a frame length");
  uint32_t length = LoadU32BE(header);
  if (length > kMaxFrame) {
    return Err(ErrorCode::kOverflow, "frame of {} bytes (at most {})", length,
               kMaxFrame);
  }
  Bytes frame(length);
  if (length != 0 && std::fread(frame.data(), 1, length, in) != length) {
    return Err(ErrorCode::kTruncated, "stdin ended inside a {}-byte frame",
               length);
  }
  return std::optional<Bytes>(std::move(frame));
}

Status WriteFrame(std::FILE* out, ByteSpan frame) {
  Bytes header;
  AppendU32BE(header, uint32_t(frame.size()));
  if (std::fwrite(header.data(), 1, 4, out) != 4 ||
      (!frame.empty() &&
       std::fwrite(frame.data(), 1, frame.size(), out) != frame.size()) ||
      std::fflush(out) != 0) {
    return Err(ErrorCode::kIo, "cannot write to stdout: {}",
               std::strerror(errno));
  }
  return Ok();
}

void RunSyncStdio(const SyncStdioArgs& args) {
  auto doc = LoadOrCreate(args.file);
  if (!doc) return Fail(doc.error().ToString());
  automerge::sync::SyncState state =
      automerge::sync::SyncState::New(args.read_only);
  state.v1_only = args.v1;

  uint64_t rounds = 0;
  Status session = Ok();
  while (true) {
    auto frame = ReadFrame(stdin);
    if (!frame) {
      session = tl::unexpected(frame.error());
      break;
    }
    if (!frame->has_value()) break;
    if (!(*frame)->empty()) {
      Status received =
          automerge::sync::ReceiveSyncMessageBytes(*doc, state, **frame);
      if (!received) {
        session =
            tl::unexpected(received.error().WithContext("bad sync message"));
        break;
      }
    }
    auto reply = automerge::sync::GenerateSyncMessageBytes(*doc, state);
    ++rounds;
    Status written = WriteFrame(stdout, reply ? ByteSpan(*reply) : ByteSpan());
    if (!written) {
      session = written;
      break;
    }
  }

  Status saved = SaveAtomically(args.file, doc->Save());
  nlohmann::json heads = nlohmann::json::array();
  for (const auto& head : doc->Heads()) heads.push_back(HexEncode(head));
  std::cerr << nlohmann::json{{"heads", heads}, {"rounds", rounds}}.dump()
            << std::endl;
  if (!session) return Fail(session.error().ToString());
  if (!saved) return Fail(saved.error().ToString());
}

void Register(CLI::App& app) {
  auto* doc =
      GetOrAddSubcommand(app, "doc", "Inspect and edit Automerge documents");
  static SyncStdioArgs args;
  auto* sync = doc->add_subcommand(
      "sync-stdio",
      "Sync FILE with a peer speaking length-framed Automerge sync messages "
      "on stdin/stdout (u32 BE length + message; an empty frame asks vudo to "
      "speak; every frame in gets one frame out)");
  sync->add_option("FILE", args.file,
                   "Automerge document (created if it does not exist)")
      ->required();
  sync->add_flag("--v1", args.v1,
                 "Act as a v1-only peer (no flags trailer, 0x42 messages)");
  sync->add_flag("--read-only", args.read_only,
                 "Do not apply the peer's changes (still send ours)");
  sync->callback([] { RunSyncStdio(args); });
}
VUDO_REGISTER_COMMANDS(Register);

}  // namespace
}  // namespace vudo::cli
