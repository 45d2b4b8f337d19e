// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and
// `tracestate` headers that let an operator follow one request through the gateway and
// every service it reached. Each hop has its own span id, whose parent is the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vetline::trace {

inline constexpr uint8_t kSampled = 0x01;  // the only flag version 00 defines

// What a caller's `traceparent` says.
struct Parent {
  std::string trace_id;   // 32 lowercase hex, not all zero
  std::string parent_id;  // the caller's span: 16 lowercase hex, not all zero
  uint8_t flags = 0;
};

// Strict: version 00 exactly as the spec writes it (55 characters, lowercase hex, no
// all-zero id); a later version through its version-00 prefix, as the spec asks of
// readers that do not know it; anything else, version ff included, is nullopt.
std::optional<Parent> ParseTraceparent(std::string_view header);

// This hop's place in a trace.
struct Context {
  std::string trace_id;
  std::string span_id;     // this hop's own
  std::string parent_id;   // the caller's span; empty when this hop started the trace
  uint8_t flags = kSampled;
  std::string tracestate;  // the caller's vendor entries, passed on unchanged
  bool empty() const { return trace_id.empty(); }
};

// A new trace with this hop as its root. Every hop logs, so the trace is marked sampled.
Context Start();
// Continues the caller's trace under a new span when `traceparent` is valid; otherwise a
// new trace starts (a malformed header is never the caller's error) and, as the spec
// asks, the caller's `tracestate` is dropped with it. A tracestate that is not printable
// ASCII or is longer than 512 characters is dropped too.
Context Continue(std::string_view traceparent, std::string_view tracestate);

// "00-<trace id>-<span id>-<flags>": what this hop sends to the next one, its own span
// being the next one's parent. Also what the gateway answers the browser with.
std::string Traceparent(const Context& c);

// A random 16-hex span id, never all zero.
std::string NewSpanId();

}  // namespace vetline::trace
