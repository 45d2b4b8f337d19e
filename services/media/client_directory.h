// Whether a client id a request names is a client of the caller's clinic. The clients
// service answers (asked with the caller's principal); the media edge sees only this
// interface, injected at construction.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "vetline/api/types.pb.h"

namespace vetline::media {

class ClientDirectory {
 public:
  virtual ~ClientDirectory() = default;
  // Ok when `client_id` is a client of `caller`'s clinic; NotFound when it is not
  // (another clinic's, or made up); another code when the directory cannot answer.
  virtual absl::Status CheckClient(const api::Principal& caller, const std::string& client_id) const = 0;
};

}  // namespace vetline::media
