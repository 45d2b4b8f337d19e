// The S3 blob store against a real S3-compatible server on loopback (s3rver, which here
// checks every signature): the same answers as the local store, large files in parts,
// failed uploads leaving nothing behind, presigned links, bad credentials, configuration.
#include "libs/blob/s3_store.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/blob/blob.h"
#include "libs/http/http_post.h"
#include "libs/rpc/rpc.h"
#include "nlohmann/json.hpp"
#include "tests/support/s3_server_process.h"

namespace blob = vetline::blob;
namespace fs = std::filesystem;
using vetline::testing::S3ServerProcess;

namespace {

std::string ReadAll(blob::BlobStore& store, const std::string& key) {
  auto in = store.Open(key);
  REQUIRE(in.ok());
  std::ostringstream out;
  out << (*in)->rdbuf();
  return out.str();
}

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A private scratch directory for the test's files.
struct Scratch {
  fs::path dir = fs::temp_directory_path() / absl::StrCat("vetline-s3-test-", ::getpid(), "-", rand());
  Scratch() { fs::create_directories(dir); }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string Write(const std::string& name, const std::string& bytes) const {
    const fs::path p = dir / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
};

std::unique_ptr<blob::BlobStore> Store(const blob::S3Settings& s,
                                       const vetline::Clock& clock = vetline::Clock::Real()) {
  auto store = blob::S3Store(s, clock);
  REQUIRE(store.ok());
  return std::move(store).value();
}

int OpenUploads(const S3ServerProcess& s3) {
  auto r = vetline::http::HttpGet({.url = s3.Url("/_sim/uploads")});
  REQUIRE(r.status == 200);
  return nlohmann::json::parse(r.body)["open"].get<int>();
}

}  // namespace

TEST_CASE("blob s3: put open size and delete round-trip the bytes under keys needing encoding") {
  S3ServerProcess s3(VETLINE_SOURCE_DIR);
  REQUIRE(s3.ready());
  auto store = Store(s3.Settings());
  const std::string key = "conversations/clinic-1/Röntgen Bild & Befund (2)+x.png";
  const std::string bytes = RandomBytes(300'000, 1);
  REQUIRE(blob::PutBytes(*store, key, bytes).ok());
  CHECK(ReadAll(*store, key) == bytes);
  auto size = store->Size(key);
  REQUIRE(size.ok());
  CHECK(*size == bytes.size());

  // A second put replaces the blob whole.
  REQUIRE(blob::PutBytes(*store, key, "v2").ok());
  CHECK(ReadAll(*store, key) == "v2");

  REQUIRE(store->Delete(key).ok());
  CHECK(store->Open(key).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->Size(key).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->Delete(key).ok());  // already gone: not an error

  // Keys no store takes are refused before any request.
  CHECK(store->Open("../etc/passwd").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->Open("/abs").status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("blob s3: a missing blob is the same NotFound as the local store gives") {
  S3ServerProcess s3(VETLINE_SOURCE_DIR);
  REQUIRE(s3.ready());
  Scratch scratch;
  auto s3_store = Store(s3.Settings());
  auto local = blob::LocalDirectory((scratch.dir / "blobs").string());
  const std::string key = "recordings/never-written.webm";
  for (auto* store : {s3_store.get(), local.get()}) {
    absl::Status open = store->Open(key).status(), size = store->Size(key).status();
    CHECK(open.code() == absl::StatusCode::kNotFound);
    CHECK(open.message() == "no blob recordings/never-written.webm");
    CHECK(size.code() == absl::StatusCode::kNotFound);
    CHECK(size.message() == open.message());
    // And the API answer for it is the same too.
    CHECK(vetline::rpc::ToGrpc(open).error_message() == "no blob recordings/never-written.webm");
  }
}

TEST_CASE("blob s3: a large file goes up in parts and reads back byte-exact") {
  S3ServerProcess s3(VETLINE_SOURCE_DIR);
  REQUIRE(s3.ready());
  Scratch scratch;
  auto store = Store(s3.Settings());  // 5 MiB parts
  const std::string bytes = RandomBytes((12u << 20) + 12345, 2);  // three parts, the last short
  const std::string path = scratch.Write("large.webm", bytes);

  REQUIRE(store->Put("recordings/large.webm", path).ok());
  CHECK(ReadAll(*store, "recordings/large.webm") == bytes);
  auto size = store->Size("recordings/large.webm");
  REQUIRE(size.ok());
  CHECK(*size == bytes.size());
  CHECK(OpenUploads(s3) == 0);

  // It really went up in parts: a part the server fails fails the put.
  REQUIRE(vetline::http::HttpPost({.url = s3.Url("/_sim/fail-part?number=3")}).status == 204);
  CHECK_FALSE(store->Put("recordings/other.webm", path).ok());
}

TEST_CASE("blob s3: a multipart upload that fails is aborted and leaves the key as it was") {
  S3ServerProcess s3(VETLINE_SOURCE_DIR);
  REQUIRE(s3.ready());
  Scratch scratch;
  auto store = Store(s3.Settings());
  const std::string path = scratch.Write("large.webm", RandomBytes((11u << 20), 3));
  REQUIRE(blob::PutBytes(*store, "recordings/kept.webm", "the earlier version").ok());

  REQUIRE(vetline::http::HttpPost({.url = s3.Url("/_sim/fail-part?number=2")}).status == 204);
  absl::Status put = store->Put("recordings/kept.webm", path);
  CHECK(put.code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StrContains(put.message(), "InternalError"));
  CHECK_FALSE(absl::StrContains(put.message(), "<"));
  // No parts stay on the server, and readers still see the earlier blob whole.
  CHECK(OpenUploads(s3) == 0);
  CHECK(ReadAll(*store, "recordings/kept.webm") == "the earlier version");

  REQUIRE(vetline::http::HttpPost({.url = s3.Url("/_sim/fail-part?number=1")}).status == 204);
  CHECK_FALSE(store->Put("recordings/new.webm", path).ok());
  CHECK(OpenUploads(s3) == 0);
  CHECK(store->Open("recordings/new.webm").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("blob s3: a presigned link downloads with plain HTTP and fails once expired or altered") {
  S3ServerProcess s3(VETLINE_SOURCE_DIR);
  REQUIRE(s3.ready());
  auto store = Store(s3.Settings());
  const std::string bytes = RandomBytes(70'000, 4);
  REQUIRE(blob::PutBytes(*store, "recordings/link me.webm", bytes).ok());
  REQUIRE(blob::PutBytes(*store, "recordings/other.webm", "someone else's").ok());

  auto url = store->DownloadUrl("recordings/link me.webm", absl::Minutes(5));
  REQUIRE(url.ok());
  auto got = vetline::http::HttpGet({.url = *url});
  CHECK(got.status == 200);
  CHECK(got.body == bytes);

  // Signed ten minutes ago for one minute: expired.
  vetline::FakeClock past(absl::Now() - absl::Minutes(10));
  auto old = Store(s3.Settings(), past)->DownloadUrl("recordings/link me.webm", absl::Minutes(1));
  REQUIRE(old.ok());
  auto expired = vetline::http::HttpGet({.url = *old});
  CHECK(expired.status == 403);
  CHECK(absl::StrContains(expired.body, "expired"));
  CHECK(expired.body.find(bytes.substr(0, 64)) == std::string::npos);

  // Altered: the signature, the expiry, or the object it names.
  std::string bad_sig = *url;
  bad_sig.back() = bad_sig.back() == '0' ? '1' : '0';
  CHECK(vetline::http::HttpGet({.url = bad_sig}).status == 403);
  std::string longer = *url;
  const size_t at = longer.find("X-Amz-Expires=300");
  REQUIRE(at != std::string::npos);
  longer.replace(at, 17, "X-Amz-Expires=900");
  CHECK(vetline::http::HttpGet({.url = longer}).status == 403);
  std::string other = *url;
  const size_t name = other.find("link%20me.webm");
  REQUIRE(name != std::string::npos);
  other.replace(name, 14, "other.webm");
  auto swapped = vetline::http::HttpGet({.url = other});
  CHECK(swapped.status == 403);
  CHECK(swapped.body != "someone else's");

  // Out-of-range lifetimes are refused; the local store has no such links.
  CHECK(store->DownloadUrl("recordings/a", absl::Hours(24 * 8)).status().code() ==
        absl::StatusCode::kInvalidArgument);
  Scratch scratch;
  CHECK(blob::LocalDirectory(scratch.dir.string())->DownloadUrl("recordings/a", absl::Minutes(1)).status().code() ==
        absl::StatusCode::kUnimplemented);
}

TEST_CASE("blob s3: wrong credentials give a clear error and no S3 text reaches an API answer") {
  S3ServerProcess s3(VETLINE_SOURCE_DIR);
  REQUIRE(s3.ready());
  REQUIRE(blob::PutBytes(*Store(s3.Settings()), "recordings/a.webm", "bytes").ok());

  blob::S3Settings wrong_secret = s3.Settings();
  wrong_secret.secret_access_key = "not-the-secret-4f1c";
  blob::S3Settings wrong_key = s3.Settings();
  wrong_key.access_key_id = "NOSUCHKEY";
  for (const auto& [settings, code] :
       {std::pair{wrong_secret, "SignatureDoesNotMatch"}, std::pair{wrong_key, "InvalidAccessKeyId"}}) {
    INFO(code);
    auto store = Store(settings);
    for (absl::Status st : {blob::PutBytes(*store, "recordings/b.webm", "x"), store->Open("recordings/a.webm").status(),
                            store->Size("recordings/a.webm").status(), store->Delete("recordings/a.webm")}) {
      CHECK(st.code() == absl::StatusCode::kUnavailable);  // not NotFound: the blob is there
      // HEAD (Size) answers carry no error document, so no S3 error code either.
      if (!absl::StrContains(st.message(), "read recordings/a.webm: the S3 blob store answered HTTP 403;")) {
        CHECK(absl::StrContains(st.message(), code));
      }
      CHECK(absl::StrContains(st.message(), "check s3-access-key-id and s3-secret-access-key"));
      CHECK_FALSE(absl::StrContains(st.message(), "<"));
      CHECK_FALSE(absl::StrContains(st.message(), "not-the-secret"));
      const grpc::Status api = vetline::rpc::ToGrpc(st);
      CHECK(api.error_code() == grpc::StatusCode::UNAVAILABLE);
      CHECK_FALSE(absl::StrContains(api.error_message(), code));
      CHECK_FALSE(absl::StrContains(api.error_message(), "S3"));
      CHECK_FALSE(absl::StrContains(api.error_message(), "<"));
    }
  }
  // The blob the refused requests aimed at is untouched.
  CHECK(ReadAll(*Store(s3.Settings()), "recordings/a.webm") == "bytes");

  // Nobody listening: unreachable, said so.
  blob::S3Settings nowhere = s3.Settings();
  nowhere.endpoint = "http://127.0.0.1:1";
  absl::Status down = Store(nowhere)->Size("recordings/a.webm").status();
  CHECK(down.code() == absl::StatusCode::kUnavailable);
  CHECK(absl::StrContains(down.message(), "unreachable"));
}

TEST_CASE("blob store settings: configuration selects S3 and incomplete settings name the setting") {
  S3ServerProcess s3(VETLINE_SOURCE_DIR);
  REQUIRE(s3.ready());
  Scratch scratch;
  auto parse = [](const std::map<std::string, std::string>& env) {
    blob::StoreSettings s;
    vetline::ConfigParser p("test");
    s.Register(p);
    REQUIRE(p.Parse({}, env).ok());
    return s;
  };
  const std::string local_dir = (scratch.dir / "local").string();

  // The default: the service's own directory.
  auto local = blob::OpenStore(parse({}), local_dir);
  REQUIRE(local.ok());
  REQUIRE(blob::PutBytes(**local, "recordings/l.webm", "on disk").ok());
  CHECK(fs::exists(fs::path(local_dir) / "recordings" / "l.webm"));

  const std::map<std::string, std::string> env = {
      {"VETLINE_BLOB_STORE", "s3"},         {"VETLINE_S3_ENDPOINT", s3.Url()},
      {"VETLINE_S3_BUCKET", "vetline"},     {"VETLINE_S3_ACCESS_KEY_ID", "S3RVER"},
      {"VETLINE_S3_SECRET_ACCESS_KEY", "S3RVER"}, {"VETLINE_S3_PATH_STYLE", "true"}};
  auto remote = blob::OpenStore(parse(env), local_dir);
  REQUIRE(remote.ok());
  REQUIRE(blob::PutBytes(**remote, "recordings/r.webm", "in the bucket").ok());
  CHECK(ReadAll(*Store(s3.Settings()), "recordings/r.webm") == "in the bucket");
  CHECK_FALSE(fs::exists(fs::path(local_dir) / "recordings" / "r.webm"));

  auto without = [&](const std::string& name) {
    auto e = env;
    e.erase(name);
    return blob::OpenStore(parse(e), local_dir).status();
  };
  CHECK(absl::StrContains(without("VETLINE_S3_BUCKET").message(), "s3-bucket"));
  CHECK(absl::StrContains(without("VETLINE_S3_SECRET_ACCESS_KEY").message(), "s3-secret-access-key"));
  auto bad = env;
  bad["VETLINE_S3_ENDPOINT"] = "127.0.0.1:9000/x";
  CHECK(absl::StrContains(blob::OpenStore(parse(bad), local_dir).status().message(), "s3-endpoint"));
  bad = env;
  bad["VETLINE_BLOB_STORE"] = "ftp";
  CHECK(blob::OpenStore(parse(bad), local_dir).status().message() == "blob-store must be local or s3");
  bad = env;
  bad["VETLINE_S3_PART_MIB"] = "4";
  vetline::ConfigParser p("test");
  blob::StoreSettings s;
  s.Register(p);
  absl::Status small = p.Parse({}, bad);
  CHECK_FALSE(small.ok());
  CHECK(absl::StrContains(small.message(), "VETLINE_S3_PART_MIB"));
}
