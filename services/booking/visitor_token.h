// A website visitor who proved a phone number or email address with a one-time code
// (direct booking, request forms). The token is a signed, expiring link (libs/auth
// LinkSigner, purpose "booking-visitor") naming the clinic, the contact proved and the
// client it belongs to, if any: the public steps after the code carry it instead of a
// session, and nothing in it can be changed without the service's key.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/auth/auth.h"

namespace vetline::booking {

struct Visitor {
  std::string clinic_id;
  std::string client_id;  // empty: nobody in the clinic has this contact (a new client)
  std::string contact;    // the phone (E.164) or email address the code went to
};

class VisitorTokens {
 public:
  VisitorTokens(auth::LinkSigner links, absl::Duration ttl) : links_(links), ttl_(ttl) {}

  std::string Issue(const Visitor& visitor, absl::Time now) const;
  // The visitor when the token is intact and not expired, else Unauthenticated naming
  // "visitorToken" ("visitor token expired" / "visitor token invalid").
  absl::StatusOr<Visitor> Verify(std::string_view token, absl::Time now) const;

 private:
  auth::LinkSigner links_;
  absl::Duration ttl_;
};

}  // namespace vetline::booking
