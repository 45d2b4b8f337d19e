// Wiring of the conversations service (the inbox, delivery, events). Used by its own
// binary, by `vetline serve` and by tests.
#pragma once

#include "libs/rpc/service.h"

namespace vetline::conversations {

struct ConversationsOptions {
  // Where links in messages point (portal, signed downloads), e.g. https://vet.example.
  std::string public_url = "http://127.0.0.1:8080";
};

rpc::ServiceDefinition Definition();

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           ConversationsOptions options);

}  // namespace vetline::conversations
