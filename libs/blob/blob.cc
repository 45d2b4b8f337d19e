#include "libs/blob/blob.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/blob/s3_store.h"
#include "libs/core/ids.h"

namespace vetline::blob {
namespace {

namespace fs = std::filesystem;

class LocalStore final : public BlobStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  absl::Status Put(const std::string& key, const std::string& path) override {
    auto target = Resolve(key);
    if (!target.ok()) return target.status();
    std::error_code ec;
    fs::create_directories(target->parent_path(), ec);
    fs::path partial = target->string() + ".partial";
    fs::copy_file(path, partial, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(partial, *target, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot store ", key, ": ", ec.message()));
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<std::istream>> Open(const std::string& key) const override {
    auto target = Resolve(key);
    if (!target.ok()) return target.status();
    auto in = std::make_unique<std::ifstream>(*target, std::ios::binary);
    if (!*in) return absl::NotFoundError(absl::StrCat("no blob ", key));
    return std::unique_ptr<std::istream>(std::move(in));
  }

  absl::StatusOr<uint64_t> Size(const std::string& key) const override {
    auto target = Resolve(key);
    if (!target.ok()) return target.status();
    std::error_code ec;
    uint64_t size = fs::file_size(*target, ec);
    if (ec) return absl::NotFoundError(absl::StrCat("no blob ", key));
    return size;
  }

  absl::Status Delete(const std::string& key) override {
    auto target = Resolve(key);
    if (!target.ok()) return target.status();
    std::error_code ec;
    fs::remove(*target, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot delete ", key, ": ", ec.message()));
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<fs::path> Resolve(const std::string& key) const {
    VL_RETURN_IF_ERROR(CheckKey(key));
    return fs::path(root_) / key;
  }
  std::string root_;
};

}  // namespace

absl::StatusOr<std::string> BlobStore::DownloadUrl(const std::string& key, absl::Duration ttl) const {
  return absl::UnimplementedError("this blob store has no direct download links");
}

absl::Status CheckKey(const std::string& key) {
  if (key.empty() || key.front() == '/' || absl::StrContains(key, "..")) {
    return absl::InvalidArgumentError(absl::StrCat("bad blob key ", key));
  }
  return absl::OkStatus();
}

std::unique_ptr<BlobStore> LocalDirectory(std::string root) {
  return std::make_unique<LocalStore>(std::move(root));
}

absl::Status PutBytes(BlobStore& store, const std::string& key, std::string_view bytes) {
  const fs::path tmp = fs::temp_directory_path() / absl::StrCat("vetline-blob-", NewRequestId());
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!o.good()) return absl::UnavailableError(absl::StrCat("cannot store ", key, ": temporary file"));
  }
  absl::Status put = store.Put(key, tmp.string());
  std::error_code ec;
  fs::remove(tmp, ec);
  return put;
}

void StoreSettings::Register(ConfigParser& p) {
  p.String("blob-store", &kind, "where recordings and files are kept: local (each service's blob "
           "directory) or s3", kind);
  p.String("s3-endpoint", &s3.endpoint,
           "S3 endpoint, scheme://host[:port] (empty: AWS's for s3-region)", s3.endpoint);
  p.String("s3-region", &s3.region, "S3 region the requests are signed for", s3.region);
  p.String("s3-bucket", &s3.bucket, "S3 bucket holding the blobs", s3.bucket);
  p.String("s3-access-key-id", &s3.access_key_id, "S3 access key id", "");
  p.String("s3-secret-access-key", &s3.secret_access_key, "S3 secret access key (never logged)", "");
  p.Bool("s3-path-style", &s3.path_style,
         "address the bucket as endpoint/bucket (S3-compatible servers) rather than bucket.endpoint",
         s3.path_style);
  p.Int("s3-part-mib", &s3.part_mib, "multipart upload part size (MiB); larger files go up in parts",
        s3.part_mib, 5, 5120);
  p.Duration("s3-timeout", &s3.timeout, "longest one S3 request may take", s3.timeout);
}

absl::StatusOr<std::unique_ptr<BlobStore>> OpenStore(const StoreSettings& settings, std::string local_dir) {
  if (settings.kind == "s3") return S3Store(settings.s3);
  if (settings.kind != "local") return absl::InvalidArgumentError("blob-store must be local or s3");
  if (local_dir.empty()) return absl::InvalidArgumentError("a blob directory is required when blob-store is local");
  return LocalDirectory(std::move(local_dir));
}

}  // namespace vetline::blob
