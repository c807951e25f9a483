// A JSON form of decoded CBOR message objects shared with vudo's C++ tests
// and repo_message_tool: a byte string is {"$bytes": "<hex>"}, `undefined`
// is {"$undefined": true}; everything else is plain JSON.
export function toJson(value) {
  if (value === undefined) return { $undefined: true };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  return value;
}

export function fromJson(json) {
  if (Array.isArray(json)) return json.map(fromJson);
  if (json !== null && typeof json === "object") {
    if (json.$undefined === true) return undefined;
    if (typeof json.$bytes === "string") return Uint8Array.from(Buffer.from(json.$bytes, "hex"));
    const out = {};
    for (const [k, v] of Object.entries(json)) out[k] = fromJson(v);
    return out;
  }
  return json;
}

// Drops map entries whose value is undefined (vudo omits absent optional
// fields instead of writing `undefined`; both read back as undefined in JS).
export function dropUndefined(value) {
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(dropUndefined);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = dropUndefined(v);
    return out;
  }
  return value;
}

// True when vudo's encoder is expected to reproduce cbor-x's bytes exactly:
// no `undefined` anywhere (vudo omits the field) and every number a
// non-negative safe integer (vudo models counts and timestamps as such).
export function expectIdentical(value) {
  if (value === undefined) return false;
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0;
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.every(expectIdentical);
  if (value !== null && typeof value === "object") return Object.values(value).every(expectIdentical);
  return true;
}

export const hex = bytes => Buffer.from(bytes).toString("hex");

// The same value with every byte array as a plain Uint8Array (cbor-x
// returns Buffer or Uint8Array depending on its input), for deepEqual.
export const plain = value => fromJson(toJson(value));
