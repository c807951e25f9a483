#include "repo/cbor_json.h"

#include <cmath>

#include "base/encoding.h"

namespace vudo::repo::cbor {
namespace {

constexpr int kMaxDepth = 64;

Result<Value> FromJsonAt(const nlohmann::json& j, int depth) {
  if (depth > kMaxDepth) {
    return Err(ErrorCode::kOverflow, "json: nesting deeper than {}", kMaxDepth);
  }
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::Null();
    case nlohmann::json::value_t::boolean:
      return Value::Bool(j.get<bool>());
    case nlohmann::json::value_t::number_unsigned:
      return Value::Unsigned(j.get<uint64_t>());
    case nlohmann::json::value_t::number_integer:
      return Value::Int(j.get<int64_t>());
    case nlohmann::json::value_t::number_float:
      return Value::Float(j.get<double>());
    case nlohmann::json::value_t::string:
      return Value::Text(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      for (const auto& item : j) {
        VUDO_ASSIGN_OR_RETURN(Value v, FromJsonAt(item, depth + 1));
        items.push_back(std::move(v));
      }
      return Value::Array(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      if (j.size() == 1 && j.contains("$bytes")) {
        const auto& h = j["$bytes"];
        if (!h.is_string()) {
          return Err(ErrorCode::kInvalidArgument, "json: $bytes must be hex");
        }
        VUDO_ASSIGN_OR_RETURN(Bytes b,
                              HexDecode(h.get_ref<const std::string&>()));
        return Value::FromBytes(b);
      }
      if (j.size() == 1 && j.contains("$undefined")) return Value::Undefined();
      if (j.size() == 1 && j.contains("$simple")) {
        const auto& s = j["$simple"];
        if (!s.is_number_unsigned() || s.get<uint64_t>() > 255) {
          return Err(ErrorCode::kInvalidArgument,
                     "json: $simple must be 0..255");
        }
        return Value::Simple(uint8_t(s.get<uint64_t>()));
      }
      if (j.size() == 2 && j.contains("$tag") && j.contains("$value")) {
        if (!j["$tag"].is_number_unsigned()) {
          return Err(ErrorCode::kInvalidArgument,
                     "json: $tag must be an unsigned integer");
        }
        VUDO_ASSIGN_OR_RETURN(Value content,
                              FromJsonAt(j["$value"], depth + 1));
        return Value::Tag(j["$tag"].get<uint64_t>(), std::move(content));
      }
      Value m = Value::Map();
      for (auto it = j.begin(); it != j.end(); ++it) {
        VUDO_ASSIGN_OR_RETURN(Value v, FromJsonAt(it.value(), depth + 1));
        m.Add(it.key(), std::move(v));
      }
      return m;
    }
    default:
      return Err(ErrorCode::kInvalidArgument, "json: unsupported value");
  }
}

}  // namespace

Result<nlohmann::json> ToJson(const Value& v) {
  switch (v.type()) {
    case Value::Type::kUnsigned:
      return nlohmann::json(v.uint());
    case Value::Type::kNegative:
      if (v.uint() > uint64_t(INT64_MAX)) {
        return Err(ErrorCode::kInvalidArgument,
                   "json: negative integer out of range");
      }
      return nlohmann::json(-int64_t(v.uint()) - 1);
    case Value::Type::kBytes:
      return nlohmann::json{{"$bytes", HexEncode(v.bytes())}};
    case Value::Type::kText:
      return nlohmann::json(std::string(v.text()));
    case Value::Type::kArray: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : v.items()) {
        VUDO_ASSIGN_OR_RETURN(nlohmann::json j, ToJson(item));
        a.push_back(std::move(j));
      }
      return a;
    }
    case Value::Type::kMap: {
      // nlohmann::ordered_json would keep the order, but a plain json object
      // is what the tests compare; duplicate keys keep the first value.
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, val] : v.entries()) {
        if (k.type() != Value::Type::kText) {
          return Err(ErrorCode::kInvalidArgument, "json: map key is not text");
        }
        std::string key(k.text());
        if (o.contains(key)) continue;
        VUDO_ASSIGN_OR_RETURN(nlohmann::json j, ToJson(val));
        o[key] = std::move(j);
      }
      return o;
    }
    case Value::Type::kTag: {
      VUDO_ASSIGN_OR_RETURN(nlohmann::json content, ToJson(v.items()[0]));
      return nlohmann::json{{"$tag", v.uint()}, {"$value", std::move(content)}};
    }
    case Value::Type::kSimple:
      switch (v.uint()) {
        case Value::kFalse:
          return nlohmann::json(false);
        case Value::kTrue:
          return nlohmann::json(true);
        case Value::kNull:
          return nlohmann::json(nullptr);
        case Value::kUndefined:
          return nlohmann::json{{"$undefined", true}};
        default:
          return nlohmann::json{{"$simple", v.uint()}};
      }
    case Value::Type::kFloat:
      if (!std::isfinite(v.float_value())) {
        return Err(ErrorCode::kInvalidArgument, "json: non-finite float");
      }
      return nlohmann::json(v.float_value());
  }
  return Err(ErrorCode::kInternal, "json: unknown CBOR type");
}

Result<Value> FromJson(const nlohmann::json& j) { return FromJsonAt(j, 0); }

}  // namespace vudo::repo::cbor
