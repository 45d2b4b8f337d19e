// The blob store on an S3-compatible object store: objects under the configured bucket,
// requests signed with Signature V4 (sigv4.h) and sent with libcurl, files larger than one
// part uploaded in parts (an upload that fails is aborted, so no parts stay behind), and
// presigned download links. Errors are the store's own words: NotFound as the local store
// gives it, Unavailable marked as library text (the S3 code and message reach the log,
// never an API answer).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "libs/blob/blob.h"
#include "libs/core/clock.h"

namespace vetline::blob {

// InvalidArgument naming the setting (s3-bucket, s3-endpoint, ...) when `settings` are
// incomplete. `clock` dates the signatures (tests set it back to make links expire).
absl::StatusOr<std::unique_ptr<BlobStore>> S3Store(S3Settings settings,
                                                   const Clock& clock = Clock::Real());

}  // namespace vetline::blob
