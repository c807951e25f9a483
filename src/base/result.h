// vudo::Result<T>: the error type of every vudo API.
//
// A Result<T> holds either a T or an Error (code + human-readable message).
// Untrusted input never asserts or throws across a library API: it produces
// an Error. Propagate with VUDO_TRY / VUDO_ASSIGN_OR_RETURN:
//
//   vudo::Result<Ticket> Parse(std::string_view s) {
//     VUDO_ASSIGN_OR_RETURN(auto bytes, Base32Decode(s));
//     VUDO_TRY(CheckSomething(bytes));
//     return Ticket{...};
//   }
#pragma once

#include <fmt/format.h>

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace vudo {

enum class ErrorCode {
  kInvalidArgument,   // input is malformed (bad syntax, bad value)
  kTruncated,         // input ended before a complete item
  kOverflow,          // a value or length exceeds its allowed range
  kCorrupt,           // checksum mismatch or inconsistent structure
  kUnsupported,       // well-formed but not supported (version, type)
  kNotFound,          // a named thing does not exist
  kAlreadyExists,     // it exists and must not
  kPermissionDenied,  // refused by policy or by the OS
  kIo,                // OS-level I/O failure
  kTimeout,           // a deadline passed
  kClosed,            // the peer or object is closed
  kRefused,           // the peer refused (handshake, ALPN, access control)
  kInternal,          // a bug: an invariant of ours does not hold
};

// Short stable name of a code ("invalid_argument", ...).
const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // "<code name>: <message>".
  std::string ToString() const;
  // Returns a copy whose message is "<context>: <message>".
  Error WithContext(std::string_view context) const;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// Err(kTruncated, "need {} bytes", n): an unexpected Error with a fmt message.
template <typename... Args>
tl::unexpected<Error> Err(ErrorCode code, fmt::format_string<Args...> f,
                          Args&&... args) {
  return MakeError(code, fmt::format(f, std::forward<Args>(args)...));
}

inline Status Ok() { return {}; }

}  // namespace vudo

#define VUDO_CONCAT_INNER_(a, b) a##b
#define VUDO_CONCAT_(a, b) VUDO_CONCAT_INNER_(a, b)

// Evaluates expr (a Result<...>); returns its error from the enclosing
// function if it failed.
#define VUDO_TRY(expr)                          \
  do {                                          \
    auto&& vudo_try_result_ = (expr);           \
    if (!vudo_try_result_.has_value())          \
      return ::tl::unexpected<::vudo::Error>(   \
          std::move(vudo_try_result_).error()); \
  } while (0)

#define VUDO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)                 \
  auto tmp = (expr);                                                \
  if (!tmp.has_value())                                             \
    return ::tl::unexpected<::vudo::Error>(std::move(tmp).error()); \
  lhs = std::move(tmp).value()

// VUDO_ASSIGN_OR_RETURN(auto x, ParseX(...)); declares/assigns lhs or
// returns the error from the enclosing function.
#define VUDO_ASSIGN_OR_RETURN(lhs, expr) \
  VUDO_ASSIGN_OR_RETURN_IMPL_(VUDO_CONCAT_(vudo_aor_, __LINE__), lhs, expr)
