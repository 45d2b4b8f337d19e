// This media replica among several: its id, which is also the address other processes
// dial to reach it (the media router sends each call's requests to the replica holding
// it), the data volume it writes track files to (a replica mounting the same volume can
// compose its recordings), and how long a heartbeat keeps a replica alive.
#pragma once

#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vetline::media {

class Replica {
 public:
  Replica(std::string volume, absl::Duration ttl) : volume_(std::move(volume)), ttl_(ttl) {}

  // Set once, as soon as the gRPC server's port is known; empty before.
  void SetId(std::string id);
  std::string id() const;
  const std::string& volume() const { return volume_; }
  absl::Duration ttl() const { return ttl_; }

 private:
  mutable std::mutex mu_;
  std::string id_;  // guarded by mu_
  const std::string volume_;
  const absl::Duration ttl_;
};

// The id of the volume behind `data_dir`: a random id kept in a file there, made by the
// first replica that writes to it. Replicas sharing the volume (ReadWriteMany, or one
// restarted with the same disk) read the same id.
absl::StatusOr<std::string> ReadVolumeId(const std::string& data_dir);

// host:port other processes dial: `advertise` when set, else the host `listen` binds
// (loopback for a wildcard such as 0.0.0.0) with the port the server got.
std::string AdvertiseAddress(const std::string& advertise, const std::string& listen, int port);

}  // namespace vetline::media
