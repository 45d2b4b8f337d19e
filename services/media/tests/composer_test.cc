// The recording composer against real GStreamer, with inputs made by gst-launch-1.0.
#include "services/media/composer.h"

#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>


using namespace vetline::media;
namespace fs = std::filesystem;

namespace {

constexpr int kTileWidth = 320;
constexpr int kTileHeight = 180;

// Writes a ~2 s WebM; either stream may be left out.
void MakeWebm(const fs::path& path, bool video, bool audio) {
  std::string cmd =
      "gst-launch-1.0 -q -e webmmux name=m ! filesink location='" + path.string() + "'";
  if (video) {
    cmd +=
        " videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=30/1"
        " ! vp8enc deadline=1 threads=1 ! m.";
  }
  if (audio) {
    cmd +=
        " audiotestsrc num-buffers=100 samplesperbuffer=960"
        " ! audio/x-raw,rate=48000,channels=2 ! opusenc ! m.";
  }
  cmd += " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  REQUIRE(fs::file_size(path) > 0);
}

// A scratch directory with the inputs, made once per run and removed at exit.
struct Fixture {
  fs::path dir;
  fs::path both, video_only, audio_only, empty;

  Fixture() {
    std::string tmpl = (fs::temp_directory_path() / "composer_test_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    both = dir / "both.webm";
    video_only = dir / "video.webm";
    audio_only = dir / "audio.webm";
    empty = dir / "empty.webm";
    MakeWebm(both, true, true);
    MakeWebm(video_only, true, false);
    MakeWebm(audio_only, false, true);
    std::ofstream{empty};
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Fixture& Inputs() {
  static Fixture fixture;
  return fixture;
}

// What a player would see in the composed file.
struct Seen {
  double seconds = 0;
  int width = 0, height = 0;
  bool audio = false;
};

Seen Inspect(const fs::path& path) {
  gst_init(nullptr, nullptr);
  Seen seen;
  GError* err = nullptr;
  GstDiscoverer* discoverer = gst_discoverer_new(10 * GST_SECOND, &err);
  REQUIRE(discoverer != nullptr);
  gchar* uri = gst_filename_to_uri(path.c_str(), nullptr);
  GstDiscovererInfo* info = gst_discoverer_discover_uri(discoverer, uri, &err);
  g_free(uri);
  g_clear_error(&err);
  REQUIRE(info != nullptr);
  CHECK(gst_discoverer_info_get_result(info) == GST_DISCOVERER_OK);
  seen.seconds = static_cast<double>(gst_discoverer_info_get_duration(info)) / GST_SECOND;
  GList* video = gst_discoverer_info_get_video_streams(info);
  if (video != nullptr) {
    auto* v = GST_DISCOVERER_VIDEO_INFO(video->data);
    seen.width = static_cast<int>(gst_discoverer_video_info_get_width(v));
    seen.height = static_cast<int>(gst_discoverer_video_info_get_height(v));
  }
  GList* audio = gst_discoverer_info_get_audio_streams(info);
  seen.audio = audio != nullptr;
  gst_discoverer_stream_info_list_free(video);
  gst_discoverer_stream_info_list_free(audio);
  g_object_unref(info);
  g_object_unref(discoverer);
  return seen;
}

ComposeOptions SmallTiles() {
  ComposeOptions options;
  options.tile_width = kTileWidth;
  options.tile_height = kTileHeight;
  options.video_kbps = 300;
  options.timeout = absl::Minutes(2);
  return options;
}

}  // namespace

TEST_CASE("composer: two participants side by side, the second joining a second late") {
  Fixture& in = Inputs();
  const fs::path out = in.dir / "two.webm";
  std::vector<double> progress;
  ComposeOptions options = SmallTiles();
  options.progress = [&](double p) { progress.push_back(p); };

  const auto start = std::chrono::steady_clock::now();
  auto result =
      Compose({{in.both.string(), absl::ZeroDuration()}, {in.both.string(), absl::Seconds(1)}},
              out.string(), options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(result.ok());
  WARN("two-participant compose took "
       << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");

  CHECK(result->tiles == 2);
  CHECK(absl::ToDoubleSeconds(result->duration) == Approx(3.0).margin(0.4));
  REQUIRE(fs::exists(out));
  Seen seen = Inspect(out);
  CHECK(seen.width == 2 * kTileWidth);
  CHECK(seen.height == kTileHeight);
  CHECK(seen.audio);
  CHECK(seen.seconds == Approx(3.0).margin(0.4));

  REQUIRE_FALSE(progress.empty());
  for (size_t i = 0; i < progress.size(); ++i) {
    CHECK(progress[i] >= 0.0);
    CHECK(progress[i] <= 1.0);
    if (i > 0) CHECK(progress[i] >= progress[i - 1]);
  }
  CHECK(progress.back() >= 0.9);
}

TEST_CASE("composer: an empty track is skipped") {
  Fixture& in = Inputs();
  const fs::path out = in.dir / "one.webm";
  auto result = Compose(
      {{in.both.string(), absl::ZeroDuration()}, {in.empty.string(), absl::Milliseconds(500)}},
      out.string(), SmallTiles());
  REQUIRE(result.ok());
  CHECK(result->tiles == 1);
  CHECK(absl::ToDoubleSeconds(result->duration) == Approx(2.0).margin(0.4));
  Seen seen = Inspect(out);
  CHECK(seen.width == kTileWidth);
  CHECK(seen.audio);
}

TEST_CASE("composer: a video-only and an audio-only track still make one file") {
  Fixture& in = Inputs();
  const fs::path out = in.dir / "mixed.webm";
  auto result = Compose({{in.video_only.string(), absl::ZeroDuration()},
                         {in.audio_only.string(), absl::Milliseconds(500)}},
                        out.string(), SmallTiles());
  REQUIRE(result.ok());
  CHECK(result->tiles == 1);
  CHECK(absl::ToDoubleSeconds(result->duration) == Approx(2.5).margin(0.4));
  Seen seen = Inspect(out);
  CHECK(seen.width == kTileWidth);
  CHECK(seen.audio);
}

TEST_CASE("composer: audio only makes an audio-only file") {
  Fixture& in = Inputs();
  const fs::path out = in.dir / "audio_out.webm";
  auto result =
      Compose({{in.audio_only.string(), absl::ZeroDuration()}}, out.string(), SmallTiles());
  REQUIRE(result.ok());
  CHECK(result->tiles == 0);
  Seen seen = Inspect(out);
  CHECK(seen.width == 0);
  CHECK(seen.audio);
}

TEST_CASE("composer: no readable track is an error naming the files") {
  Fixture& in = Inputs();
  const fs::path out = in.dir / "none.webm";
  const std::string missing = (in.dir / "missing.webm").string();
  auto result = Compose({{in.empty.string(), absl::ZeroDuration()}, {missing, absl::Seconds(1)}},
                        out.string(), SmallTiles());
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  const std::string message(result.status().message());
  CHECK_THAT(message, Catch::Contains(in.empty.string()));
  CHECK_THAT(message, Catch::Contains(missing));
  CHECK_FALSE(fs::exists(out));
}
