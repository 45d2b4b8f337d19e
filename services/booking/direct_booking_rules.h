// Direct booking's rules as plain functions (no I/O): what a contact is, one-time codes
// (six digits, stored only as a keyed hash, expiring, single use, locked after a few
// wrong tries), how long a hold lasts, and the clinic's cut-off for changes.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/auth/auth.h"

namespace vetline::booking {

inline constexpr absl::Duration kCodeTtl = absl::Minutes(10);
inline constexpr int kMaxCodeAttempts = 5;
inline constexpr absl::Duration kHoldTtl = absl::Minutes(5);
inline constexpr char kDirectDescription[] = "[Vetline Direct Booking]";
inline constexpr char kDirectNewClientDescription[] = "[Vetline Direct Booking - New Client]";
inline constexpr char kManagePurpose[] = "appointment-manage";

// A phone number (E.164) or an email address (lower-cased), errors naming `field`.
struct Contact {
  bool phone = false;
  std::string value;
};
absl::StatusOr<Contact> ParseContact(std::string_view field, const std::string& value);

// Six random digits.
std::string NewCode();
// Exactly six digits, else InvalidArgument naming "code".
absl::Status CheckCodeFormat(const std::string& code);
// Hex of a keyed BLAKE2b over the clinic, the contact and the code: a leaked table gives
// no code away without the service's key.
std::string CodeHash(const auth::Key& key, const std::string& clinic_id, const std::string& contact,
                     const std::string& code);

// The newest code of a contact, as stored.
struct StoredCode {
  std::string code_hash;
  absl::Time expires_at;
  int attempts = 0;
  bool used = false;
};
enum class CodeVerdict { kOk, kWrong, kExpired, kUsed, kLocked, kNone };
// Locked wins over everything (no more guesses), then used, then expired.
CodeVerdict JudgeCode(const StoredCode& stored, const std::string& given_hash, absl::Time now,
                      int max_attempts = kMaxCodeAttempts);
// The answer for a verdict other than kOk, naming "code" (wrong and none read alike).
absl::Status CodeError(CodeVerdict v);

// The latest moment a client may still cancel or move an appointment starting at `start`.
absl::Time ChangeDeadline(absl::Time start, int cutoff_minutes);
// FailedPrecondition naming `field` once the deadline has passed.
absl::Status CheckChangeAllowed(absl::Time start, int cutoff_minutes, absl::Time now,
                                std::string_view field);

std::string DirectDescription(bool new_client);

// The confirmation link's token: the clinic and the appointment, signed.
std::string ManageSubject(const std::string& clinic_id, const std::string& appointment_id);

}  // namespace vetline::booking
