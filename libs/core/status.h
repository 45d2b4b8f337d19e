// Status plumbing: every fallible function returns absl::Status / absl::StatusOr<T> and
// chains with these macros; the gRPC edge (libs/rpc) converts once.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"

#include <string>
#include <string_view>

#define VL_STATUS_CONCAT_INNER_(a, b) a##b
#define VL_STATUS_CONCAT_(a, b) VL_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define VL_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::absl::Status vl_status_ = (expr);           \
    if (!vl_status_.ok()) return vl_status_;      \
  } while (0)

// `VL_ASSIGN_OR_RETURN(auto x, Fn());` — unwraps a StatusOr or returns its error.
#define VL_ASSIGN_OR_RETURN(lhs, expr) \
  VL_ASSIGN_OR_RETURN_IMPL_(VL_STATUS_CONCAT_(vl_statusor_, __LINE__), lhs, expr)
#define VL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

namespace vetline {

// Input errors carry the offending field so the gateway can name it in its error body.
inline constexpr char kFieldPayload[] = "vetline.field";

// An error of any code naming the request field it is about (its JSON name, e.g.
// "clientId" or "phones[0].number"); the gateway puts it in the error body.
inline absl::Status FieldError(absl::StatusCode code, std::string_view field,
                               std::string_view message) {
  absl::Status s(code, std::string(message));
  s.SetPayload(kFieldPayload, absl::Cord(std::string(field)));
  return s;
}

inline absl::Status InvalidField(std::string_view field, std::string_view message) {
  return FieldError(absl::StatusCode::kInvalidArgument, field, message);
}

// An id the request names that does not resolve inside the caller's clinic (404).
inline absl::Status NotFoundField(std::string_view field, std::string_view message) {
  return FieldError(absl::StatusCode::kNotFound, field, message);
}

// A value that must be unique and is already taken, e.g. a client's duplicate phone (409).
inline absl::Status AlreadyExistsField(std::string_view field, std::string_view message) {
  return FieldError(absl::StatusCode::kAlreadyExists, field, message);
}

// Errors a library writes (libs/pg: PostgreSQL's own text, constraint names, hosts)
// carry this payload. Their text is for operators: the gRPC edge (rpc::ToGrpc) logs it
// and answers a generic message instead, unless a repository replaced the status with
// one written for the caller.
inline constexpr char kLibraryPayload[] = "vetline.library";

inline absl::Status FromLibrary(absl::Status s, std::string_view library) {
  if (!s.ok()) s.SetPayload(kLibraryPayload, absl::Cord(std::string(library)));
  return s;
}

inline bool IsFromLibrary(const absl::Status& s) {
  return s.GetPayload(kLibraryPayload).has_value();
}

inline std::string FieldOf(const absl::Status& s) {
  auto p = s.GetPayload(kFieldPayload);
  return p ? std::string(*p) : std::string();
}

}  // namespace vetline
