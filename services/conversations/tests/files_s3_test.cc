// Conversation files with the S3 blob store selected (blob-store=s3, as a deployment on
// several machines runs it), through the service's normal path: an upload lands in the
// bucket, its signed link streams the very bytes back, a missing object is a clean error.
#include <catch2/catch.hpp>

#include <sstream>

#include "libs/blob/s3_store.h"
#include "services/conversations/tests/inbox_fixture.h"
#include "tests/support/s3_server_process.h"

namespace vetline {
namespace {

using testing::InboxFixture;
using testing::S3ServerProcess;
namespace cv1 = conversations::v1;

// The S3 server comes up before the service that is pointed at it (hence a base).
struct S3Backed {
  S3ServerProcess s3{VETLINE_SOURCE_DIR};
  blob::StoreSettings Settings() const {
    blob::StoreSettings s;
    s.kind = "s3";
    s.s3 = s3.Settings();
    return s;
  }
};

struct MapleOnS3 : S3Backed, InboxFixture {
  MapleOnS3() : S3Backed(), InboxFixture({}, false, Settings()) {}
  Clinic maple = MakeClinic("Maple Vet", "maple.example");
  clients::v1::Client pat = MakeClient(maple, "Pat", "Lee", "+13125550100", "pat@pets.example");
  api::Principal pat_portal = testing::ClientPrincipal(maple.id, pat.id(), "pa-pat");

  grpc::Status Download(const cv1::FileAttachment& f, std::string* body) {
    const std::string url = f.download_url();
    cv1::DownloadFileRequest req;
    req.set_file_id(f.file_id());
    req.set_token(url.substr(url.find("token=") + 6));
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx);
    auto reader = inbox->DownloadFile(&ctx, req);
    cv1::FileChunk chunk;
    while (reader->Read(&chunk)) body->append(chunk.data());
    return reader->Finish();
  }
};

TEST_CASE_METHOD(MapleOnS3, "conversation files on S3: an upload lands in the bucket and its signed link streams it back",
                 "[conversations]") {
  REQUIRE(s3.ready());
  cv1::Conversation c = Start(maple.staff, pat.id());

  cv1::UploadFileRequest up;
  up.set_conversation_id(c.id());
  up.set_filename("xray.png");
  // Larger than one 64 KB download chunk, so the stream is several chunks.
  std::string png = std::string("\x89PNG\r\n\x1A\n", 8);
  for (int i = 0; png.size() < 300'000; ++i) png.push_back(static_cast<char>(i * 7919 % 251));
  up.set_content(png);
  cv1::UploadFileResponse file;
  grpc::Status st = inbox->UploadFile(As(pat_portal).get(), up, &file);
  INFO(st.error_message());
  REQUIRE(st.ok());

  // In the bucket under the clinic's prefix, not on the service's disk.
  auto bucket = blob::S3Store(s3.Settings());
  REQUIRE(bucket.ok());
  const std::string key = "conversations/" + maple.id + "/" + file.file().file_id();
  auto stored = (*bucket)->Open(key);
  REQUIRE(stored.ok());
  std::ostringstream in_bucket;
  in_bucket << (*stored)->rdbuf();
  CHECK(in_bucket.str() == png);
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(options.blob_dir) / key));

  std::string body;
  REQUIRE(Download(file.file(), &body).ok());
  CHECK(body == png);

  // The object gone from the bucket (an operator's mistake): a clean NOT_FOUND, no S3 text.
  REQUIRE((*bucket)->Delete(key).ok());
  body.clear();
  grpc::Status gone = Download(file.file(), &body);
  CHECK(gone.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(gone.error_message() == "no blob " + key);
  CHECK(body.empty());
}

TEST_CASE_METHOD(MapleOnS3, "conversation files on S3: a store refusing the upload stores nothing and says try again",
                 "[conversations]") {
  REQUIRE(s3.ready());
  cv1::Conversation c = Start(maple.staff, pat.id());
  // The server stops: uploads cannot be stored.
  s3.Kill();
  cv1::UploadFileRequest up;
  up.set_conversation_id(c.id());
  up.set_filename("notes.txt");
  up.set_content("plain text");
  cv1::UploadFileResponse file;
  grpc::Status st = inbox->UploadFile(As(maple.staff).get(), up, &file);
  CHECK(st.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(st.error_message() == "the file could not be stored; try again");
  CHECK(Count("SELECT count(*) AS n FROM conversations.files") == 0);
}

}  // namespace
}  // namespace vetline
