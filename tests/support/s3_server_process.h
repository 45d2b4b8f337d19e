// Test support: an S3-compatible server on loopback (tests/support/s3/server.js: s3rver
// from npm, with every Signature V4 checked and AbortMultipartUpload added) in a private
// directory, with one bucket and the key pair it accepts. Settings() points an S3 blob
// store at it; /_sim/ steers it (see server.js).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "libs/blob/blob.h"
#include "tests/support/loopback_process.h"

namespace vetline::testing {

// s3rver's built-in account.
inline constexpr char kS3AccessKeyId[] = "S3RVER";
inline constexpr char kS3SecretAccessKey[] = "S3RVER";
inline constexpr char kS3Bucket[] = "vetline";

// The server's private directory, made before the process starts (hence a base).
struct S3ServerDir {
  std::string dir_ = Make();
  static std::string Make() {
    std::string d = (std::filesystem::temp_directory_path() / "vetline-s3-XXXXXX").string();
    return mkdtemp(d.data()) ? d : std::string();
  }
};

class S3ServerProcess : private S3ServerDir, public LoopbackProcess {
 public:
  // `source_dir` is the checkout (s3rver is installed from its lockfile when it changed).
  explicit S3ServerProcess(const std::string& source_dir)
      : S3ServerDir(), LoopbackProcess(Args(source_dir, dir_)) {}
  ~S3ServerProcess() {
    Kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Path-style addressing, region us-east-1, the built-in key pair; small parts.
  blob::S3Settings Settings() const {
    blob::S3Settings s;
    s.endpoint = Url();
    s.bucket = kS3Bucket;
    s.access_key_id = kS3AccessKeyId;
    s.secret_access_key = kS3SecretAccessKey;
    s.path_style = true;
    s.part_mib = 5;
    return s;
  }
  const std::string& dir() const { return dir_; }

 private:
  static std::vector<std::string> Args(const std::string& source_dir, const std::string& dir) {
    const std::string support = source_dir + "/tests/support/s3";
    // Bounded by npm's own timeouts; a failed install shows as a server that never starts.
    if (std::system(("bash " + source_dir + "/tools/npm-install " + support).c_str()) != 0) return {"/bin/false"};
    return {"/usr/bin/node", support + "/server.js", "--dir=" + dir, std::string("--bucket=") + kS3Bucket};
  }
};

}  // namespace vetline::testing
