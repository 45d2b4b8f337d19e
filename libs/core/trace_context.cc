#include "libs/core/trace_context.h"

#include "absl/strings/str_format.h"
#include "libs/core/ids.h"

namespace vetline::trace {
namespace {

constexpr size_t kVersion00Size = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
constexpr size_t kMaxTracestate = 512;   // the spec's bound on what vendors must pass on

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// A 32-hex id from NewRequestId (128 random bits), drawn again in the (astronomically
// unlikely) all-zero case the spec forbids.
std::string NewTraceId() {
  std::string id = NewRequestId();
  while (AllZero(id)) id = NewRequestId();
  return id;
}

std::string SaneTracestate(std::string_view s) {
  if (s.size() > kMaxTracestate) return "";
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return "";  // gRPC metadata and HTTP both want printable ASCII
  }
  return std::string(s);
}

}  // namespace

std::optional<Parent> ParseTraceparent(std::string_view h) {
  if (h.size() < kVersion00Size) return std::nullopt;
  std::string_view version = h.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") return std::nullopt;
  if (version == "00" && h.size() != kVersion00Size) return std::nullopt;
  // A later version may append fields, each after a dash.
  if (h.size() > kVersion00Size && h[kVersion00Size] != '-') return std::nullopt;
  if (h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  Parent p{std::string(h.substr(3, 32)), std::string(h.substr(36, 16)), 0};
  std::string_view flags = h.substr(53, 2);
  if (!IsLowerHex(p.trace_id) || !IsLowerHex(p.parent_id) || !IsLowerHex(flags)) {
    return std::nullopt;
  }
  if (AllZero(p.trace_id) || AllZero(p.parent_id)) return std::nullopt;
  p.flags = static_cast<uint8_t>(HexValue(flags[0]) * 16 + HexValue(flags[1]));
  return p;
}

std::string NewSpanId() {
  std::string id = NewRequestId().substr(0, 16);
  while (AllZero(id)) id = NewRequestId().substr(0, 16);
  return id;
}

Context Start() {
  Context c;
  c.trace_id = NewTraceId();
  c.span_id = NewSpanId();
  return c;
}

Context Continue(std::string_view traceparent, std::string_view tracestate) {
  std::optional<Parent> parent = ParseTraceparent(traceparent);
  if (!parent) return Start();
  Context c;
  c.trace_id = std::move(parent->trace_id);
  c.parent_id = std::move(parent->parent_id);
  c.span_id = NewSpanId();
  // Only the sampled flag is defined for the version this hop sends on.
  c.flags = parent->flags & kSampled;
  c.tracestate = SaneTracestate(tracestate);
  return c;
}

std::string Traceparent(const Context& c) {
  return absl::StrFormat("00-%s-%s-%02x", c.trace_id, c.span_id, c.flags);
}

}  // namespace vetline::trace
