// A JSON rendering of CBOR values, shared by repo_message_tool and the
// interop vectors (tests/interop/repo/normalize.mjs): a byte string is
// {"$bytes": "<hex>"}, `undefined` is {"$undefined": true}, other simple
// values {"$simple": n}, a tag {"$tag": n, "$value": v}; maps need text keys.
// Integers stay integers, floats become JSON numbers.
#pragma once

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "repo/cbor.h"

namespace vudo::repo::cbor {

// kInvalidArgument for a map with a non-text key, or a non-finite float.
Result<nlohmann::json> ToJson(const Value& v);
// kInvalidArgument for a malformed marker object ($bytes that is not hex...).
// Nesting deeper than 64 is refused.
Result<Value> FromJson(const nlohmann::json& j);

}  // namespace vudo::repo::cbor
