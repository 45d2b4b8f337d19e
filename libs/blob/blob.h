// Where finished files (composed recordings, later attachments) are kept. Services see
// only this interface; the local-directory store serves one machine or a shared volume,
// an object store can take its place without touching callers.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vetline::blob {

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Copies the local file at `path` in under `key` ("recordings/<id>.webm"), atomically:
  // readers see the whole blob or none.
  virtual absl::Status Put(const std::string& key, const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<std::istream>> Open(const std::string& key) const = 0;
  virtual absl::StatusOr<uint64_t> Size(const std::string& key) const = 0;
};

// Stores `bytes` under `key` (through a private temporary file, since stores take files).
absl::Status PutBytes(BlobStore& store, const std::string& key, std::string_view bytes);

// Blobs as files under `root` (created on first use). Keys may not climb out of it.
std::unique_ptr<BlobStore> LocalDirectory(std::string root);

}  // namespace vetline::blob
