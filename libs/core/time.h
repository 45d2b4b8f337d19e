// Time conversions shared by repositories and edges: absl::Time is the domain's type,
// google.protobuf.Timestamp the wire's (RFC 3339 in JSON).
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace vetline {

google::protobuf::Timestamp ToTimestamp(absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace vetline
