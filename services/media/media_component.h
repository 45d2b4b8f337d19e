// Wiring of the media service: settings -> pool -> migrations -> crash recovery ->
// engine, events, blob store -> server, plus the worker that composes recordings.
#pragma once

#include "libs/rpc/service.h"
#include "services/media/media_service.h"

namespace vetline::media {

rpc::ServiceDefinition Definition();

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           MediaOptions options,
                                                           const Clock& clock = Clock::Real());

}  // namespace vetline::media
