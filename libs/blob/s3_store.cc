#include "libs/blob/s3_store.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/blob/sigv4.h"
#include "libs/core/status.h"
#include "libs/http/http_post.h"

namespace vetline::blob {
namespace {

namespace fs = std::filesystem;
using sigv4::Pairs;

constexpr uint64_t kMinPartBytes = uint64_t{5} << 20;  // S3's smallest part (but the last)
constexpr int kMaxParts = 10000;                       // S3's most parts per upload
constexpr size_t kMaxErrorBody = 64 << 10;             // an error document is small

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // "s3.eu-west-1.amazonaws.com", "127.0.0.1:9000" (default ports dropped)
};

absl::StatusOr<Endpoint> ParseEndpoint(const std::string& url) {
  Endpoint e;
  absl::string_view rest(url);
  if (absl::ConsumePrefix(&rest, "https://")) {
    e.scheme = "https";
  } else if (absl::ConsumePrefix(&rest, "http://")) {
    e.scheme = "http";
  } else {
    return absl::InvalidArgumentError("s3-endpoint must start with http:// or https://");
  }
  absl::ConsumeSuffix(&rest, "/");
  if (rest.empty() || absl::StrContains(rest, "/") || absl::StrContains(rest, "?") ||
      absl::StrContains(rest, "@")) {
    return absl::InvalidArgumentError("s3-endpoint must be scheme://host[:port], without a path");
  }
  // The Host header leaves a default port out; the signature must too.
  if (e.scheme == "https") absl::ConsumeSuffix(&rest, ":443");
  if (e.scheme == "http") absl::ConsumeSuffix(&rest, ":80");
  e.host = absl::AsciiStrToLower(rest);
  return e;
}

// The text of <tag> in an S3 error document, if any (S3 answers errors as small XML).
std::string XmlField(const std::string& body, absl::string_view tag) {
  const std::string open = absl::StrCat("<", tag, ">"), close = absl::StrCat("</", tag, ">");
  const size_t a = body.find(open);
  if (a == std::string::npos) return "";
  const size_t b = body.find(close, a + open.size());
  if (b == std::string::npos) return "";
  return body.substr(a + open.size(), std::min<size_t>(b - a - open.size(), 300));
}

// One HTTP exchange with the object store.
struct Exchange {
  std::string method;
  std::string key;  // the object
  Pairs query;
  // Body: `text`, or `length` bytes of `file` from `offset`.
  const std::string* text = nullptr;
  FILE* file = nullptr;
  uint64_t offset = 0, length = 0;
  std::string payload_sha256 = sigv4::kEmptySha256;
  Pairs headers;          // signed and sent
  FILE* sink = nullptr;   // a 2xx answer's body goes here (GET); else into Answer::body
};

struct Answer {
  int status = 0;  // 0: no HTTP answer (see transport_error)
  std::string body;
  std::string etag;
  uint64_t content_length = 0;
  std::string transport_error;
};

struct Transfer {
  CURL* curl;
  FILE* sink;
  Answer* answer;
  // Request body from a string.
  const std::string* text = nullptr;
  size_t text_pos = 0;
  // ... or from a file.
  FILE* file = nullptr;
  uint64_t remaining = 0;
};

bool Success(CURL* c) {
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status >= 200 && status < 300;
}

size_t OnBody(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  const size_t bytes = size * n;
  if (t->sink != nullptr && Success(t->curl)) return std::fwrite(data, 1, bytes, t->sink);
  if (t->answer->body.size() < kMaxErrorBody) t->answer->body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  absl::string_view line(data, size * n);
  if (absl::StartsWithIgnoreCase(line, "etag:")) {
    t->answer->etag = std::string(absl::StripAsciiWhitespace(line.substr(5)));
  } else if (absl::StartsWithIgnoreCase(line, "content-length:")) {
    uint64_t v = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &v)) t->answer->content_length = v;
  }
  return size * n;
}

size_t OnRead(char* buffer, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  const size_t room = size * n;
  if (t->text != nullptr) {
    const size_t k = std::min(room, t->text->size() - t->text_pos);
    std::copy_n(t->text->data() + t->text_pos, k, buffer);
    t->text_pos += k;
    return k;
  }
  if (t->file == nullptr || t->remaining == 0) return 0;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(room, t->remaining));
  const size_t got = std::fread(buffer, 1, want, t->file);
  if (got == 0) return CURL_READFUNC_ABORT;  // the file shrank under us
  t->remaining -= got;
  return got;
}

class S3BlobStore final : public BlobStore {
 public:
  S3BlobStore(S3Settings settings, Endpoint endpoint, const Clock& clock)
      : settings_(std::move(settings)),
        endpoint_(std::move(endpoint)),
        host_(settings_.path_style ? endpoint_.host : absl::StrCat(settings_.bucket, ".", endpoint_.host)),
        part_bytes_(std::max<uint64_t>(kMinPartBytes, uint64_t(settings_.part_mib) << 20)),
        clock_(clock) {
    http::EnsureCurlInitialised();
  }

  absl::Status Put(const std::string& key, const std::string& path) override {
    VL_RETURN_IF_ERROR(CheckKey(key));
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot store ", key, ": ", path, " is unreadable"));
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) return absl::UnavailableError(absl::StrCat("cannot store ", key, ": ", path, " is unreadable"));
    if (size <= part_bytes_) {
      VL_ASSIGN_OR_RETURN(std::string sha, sigv4::FileSha256Hex(path, 0, size));
      Answer a = Send({.method = "PUT", .key = key, .file = file.get(), .length = size, .payload_sha256 = sha});
      return Expect(a, "store", key);
    }
    return PutInParts(key, path, file.get(), size);
  }

  absl::StatusOr<std::unique_ptr<std::istream>> Open(const std::string& key) const override {
    VL_RETURN_IF_ERROR(CheckKey(key));
    // The object comes down into a private file that is unlinked once open: memory stays
    // flat for recordings of any size, and nothing is left behind.
    std::string tmp = (fs::temp_directory_path() / "vetline-s3-XXXXXX").string();
    const int fd = mkstemp(tmp.data());
    if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot read ", key, ": no temporary file"));
    FILE* sink = fdopen(fd, "wb");
    if (sink == nullptr) {
      close(fd);
      std::remove(tmp.c_str());
      return absl::UnavailableError(absl::StrCat("cannot read ", key, ": no temporary file"));
    }
    Answer a = Send({.method = "GET", .key = key, .sink = sink});
    const bool written = std::fclose(sink) == 0;
    absl::Status st = Expect(a, "read", key);
    if (st.ok() && !written) st = absl::UnavailableError(absl::StrCat("cannot read ", key, ": temporary file"));
    std::unique_ptr<std::istream> in;
    if (st.ok()) in = std::make_unique<std::ifstream>(tmp, std::ios::binary);
    std::remove(tmp.c_str());
    if (!st.ok()) return st;
    if (!*in) return absl::UnavailableError(absl::StrCat("cannot read ", key, ": temporary file"));
    return in;
  }

  absl::StatusOr<uint64_t> Size(const std::string& key) const override {
    VL_RETURN_IF_ERROR(CheckKey(key));
    Answer a = Send({.method = "HEAD", .key = key});
    VL_RETURN_IF_ERROR(Expect(a, "read", key));
    return a.content_length;
  }

  absl::Status Delete(const std::string& key) override {
    VL_RETURN_IF_ERROR(CheckKey(key));
    Answer a = Send({.method = "DELETE", .key = key});
    if (a.status == 404) return absl::OkStatus();  // already gone
    return Expect(a, "delete", key);
  }

  absl::StatusOr<std::string> DownloadUrl(const std::string& key, absl::Duration ttl) const override {
    VL_RETURN_IF_ERROR(CheckKey(key));
    if (ttl < absl::Seconds(1) || ttl > absl::Hours(24 * 7)) {
      return absl::InvalidArgumentError("a download link lasts between 1 second and 7 days");
    }
    sigv4::Request r{.method = "GET", .host = host_, .path = PathOf(key)};
    return absl::StrCat(endpoint_.scheme, "://", host_, r.path, "?",
                        sigv4::PresignQuery(r, Creds(), settings_.region, clock_.Now(), ttl));
  }

 private:
  sigv4::Credentials Creds() const {
    return {settings_.access_key_id, settings_.secret_access_key};
  }

  std::string PathOf(const std::string& key) const {
    const std::string k = sigv4::UriEncode(key, /*keep_slash=*/true);
    return settings_.path_style ? absl::StrCat("/", settings_.bucket, "/", k) : absl::StrCat("/", k);
  }

  // Initiate, send the parts in order, complete; any failure aborts the upload so the
  // store keeps no parts of it (and the key keeps whatever it held before).
  absl::Status PutInParts(const std::string& key, const std::string& path, FILE* file, uint64_t size) {
    const uint64_t parts = (size + part_bytes_ - 1) / part_bytes_;
    if (parts > kMaxParts) {
      return absl::InvalidArgumentError(absl::StrCat("cannot store ", key, ": more than ", kMaxParts,
                                                     " parts; raise s3-part-mib"));
    }
    Answer init = Send({.method = "POST", .key = key, .query = {{"uploads", ""}}});
    VL_RETURN_IF_ERROR(Expect(init, "store", key));
    const std::string upload_id = XmlField(init.body, "UploadId");
    if (upload_id.empty()) return Failure(init, "store", key);
    std::string manifest = "<CompleteMultipartUpload>";
    absl::Status st;
    for (uint64_t i = 0; i < parts && st.ok(); ++i) {
      const uint64_t offset = i * part_bytes_, length = std::min(part_bytes_, size - offset);
      absl::StatusOr<std::string> sha = sigv4::FileSha256Hex(path, offset, length);
      if (!sha.ok()) {
        st = absl::UnavailableError(absl::StrCat("cannot store ", key, ": ", sha.status().message()));
        break;
      }
      if (fseeko(file, static_cast<off_t>(offset), SEEK_SET) != 0) {
        st = absl::UnavailableError(absl::StrCat("cannot store ", key, ": ", path, " is unreadable"));
        break;
      }
      const std::string number = absl::StrCat(i + 1);
      Answer a = Send({.method = "PUT",
                       .key = key,
                       .query = {{"partNumber", number}, {"uploadId", upload_id}},
                       .file = file,
                       .offset = offset,
                       .length = length,
                       .payload_sha256 = *sha});
      st = Expect(a, "store", key);
      if (st.ok() && a.etag.empty()) st = Failure(a, "store", key);
      absl::StrAppend(&manifest, "<Part><PartNumber>", number, "</PartNumber><ETag>", a.etag,
                      "</ETag></Part>");
    }
    if (st.ok()) {
      absl::StrAppend(&manifest, "</CompleteMultipartUpload>");
      Answer done = Send({.method = "POST",
                          .key = key,
                          .query = {{"uploadId", upload_id}},
                          .text = &manifest,
                          .payload_sha256 = sigv4::Sha256Hex(manifest),
                          .headers = {{"content-type", "application/xml"}}});
      st = Expect(done, "store", key);
      // S3 may answer 200 and still fail the completion in the body.
      if (st.ok() && absl::StrContains(done.body, "<Error>")) st = Failure(done, "store", key);
    }
    if (!st.ok()) {
      Answer abort = Send({.method = "DELETE", .key = key, .query = {{"uploadId", upload_id}}});
      if ((abort.status < 200 || abort.status >= 300) && abort.status != 404) {
        return absl::Status(st.code(), absl::StrCat(st.message(), "; aborting upload ", upload_id,
                                                    " failed too: ", Failure(abort, "abort", key).message()));
      }
    }
    return st;
  }

  // OK for any 2xx answer; NotFound as the local store says it; else Failure.
  absl::Status Expect(const Answer& a, absl::string_view op, const std::string& key) const {
    if (a.status >= 200 && a.status < 300) return absl::OkStatus();
    if (a.status == 404 && XmlField(a.body, "Code") != "NoSuchBucket" &&
        XmlField(a.body, "Code") != "NoSuchUpload") {
      return absl::NotFoundError(absl::StrCat("no blob ", key));
    }
    return Failure(a, op, key);
  }

  // What an operator reads in the log: the operation, the key, what S3 said and, for a
  // refusal, which settings to check. Never the XML itself, never a secret.
  absl::Status Failure(const Answer& a, absl::string_view op, const std::string& key) const {
    if (a.status == 0) {
      return FromLibrary(absl::UnavailableError(absl::StrCat("cannot ", op, " ", key, ": the S3 blob store at ",
                                                             endpoint_.scheme, "://", host_,
                                                             " is unreachable (", a.transport_error, ")")),
                         "s3");
    }
    const std::string code = XmlField(a.body, "Code"), message = XmlField(a.body, "Message");
    std::string what = absl::StrCat("cannot ", op, " ", key, ": the S3 blob store answered HTTP ", a.status);
    if (!code.empty()) absl::StrAppend(&what, " ", code);
    if (!message.empty()) absl::StrAppend(&what, " (", message, ")");
    if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch") {
      absl::StrAppend(&what, "; check s3-access-key-id and s3-secret-access-key");
    } else if (code == "AccessDenied") {
      absl::StrAppend(&what, "; the credentials may not use bucket ", settings_.bucket);
    } else if (a.status == 403) {  // HEAD answers carry no error document
      absl::StrAppend(&what, "; check s3-access-key-id and s3-secret-access-key, and that they may use bucket ",
                      settings_.bucket);
    } else if (code == "NoSuchBucket") {
      absl::StrAppend(&what, "; check s3-bucket and s3-path-style");
    } else if (code == "RequestTimeTooSkewed") {
      absl::StrAppend(&what, "; this machine's clock is off");
    }
    return FromLibrary(absl::UnavailableError(what), "s3");
  }

  Answer Send(const Exchange& x) const {
    Answer answer;
    CURL* c = static_cast<CURL*>(http::ThreadCurlHandle());
    if (c == nullptr) {
      answer.transport_error = "cannot create an HTTP client handle";
      return answer;
    }
    sigv4::Request r{.method = x.method, .host = host_, .path = PathOf(x.key), .query = x.query,
                     .headers = x.headers};
    std::string url = absl::StrCat(endpoint_.scheme, "://", host_, r.path);
    if (!x.query.empty()) absl::StrAppend(&url, "?", sigv4::CanonicalQuery(x.query));
    curl_slist* headers = nullptr;
    Pairs all = x.headers;
    for (auto& h : sigv4::SignHeaders(r, x.payload_sha256, Creds(), settings_.region, clock_.Now())) {
      all.push_back(std::move(h));
    }
    for (const auto& [name, value] : all) {
      headers = curl_slist_append(headers, absl::StrCat(name, ": ", value).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip per part

    Transfer t{.curl = c, .sink = x.sink, .answer = &answer, .text = x.text, .file = x.file,
               .remaining = x.length};
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, std::max<long>(1, absl::ToInt64Milliseconds(settings_.timeout)));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    const curl_off_t body = x.text != nullptr ? static_cast<curl_off_t>(x.text->size())
                                              : static_cast<curl_off_t>(x.length);
    if (x.method == "PUT") {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, body);
    } else if (x.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, body);  // the body comes from OnRead
    } else if (x.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (x.method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, x.method.c_str());
    }
    const CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
      // A GET whose sink failed still has its status; anything else has no answer.
      answer.status = 0;
      answer.transport_error = error[0] ? error : curl_easy_strerror(rc);
      return answer;
    }
    answer.status = static_cast<int>(status);
    return answer;
  }

  const S3Settings settings_;
  const Endpoint endpoint_;
  const std::string host_;
  const uint64_t part_bytes_;
  const Clock& clock_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> S3Store(S3Settings s, const Clock& clock) {
  if (s.bucket.empty()) return absl::InvalidArgumentError("s3-bucket is required when blob-store is s3");
  if (s.region.empty()) return absl::InvalidArgumentError("s3-region is required when blob-store is s3");
  if (s.access_key_id.empty() || s.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        "s3-access-key-id and s3-secret-access-key are required when blob-store is s3");
  }
  if (s.part_mib < 5) return absl::InvalidArgumentError("s3-part-mib must be at least 5 (S3's smallest part)");
  if (s.endpoint.empty()) s.endpoint = absl::StrCat("https://s3.", s.region, ".amazonaws.com");
  VL_ASSIGN_OR_RETURN(Endpoint e, ParseEndpoint(s.endpoint));
  return std::make_unique<S3BlobStore>(std::move(s), std::move(e), clock);
}

}  // namespace vetline::blob
