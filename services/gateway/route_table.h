// REST routes generated from the (vetline.api.http) options of every RPC in the
// descriptor pool. Adding an RPC with an HTTP rule adds a route; nothing here changes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/status/statusor.h"
#include "vetline/api/http.pb.h"

namespace vetline::gateway {

// The content_type of a raw_body route that takes a body of any type.
inline constexpr char kAnyContentType[] = "*/*";

// One `header_fields` entry, "Header-Name=field".
struct HeaderField {
  std::string header;  // compared case-insensitively
  std::string field;
};
// False when `entry` is not "Header-Name=field".
bool ParseHeaderField(std::string_view entry, HeaderField* out);

struct Route {
  std::string verb;                  // GET, POST, PUT, PATCH, DELETE
  std::string path_template;         // "/v1/clinics/{id}"
  std::vector<std::string> segments; // "v1", "clinics", "{id}"
  api::HttpRule rule;
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string grpc_method;           // "/vetline.identity.v1.IdentityService/GetClinic"
  std::string backend;               // "identity" (from package vetline.identity.v1)
  bool streaming = false;            // server-streaming: SSE or a chunked download
  std::vector<HeaderField> header_fields;  // parsed from rule.header_fields
};

struct Match {
  const Route* route = nullptr;
  std::map<std::string, std::string> captures;  // field name -> decoded path segment
};

class RouteTable {
 public:
  // Routes of every service declared in `proto_files` (names as in the descriptor pool).
  // Two routes with the same verb and template are an error, and so is a rule naming a
  // field the request lacks. `pool`: the generated pool unless a test brings its own.
  static absl::StatusOr<RouteTable> Build(const std::vector<std::string>& proto_files,
                                          const google::protobuf::DescriptorPool* pool = nullptr);

  // NotFound: no route has this path; FailedPrecondition: the path exists for other
  // verbs (their names in `allowed`).
  absl::StatusOr<Match> Find(const std::string& verb, const std::string& path,
                             std::vector<std::string>* allowed = nullptr) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }
  std::vector<std::string> Backends() const;

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

// The proto files whose services the gateway serves: extend this list with each service.
const std::vector<std::string>& ServedProtoFiles();

}  // namespace vetline::gateway
