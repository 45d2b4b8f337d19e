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

inline absl::Status InvalidField(std::string_view field, std::string_view message) {
  absl::Status s = absl::InvalidArgumentError(std::string(message));
  s.SetPayload(kFieldPayload, absl::Cord(std::string(field)));
  return s;
}

inline std::string FieldOf(const absl::Status& s) {
  auto p = s.GetPayload(kFieldPayload);
  return p ? std::string(*p) : std::string();
}

}  // namespace vetline
