// vudo doc inspect | apply-ops | apply-trace: Automerge documents from the
// command line (used by the interop tests and the benchmark).
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "automerge/document.h"
#include "base/encoding.h"
#include "base/inflate.h"
#include "cli/command.h"

namespace vudo::cli {
namespace {

using automerge::ActorId;
using automerge::Document;
using automerge::kRoot;
using automerge::ObjId;
using automerge::ObjType;
using automerge::ScalarValue;
using nlohmann::json;

Result<Bytes> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Err(ErrorCode::kIo, "cannot open {}", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ToBytes(ss.str());
}

Status WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Err(ErrorCode::kIo, "cannot write {}", path);
  f.write(reinterpret_cast<const char*>(data.data()), data.size());
  if (!f) return Err(ErrorCode::kIo, "write to {} failed", path);
  return Ok();
}

// ---- inspect ----

void RunInspect(const std::string& file) {
  auto data = ReadFile(file);
  if (!data) return Fail(data.error().ToString());
  auto doc = Document::Load(*data, ActorId(16, 0));
  if (!doc) return Fail(file + ": " + doc.error().ToString());
  // Rebuild and check the change graph too (Load defers it).
  if (auto st = doc->EnsureHistory(); !st)
    return Fail(file + ": " + st.error().ToString());
  json out;
  json heads = json::array();
  for (const auto& h : doc->Heads()) heads.push_back(automerge::HashToHex(h));
  out["heads"] = heads;
  out["changes"] = doc->NumChanges();
  out["value"] = doc->ToJson();
  std::cout << out.dump() << "\n";
}

// ---- apply-ops ----

// A script value: scalar, or a composite to create (breadth first).
Result<ScalarValue> ScalarOf(const json& v) {
  if (v.is_null()) return ScalarValue::Null();
  if (v.is_boolean()) return ScalarValue::Bool(v.get<bool>());
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
      return Err(ErrorCode::kOverflow, "integer out of range");
    return ScalarValue::Int(v.get<int64_t>());
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9007199254740992.0)
      return ScalarValue::Int(static_cast<int64_t>(d));
    return ScalarValue::F64(d);
  }
  if (v.is_object() && v.size() == 1) {
    auto it = v.begin();
    const std::string k = it.key();
    const json& x = it.value();
    if (k == "str" && x.is_string())
      return ScalarValue::Str(x.get<std::string>());
    if (k == "counter" && x.is_number_integer())
      return ScalarValue::Counter(x.get<int64_t>());
    if (k == "uint" && x.is_number_integer() && x.get<int64_t>() >= 0)
      return ScalarValue::Uint(x.get<uint64_t>());
    if (k == "timestamp" && x.is_number())
      return ScalarValue::Timestamp(static_cast<int64_t>(x.get<double>()));
    if (k == "bytes" && x.is_string()) {
      VUDO_ASSIGN_OR_RETURN(Bytes b, HexDecode(x.get<std::string>()));
      return ScalarValue::BytesValue(std::string(AsString(b)));
    }
  }
  return Err(ErrorCode::kInvalidArgument, "not a scalar");
}

bool IsComposite(const json& v) {
  if (v.is_string() || v.is_array()) return true;
  if (!v.is_object()) return false;
  return !ScalarOf(v).has_value();
}

ObjType CompositeType(const json& v) {
  if (v.is_string()) return ObjType::kText;
  if (v.is_array()) return ObjType::kList;
  return ObjType::kMap;
}

// Fills composites breadth first, as automerge does.
Status FillBfs(Document& doc, std::deque<std::pair<ObjId, json>> queue) {
  while (!queue.empty()) {
    auto [obj, v] = std::move(queue.front());
    queue.pop_front();
    if (v.is_string()) {
      VUDO_TRY(doc.SpliceText(obj, 0, 0, v.get<std::string>()));
    } else if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        if (IsComposite(v[i])) {
          VUDO_ASSIGN_OR_RETURN(ObjId c,
                                doc.InsertObject(obj, i, CompositeType(v[i])));
          queue.emplace_back(c, v[i]);
        } else {
          VUDO_ASSIGN_OR_RETURN(ScalarValue s, ScalarOf(v[i]));
          VUDO_TRY(doc.Insert(obj, i, s));
        }
      }
    } else {
      // nlohmann::json objects iterate keys in std::string order = UTF-8
      // byte order.
      for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string& k = it.key();
        const json& x = it.value();
        if (IsComposite(x)) {
          VUDO_ASSIGN_OR_RETURN(ObjId c,
                                doc.PutObject(obj, k, CompositeType(x)));
          queue.emplace_back(c, x);
        } else {
          VUDO_ASSIGN_OR_RETURN(ScalarValue s, ScalarOf(x));
          VUDO_TRY(doc.Put(obj, k, s));
        }
      }
    }
  }
  return Ok();
}

Result<ObjId> Resolve(Document& doc, const json& path, size_t n) {
  ObjId obj = kRoot;
  for (size_t i = 0; i < n; ++i) {
    std::optional<automerge::Value> v;
    if (path[i].is_string())
      v = doc.Get(obj, path[i].get<std::string>());
    else if (path[i].is_number_unsigned())
      v = doc.Get(obj, path[i].get<size_t>());
    else
      return Err(ErrorCode::kInvalidArgument, "bad path element {}",
                 path[i].dump());
    if (!v || !v->is_object)
      return Err(ErrorCode::kNotFound, "path element {} is not an object",
                 path[i].dump());
    obj = v->obj;
  }
  return obj;
}

Status PutValue(Document& doc, ObjId obj, const json& prop, const json& v) {
  std::deque<std::pair<ObjId, json>> queue;
  if (IsComposite(v)) {
    ObjId c;
    if (prop.is_string()) {
      VUDO_ASSIGN_OR_RETURN(
          c, doc.PutObject(obj, prop.get<std::string>(), CompositeType(v)));
    } else {
      VUDO_ASSIGN_OR_RETURN(
          c, doc.PutObject(obj, prop.get<size_t>(), CompositeType(v)));
    }
    queue.emplace_back(c, v);
    return FillBfs(doc, std::move(queue));
  }
  VUDO_ASSIGN_OR_RETURN(ScalarValue s, ScalarOf(v));
  if (prop.is_string()) return doc.Put(obj, prop.get<std::string>(), s);
  return doc.Put(obj, prop.get<size_t>(), s);
}

Status ApplyOp(Document& doc, const json& op) {
  if (!op.is_object() || !op.contains("op") || !op.contains("path") ||
      !op["path"].is_array())
    return Err(ErrorCode::kInvalidArgument, "bad op {}", op.dump());
  const std::string kind = op["op"].get<std::string>();
  const json& path = op["path"];
  bool prop_op = kind == "put" || kind == "delete" || kind == "increment";
  if (prop_op && path.empty())
    return Err(ErrorCode::kInvalidArgument, "{} needs a non-empty path", kind);
  VUDO_ASSIGN_OR_RETURN(
      ObjId obj, Resolve(doc, path, prop_op ? path.size() - 1 : path.size()));
  if (prop_op) {
    const json& prop = path.back();
    if (!prop.is_string() && !prop.is_number_unsigned())
      return Err(ErrorCode::kInvalidArgument, "bad property {}", prop.dump());
    if (kind == "put") return PutValue(doc, obj, prop, op.at("value"));
    if (kind == "delete") {
      if (prop.is_string()) return doc.Delete(obj, prop.get<std::string>());
      return doc.Delete(obj, prop.get<size_t>());
    }
    int64_t by = op.at("by").get<int64_t>();
    if (prop.is_string())
      return doc.Increment(obj, prop.get<std::string>(), by);
    return doc.Increment(obj, prop.get<size_t>(), by);
  }
  if (kind == "insert") {
    size_t index = op.at("index").get<size_t>();
    const json& v = op.at("value");
    if (IsComposite(v)) {
      VUDO_ASSIGN_OR_RETURN(ObjId c,
                            doc.InsertObject(obj, index, CompositeType(v)));
      std::deque<std::pair<ObjId, json>> queue;
      queue.emplace_back(c, v);
      return FillBfs(doc, std::move(queue));
    }
    VUDO_ASSIGN_OR_RETURN(ScalarValue s, ScalarOf(v));
    return doc.Insert(obj, index, s);
  }
  if (kind == "splice") {
    return doc.SpliceText(obj, op.at("index").get<size_t>(),
                          op.value("delete", size_t{0}),
                          op.value("text", std::string()));
  }
  return Err(ErrorCode::kInvalidArgument, "unknown op '{}'", kind);
}

struct ApplyOpsArgs {
  std::string script;
  std::string out;
  std::string base;
  std::string changes_out;
};

Status ApplyOpsImpl(const ApplyOpsArgs& args) {
  VUDO_ASSIGN_OR_RETURN(Bytes script_bytes, ReadFile(args.script));
  json script = json::parse(AsString(script_bytes), nullptr, false);
  if (script.is_discarded() || !script.is_object())
    return Err(ErrorCode::kInvalidArgument, "{}: not a JSON object",
               args.script);
  VUDO_ASSIGN_OR_RETURN(Bytes actor,
                        HexDecode(script.value("actor", std::string())));
  if (actor.empty())
    return Err(ErrorCode::kInvalidArgument, "script needs an actor");
  std::optional<Document> doc;
  if (!args.base.empty()) {
    VUDO_ASSIGN_OR_RETURN(Bytes base, ReadFile(args.base));
    VUDO_ASSIGN_OR_RETURN(Document d, Document::Load(base, actor));
    doc.emplace(std::move(d));
  } else {
    doc.emplace(actor);
  }
  size_t first_new = doc->NumChanges();
  try {
    for (const auto& ch : script.at("changes")) {
      for (const auto& op : ch.at("ops")) {
        Status s = ApplyOp(*doc, op);
        if (!s) return tl::unexpected(s.error().WithContext(op.dump()));
      }
      doc->Commit(
          {ch.value("time", int64_t{0}), ch.value("message", std::string())});
    }
  } catch (const json::exception& e) {
    return Err(ErrorCode::kInvalidArgument, "bad script: {}", e.what());
  }
  if (!args.changes_out.empty()) {
    std::filesystem::create_directories(args.changes_out);
    for (size_t i = first_new; i < doc->NumChanges(); ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "/%04zu.change", i - first_new);
      VUDO_TRY(WriteFile(args.changes_out + name, doc->ChangeBytesAt(i)));
    }
  }
  return WriteFile(args.out, doc->Save());
}

// ---- apply-trace ----

struct TraceArgs {
  std::string trace;
  bool change_per_edit = false;
  std::string out;
};

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t0)
      .count();
}

long PeakRssKb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

Status ApplyTraceImpl(const TraceArgs& args) {
  VUDO_ASSIGN_OR_RETURN(Bytes gz, ReadFile(args.trace));
  VUDO_ASSIGN_OR_RETURN(
      Bytes raw, InflateBytes(gz, InflateFormat::kGzip, size_t{1} << 30));
  json trace = json::parse(AsString(raw), nullptr, false);
  if (trace.is_discarded())
    return Err(ErrorCode::kInvalidArgument, "{}: bad JSON", args.trace);
  long rss_before = PeakRssKb();
  auto t0 = std::chrono::steady_clock::now();
  Document doc(ActorId(16, 0x01));
  VUDO_ASSIGN_OR_RETURN(ObjId text,
                        doc.PutObject(kRoot, "text", ObjType::kText));
  VUDO_TRY(doc.SpliceText(text, 0, 0, trace.value("startContent", "")));
  if (args.change_per_edit) doc.Commit({0, ""});
  size_t edits = 0;
  for (const auto& txn : trace.at("txns")) {
    for (const auto& p : txn.at("patches")) {
      VUDO_TRY(doc.SpliceText(text, p[0].get<size_t>(), p[1].get<size_t>(),
                              p[2].get<std::string>()));
      ++edits;
    }
    if (args.change_per_edit) doc.Commit({0, ""});
  }
  doc.Commit({0, ""});
  double apply_ms = MsSince(t0);
  long rss_apply = PeakRssKb();
  bool ok = doc.Text(text) == trace.value("endContent", "");
  auto t1 = std::chrono::steady_clock::now();
  Bytes saved = doc.Save();
  double save_ms = MsSince(t1);
  auto t2 = std::chrono::steady_clock::now();
  auto loaded = Document::Load(saved, ActorId(16, 0x02));
  double load_ms = MsSince(t2);
  if (!loaded) return tl::unexpected(loaded.error().WithContext("reload"));
  auto lt = loaded->Get(kRoot, "text");
  bool reload_ok = lt && loaded->Text(lt->obj) == doc.Text(text) &&
                   loaded->Heads() == doc.Heads();
  if (!args.out.empty()) VUDO_TRY(WriteFile(args.out, saved));
  json out{{"edits", edits},
           {"changes", doc.NumChanges()},
           {"change_per_edit", args.change_per_edit},
           {"apply_ms", apply_ms},
           {"save_ms", save_ms},
           {"saved_bytes", saved.size()},
           {"load_ms", load_ms},
           {"text_ok", ok},
           {"reload_ok", reload_ok},
           {"rss_before_kb", rss_before},
           {"peak_rss_apply_kb", rss_apply},
           {"peak_rss_kb", PeakRssKb()}};
  std::cout << out.dump() << "\n";
  if (!ok || !reload_ok)
    return Err(ErrorCode::kInternal, "final text differs from endContent");
  return Ok();
}

void Register(CLI::App& app) {
  auto* doc =
      GetOrAddSubcommand(app, "doc", "Inspect and edit Automerge documents");

  auto* inspect = doc->add_subcommand(
      "inspect", "Print {heads, changes, value} of a document file as JSON");
  auto file = std::make_shared<std::string>();
  inspect->add_option("FILE", *file, "Document (or change chunks)")->required();
  inspect->callback([file] { RunInspect(*file); });

  auto ops = std::make_shared<ApplyOpsArgs>();
  auto* apply = doc->add_subcommand(
      "apply-ops", "Apply an edit script to an empty (or --base) document");
  apply->add_option("SCRIPT", ops->script, "Edit script (JSON)")->required();
  apply->add_option("OUT", ops->out, "Where to save the document")->required();
  apply->add_option("--base", ops->base, "Start from this document");
  apply->add_option("--changes-out", ops->changes_out,
                    "Also write each new change chunk as DIR/NNNN.change");
  apply->callback([ops] {
    Status s = ApplyOpsImpl(*ops);
    if (!s) Fail(s.error().ToString());
  });

  auto tr = std::make_shared<TraceArgs>();
  auto* trace = doc->add_subcommand(
      "apply-trace", "Apply an editing trace (json.gz), check and time it");
  trace->add_option("TRACE", tr->trace, "Trace file (.json.gz)")->required();
  trace->add_flag("--change-per-edit", tr->change_per_edit,
                  "Commit one change per transaction of the trace");
  trace->add_option("--out", tr->out, "Save the final document here");
  trace->callback([tr] {
    Status s = ApplyTraceImpl(*tr);
    if (!s) Fail(s.error().ToString());
  });
}

VUDO_REGISTER_COMMANDS(Register);

}  // namespace
}  // namespace vudo::cli
