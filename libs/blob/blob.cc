#include "libs/blob/blob.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

 private:
  absl::StatusOr<fs::path> Resolve(const std::string& key) const {
    if (key.empty() || key.front() == '/' || absl::StrContains(key, "..")) {
      return absl::InvalidArgumentError(absl::StrCat("bad blob key ", key));
    }
    return fs::path(root_) / key;
  }
  std::string root_;
};

}  // namespace

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

}  // namespace vetline::blob
