// vudo id, vudo ticket, vudo ticket decode.
#include <charconv>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "cli/command.h"
#include "cli/node_options.h"
#include "crypto/identity.h"
#include "discovery/ticket.h"

namespace vudo::cli {
namespace {

struct IdArgs {
  NodeOptions node;
};

struct TicketArgs {
  NodeOptions node;
  std::vector<std::string> addrs;
  std::vector<std::string> relays;
  std::vector<std::string> customs;
  std::string decode_ticket;
};

Result<crypto::SecretKey> LoadIdentity(const NodeOptions& node) {
  VUDO_ASSIGN_OR_RETURN(auto dir, node.DataDir());
  return crypto::LoadOrCreateIdentity(dir);
}

void RunId(const IdArgs& args) {
  auto key = LoadIdentity(args.node);
  if (!key) return Fail(key.error().ToString());
  std::cout << key->public_key().ToHex() << "\n";
}

void RunTicket(const TicketArgs& args) {
  auto key = LoadIdentity(args.node);
  if (!key) return Fail(key.error().ToString());
  NodeAddr addr;
  addr.id = key->public_key();
  for (const auto& a : args.addrs) {
    auto ep = ParseSocketAddr(a);
    if (!ep) return Fail(ep.error().ToString());
    addr.direct_addresses.push_back(*ep);
  }
  for (const auto& r : args.relays) {
    auto url = NormalizeRelayUrl(r);
    if (!url) return Fail(url.error().ToString());
    addr.relay_urls.push_back(*url);
  }
  for (const auto& c : args.customs) {
    size_t colon = c.find(':');
    uint64_t id = 0;
    auto data =
        HexDecode(colon == std::string::npos ? "" : c.substr(colon + 1));
    if (colon == std::string::npos || !data ||
        std::from_chars(c.data(), c.data() + colon, id).ptr != c.data() + colon)
      return Fail("bad --custom '" + c + "': expected ID:HEX");
    addr.custom_addresses.push_back(CustomAddr{id, *data});
  }
  std::cout << EncodeTicket(addr) << "\n";
}

nlohmann::json NodeAddrToJson(const NodeAddr& addr) {
  nlohmann::json j;
  j["node_id"] = addr.id.ToHex();
  j["relay_urls"] = addr.relay_urls;
  auto direct = nlohmann::json::array();
  for (const auto& ep : addr.direct_addresses)
    direct.push_back(FormatSocketAddr(ep));
  j["direct_addresses"] = direct;
  auto custom = nlohmann::json::array();
  for (const auto& c : addr.custom_addresses)
    custom.push_back({{"id", c.id}, {"data", HexEncode(c.data)}});
  j["custom_addresses"] = custom;
  return j;
}

void RunDecode(const TicketArgs& args) {
  auto addr = DecodeTicket(args.decode_ticket);
  if (!addr) return Fail("bad ticket: " + addr.error().ToString());
  std::cout << NodeAddrToJson(*addr).dump() << "\n";
}

void Register(CLI::App& app) {
  static IdArgs id_args;
  auto* id = app.add_subcommand(
      "id", "Print this node's id (creates its identity on first use)");
  id_args.node.AddTo(id);
  id->callback([] { RunId(id_args); });

  static TicketArgs t;
  auto* ticket = app.add_subcommand(
      "ticket", "Print this node's ticket (an iroh 1.0 EndpointTicket)");
  t.node.AddTo(ticket);
  ticket->add_option("--addr", t.addrs,
                     "A direct address IP:PORT or [IPv6]:PORT (repeatable)");
  ticket->add_option("--relay", t.relays, "A relay URL (repeatable)");
  ticket->add_option("--custom", t.customs,
                     "A custom transport address ID:HEXDATA (repeatable)");
  ticket->require_subcommand(0, 1);
  auto* decode =
      ticket->add_subcommand("decode", "Print a ticket's fields as JSON");
  decode->add_option("TICKET", t.decode_ticket, "The ticket")->required();
  decode->callback([] { RunDecode(t); });
  ticket->callback([ticket] {
    if (ticket->get_subcommands().empty()) RunTicket(t);
  });
}
VUDO_REGISTER_COMMANDS(Register);

}  // namespace
}  // namespace vudo::cli
