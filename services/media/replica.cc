#include "services/media/replica.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/core/ids.h"

namespace vetline::media {

void Replica::SetId(std::string id) {
  std::lock_guard<std::mutex> l(mu_);
  id_ = std::move(id);
}

std::string Replica::id() const {
  std::lock_guard<std::mutex> l(mu_);
  return id_;
}

absl::StatusOr<std::string> ReadVolumeId(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("media-data-dir ", data_dir, ": ", ec.message()));
  const std::string path = data_dir + "/.volume-id";
  // O_EXCL: of two replicas starting on a new volume at once, one writes the id.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd >= 0) {
    const std::string id = NewUuid();
    const std::string tmp = absl::StrCat(path, ".", id);
    ::close(fd);
    std::ofstream(tmp) << id << "\n";
    std::filesystem::rename(tmp, path, ec);  // readers never see an empty file for long
    if (ec) return absl::UnavailableError(absl::StrCat("media-data-dir ", data_dir, ": ", ec.message()));
    return id;
  }
  if (errno != EEXIST) {
    return absl::UnavailableError(absl::StrCat("media-data-dir ", data_dir, " is not writable"));
  }
  for (int attempt = 0; attempt < 50; ++attempt) {  // the other writer renames within ms
    std::ifstream in(path);
    std::string id;
    std::getline(in, id);
    if (!id.empty()) return id;
    ::usleep(20 * 1000);
  }
  return absl::UnavailableError(absl::StrCat(path, " is empty: remove it and restart"));
}

std::string AdvertiseAddress(const std::string& advertise, const std::string& listen, int port) {
  if (!advertise.empty()) return advertise;
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  return absl::StrCat(host, ":", port);
}

}  // namespace vetline::media
