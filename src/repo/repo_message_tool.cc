// repo_message_tool: a test helper (not installed) that exposes vudo's
// automerge-repo message codec to tests/interop/repo_messages.test.js.
//
//   repo_message_tool decode   stdin: one hex CBOR message per line
//                              stdout: per line {"ok":true,"type":..,
//                              "json":<message as decoded>,"cbor":<hex of
//                              vudo's re-encoding>} or {"ok":false,
//                              "code":..,"error":..}
//   repo_message_tool encode   stdin: one message per line as JSON (byte
//                              strings {"$bytes":hex}); the message is
//                              decoded into vudo's typed structs and encoded
//                              by them; stdout: {"ok":true,"cbor":hex} or
//                              an error object as above
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/encoding.h"
#include "repo/cbor_json.h"
#include "repo/messages.h"

namespace {

using nlohmann::json;
using vudo::Result;

json ErrorJson(const vudo::Error& e) {
  return json{{"ok", false},
              {"code", vudo::ErrorCodeName(e.code)},
              {"error", e.message}};
}

json Decode(const std::string& line) {
  auto bytes = vudo::HexDecode(line);
  if (!bytes) return ErrorJson(bytes.error());
  auto msg = vudo::repo::DecodeMessage(*bytes);
  if (!msg) return ErrorJson(msg.error());
  auto as_json = vudo::repo::cbor::ToJson(vudo::repo::MessageToCbor(*msg));
  if (!as_json) return ErrorJson(as_json.error());
  return json{{"ok", true},
              {"type", std::string(vudo::repo::MessageType(*msg))},
              {"json", *as_json},
              {"cbor", vudo::HexEncode(vudo::repo::EncodeMessage(*msg))}};
}

json Encode(const std::string& line) {
  json input = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) {
    return ErrorJson({vudo::ErrorCode::kInvalidArgument, "not JSON"});
  }
  auto value = vudo::repo::cbor::FromJson(input);
  if (!value) return ErrorJson(value.error());
  auto msg = vudo::repo::MessageFromCbor(*value);
  if (!msg) return ErrorJson(msg.error());
  return json{{"ok", true},
              {"cbor", vudo::HexEncode(vudo::repo::EncodeMessage(*msg))}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc == 2 ? argv[1] : "";
  if (mode != "decode" && mode != "encode") {
    std::cerr << "usage: repo_message_tool decode|encode < lines\n";
    return 2;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json out = mode == "decode" ? Decode(line) : Encode(line);
    // One answer per line, flushed: tests drive the tool interactively.
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace)
              << std::endl;
  }
  return 0;
}
