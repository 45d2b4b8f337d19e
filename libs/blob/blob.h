// Where finished files (composed recordings, conversation attachments) are kept. Services
// see only this interface. The local-directory store serves one machine or a shared
// volume and is the default; an S3-compatible object store (s3_store.h) takes its place
// when configuration selects it (StoreSettings), without touching callers.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/config.h"

namespace vetline::blob {

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Copies the local file at `path` in under `key` ("recordings/<id>.webm"), atomically:
  // readers see the whole blob or none.
  virtual absl::Status Put(const std::string& key, const std::string& path) = 0;
  // NotFound ("no blob <key>") when there is none, from every store alike.
  virtual absl::StatusOr<std::unique_ptr<std::istream>> Open(const std::string& key) const = 0;
  virtual absl::StatusOr<uint64_t> Size(const std::string& key) const = 0;
  // Removes the blob; removing one that is not there is not an error.
  virtual absl::Status Delete(const std::string& key) = 0;
  // A link that fetches the blob with plain HTTP until `ttl` has passed, when the store
  // can sign one (S3: a presigned URL); Unimplemented otherwise (callers stream Open).
  virtual absl::StatusOr<std::string> DownloadUrl(const std::string& key, absl::Duration ttl) const;
};

// Stores `bytes` under `key` (through a private temporary file, since stores take files).
absl::Status PutBytes(BlobStore& store, const std::string& key, std::string_view bytes);

// InvalidArgument for keys no store takes: empty, absolute, or climbing ("..").
absl::Status CheckKey(const std::string& key);

// Blobs as files under `root` (created on first use). Keys may not climb out of it.
std::unique_ptr<BlobStore> LocalDirectory(std::string root);

// An S3-compatible object store (AWS S3, MinIO, Ceph RGW, ...).
struct S3Settings {
  std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com"; empty: AWS's for the region
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key_id;
  std::string secret_access_key;  // never logged
  // endpoint/bucket/key rather than bucket.endpoint/key (most S3-compatible servers)
  bool path_style = false;
  int part_mib = 16;  // files larger than one part go up as a multipart upload of such parts
  absl::Duration timeout = absl::Minutes(5);  // per HTTP request
};

// Which store a deployment uses; shared by every service (PlatformSettings), while the
// local directory stays each service's own setting.
struct StoreSettings {
  std::string kind = "local";  // "local" or "s3"
  S3Settings s3;
  void Register(ConfigParser& p);
};

// The configured store: S3 when `settings` select it, else the directory `local_dir`.
// InvalidArgument naming the setting when the S3 settings are incomplete or malformed.
absl::StatusOr<std::unique_ptr<BlobStore>> OpenStore(const StoreSettings& settings, std::string local_dir);

}  // namespace vetline::blob
