#include "libs/core/validate_enum.h"

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/status.h"

namespace vetline::validate {

absl::Status OptionalEnum(std::string_view field,
                          const google::protobuf::EnumDescriptor& descriptor, int value) {
  if (value == 0) return absl::OkStatus();
  return Enum(field, descriptor, value);
}

absl::Status Enum(std::string_view field, const google::protobuf::EnumDescriptor& descriptor,
                  int value) {
  if (value != 0 && descriptor.FindValueByNumber(value) != nullptr) return absl::OkStatus();
  std::vector<std::string> names;
  for (int i = 0; i < descriptor.value_count(); ++i) {
    if (descriptor.value(i)->number() != 0) names.push_back(descriptor.value(i)->name());
  }
  return InvalidField(
      field, absl::StrCat(std::string(field), " must be one of ", absl::StrJoin(names, ", ")));
}

}  // namespace vetline::validate
