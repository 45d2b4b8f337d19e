#include "libs/core/trace_context.h"

#include <catch2/catch.hpp>

namespace trace = vetline::trace;

namespace {
// The example of the W3C Trace Context recommendation.
constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParent[] = "00f067aa0ba902b7";
const std::string kValid = std::string("00-") + kTrace + "-" + kParent + "-01";
}  // namespace

TEST_CASE("trace: a valid version 00 traceparent is read field by field", "[trace]") {
  auto p = trace::ParseTraceparent(kValid);
  REQUIRE(p.has_value());
  CHECK(p->trace_id == kTrace);
  CHECK(p->parent_id == kParent);
  CHECK(p->flags == 0x01);
  auto unsampled = trace::ParseTraceparent(std::string("00-") + kTrace + "-" + kParent + "-00");
  REQUIRE(unsampled.has_value());
  CHECK(unsampled->flags == 0x00);
}

TEST_CASE("trace: every malformed traceparent is refused", "[trace]") {
  const std::string zeros32(32, '0'), zeros16(16, '0');
  const std::vector<std::string> bad = {
      "",
      "00",
      kValid.substr(0, 54),                                         // one character short
      kValid + "-",                                                 // version 00 has nothing after flags
      kValid + "0",
      "00-" + zeros32 + "-" + kParent + "-01",                      // all-zero trace id
      "00-" + std::string(kTrace) + "-" + zeros16 + "-01",          // all-zero parent id
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper-case hex
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff is forbidden
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // wrong separators
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
      "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",    // fields shifted
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
  };
  for (const std::string& h : bad) {
    INFO(h);
    CHECK_FALSE(trace::ParseTraceparent(h).has_value());
  }
}

TEST_CASE("trace: a later version is read through its version 00 fields", "[trace]") {
  const std::string fields = std::string(kTrace) + "-" + kParent + "-01";
  auto same = trace::ParseTraceparent("01-" + fields);
  REQUIRE(same.has_value());
  CHECK(same->trace_id == kTrace);
  CHECK(same->parent_id == kParent);
  auto longer = trace::ParseTraceparent("cc-" + fields + "-what-the-future-adds");
  REQUIRE(longer.has_value());
  CHECK(longer->parent_id == kParent);
  // After the flags a later version may only continue with a dash.
  CHECK_FALSE(trace::ParseTraceparent("cc-" + fields + "x").has_value());
  CHECK_FALSE(trace::ParseTraceparent("cc-" + fields.substr(0, fields.size() - 1)).has_value());
  // The next hop hears the version this one speaks.
  trace::Context c = trace::Continue("cc-" + fields + "-more", "");
  CHECK(trace::Traceparent(c).substr(0, 3) == "00-");
  CHECK(c.trace_id == kTrace);
}

TEST_CASE("trace: a hop continues its caller's trace under a span of its own", "[trace]") {
  trace::Context c = trace::Continue(kValid, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  CHECK(c.trace_id == kTrace);
  CHECK(c.parent_id == kParent);
  CHECK(c.span_id.size() == 16);
  CHECK(c.span_id != kParent);
  CHECK(c.flags == trace::kSampled);
  CHECK(c.tracestate == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  // What it sends on names its own span as the parent and parses back.
  std::string next = trace::Traceparent(c);
  CHECK(next == "00-" + std::string(kTrace) + "-" + c.span_id + "-01");
  auto parsed = trace::ParseTraceparent(next);
  REQUIRE(parsed.has_value());
  CHECK(parsed->parent_id == c.span_id);
  // Two hops under the same caller get different spans.
  CHECK(trace::Continue(kValid, "").span_id != c.span_id);
  // Unsampled stays unsampled; undefined flag bits are not passed on.
  CHECK(trace::Continue(std::string("00-") + kTrace + "-" + kParent + "-00", "").flags == 0);
  CHECK(trace::Continue(std::string("00-") + kTrace + "-" + kParent + "-ff", "").flags == trace::kSampled);
}

TEST_CASE("trace: a malformed or missing traceparent starts a new trace and drops tracestate",
          "[trace]") {
  for (const std::string& h : {std::string(""), std::string("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
                               "00-" + std::string(32, '0') + "-" + kParent + "-01"}) {
    INFO(h);
    trace::Context c = trace::Continue(h, "congo=t61rcWkgMzE");
    CHECK(c.trace_id.size() == 32);
    CHECK(c.trace_id != kTrace);
    CHECK(c.trace_id.find_first_not_of('0') != std::string::npos);
    CHECK(c.parent_id.empty());
    CHECK(c.tracestate.empty());
    CHECK(c.flags == trace::kSampled);
    CHECK(trace::ParseTraceparent(trace::Traceparent(c)).has_value());
  }
  CHECK(trace::Start().trace_id != trace::Start().trace_id);
}

TEST_CASE("trace: a tracestate that is too long or not printable is not passed on", "[trace]") {
  CHECK(trace::Continue(kValid, std::string(513, 'a')).tracestate.empty());
  CHECK(trace::Continue(kValid, std::string(512, 'a')).tracestate.size() == 512);
  CHECK(trace::Continue(kValid, "congo=t61r\ncWkgMzE").tracestate.empty());
  // The trace itself still continues.
  CHECK(trace::Continue(kValid, std::string(513, 'a')).trace_id == kTrace);
}
