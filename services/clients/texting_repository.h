// What the conversations service learns from texting and push, applied to client
// profiles: a number that texted STOP or START (the text option of every live profile with
// that number), a number the carrier says cannot take texts (texting_capable off and
// carrier_not_texting_at set, which later PIMS syncs respect), and a
// client's first push subscription or the loss of its last (push_status enabled /
// not_installed). Fed by the conversations outbox ("sms.opted_out", "sms.opted_in",
// "phone.not_texting_capable", "push.subscribed", "push.unsubscribed") inside the
// consumer's transaction, so each event applies exactly once.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "libs/pg/pg.h"
#include "libs/rpc/outbox_feed.h"

namespace vetline::clients {

// Topics followed, and the handler for one event (payload {"clinicId", "phone"}, or
// {"clinicId", "clientId"} for push). A
// malformed event is logged and skipped, so it cannot hold the feed back.
rpc::ConsumerSpec FollowTexting();

// Returns how many profiles (or phones) changed.
absl::StatusOr<int> SetTextEnabledForNumber(pg::Session& s, const std::string& clinic_id,
                                            const std::string& phone, bool enabled);
// push_status "enabled" (installed) or "not_installed"; an explicit "disabled" stays.
absl::StatusOr<int> SetPushInstalled(pg::Session& s, const std::string& clinic_id,
                                     const std::string& client_id, bool installed);
absl::StatusOr<int> MarkNotTextingCapable(pg::Session& s, const std::string& clinic_id,
                                          const std::string& phone);

}  // namespace vetline::clients
