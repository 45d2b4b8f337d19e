// Enum values at the edge: a JSON number or a gRPC caller can send any int32 for an enum
// field, and proto3 keeps it. These checks accept only the values the .proto defines.
#pragma once

#include <google/protobuf/generated_enum_reflection.h>

#include <string_view>

#include "absl/status/status.h"

namespace vetline::validate {

// A value `descriptor` defines other than its zero (UNSPECIFIED) value; otherwise a field
// error naming `field` and listing the allowed names.
absl::Status Enum(std::string_view field, const google::protobuf::EnumDescriptor& descriptor,
                  int value);
// The same, except that zero means "absent / unchanged" and is accepted.
absl::Status OptionalEnum(std::string_view field,
                          const google::protobuf::EnumDescriptor& descriptor, int value);

template <typename E>
absl::Status Enum(std::string_view field, E value) {
  return Enum(field, *google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}
template <typename E>
absl::Status OptionalEnum(std::string_view field, E value) {
  return OptionalEnum(field, *google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}

}  // namespace vetline::validate
