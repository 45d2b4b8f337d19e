#include "services/booking/direct_booking_rules.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline::booking {

absl::StatusOr<Contact> ParseContact(std::string_view field, const std::string& value) {
  if (absl::StripAsciiWhitespace(value).empty()) {
    return InvalidField(field, absl::StrCat(std::string(field), " is required: a phone number or an email address"));
  }
  if (absl::StrContains(value, "@")) {
    VL_ASSIGN_OR_RETURN(std::string email, validate::Email(field, value));
    return Contact{.phone = false, .value = std::move(email)};
  }
  VL_ASSIGN_OR_RETURN(std::string phone, validate::Phone(field, value));
  return Contact{.phone = true, .value = std::move(phone)};
}

std::string NewCode() {
  if (sodium_init() < 0) return "";  // never: libsodium initialises at start
  return absl::StrCat(absl::Dec(randombytes_uniform(1000000), absl::kZeroPad6));
}

absl::Status CheckCodeFormat(const std::string& code) {
  if (code.size() != 6 || !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidField("code", "code must be the six digits that were sent");
  }
  return absl::OkStatus();
}

std::string CodeHash(const auth::Key& key, const std::string& clinic_id, const std::string& contact,
                     const std::string& code) {
  const std::string input = absl::StrCat(clinic_id, "\n", contact, "\n", code);
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                     key.data(), 32);
  return absl::BytesToHexString(std::string(reinterpret_cast<const char*>(out), sizeof out));
}

CodeVerdict JudgeCode(const StoredCode& stored, const std::string& given_hash, absl::Time now, int max_attempts) {
  if (stored.attempts >= max_attempts) return CodeVerdict::kLocked;
  if (stored.used) return CodeVerdict::kUsed;
  if (now >= stored.expires_at) return CodeVerdict::kExpired;
  // Equal-length hex digests: a constant-time comparison.
  if (stored.code_hash.size() != given_hash.size() ||
      sodium_memcmp(stored.code_hash.data(), given_hash.data(), given_hash.size()) != 0) {
    return CodeVerdict::kWrong;
  }
  return CodeVerdict::kOk;
}

absl::Status CodeError(CodeVerdict v) {
  switch (v) {
    case CodeVerdict::kOk:
      return absl::OkStatus();
    case CodeVerdict::kLocked:
      return FieldError(absl::StatusCode::kFailedPrecondition, "code",
                        "too many wrong codes; ask for a new code");
    case CodeVerdict::kUsed:
      return FieldError(absl::StatusCode::kFailedPrecondition, "code", "this code was already used; ask for a new code");
    case CodeVerdict::kExpired:
      return FieldError(absl::StatusCode::kFailedPrecondition, "code", "this code expired; ask for a new code");
    case CodeVerdict::kWrong:
    case CodeVerdict::kNone:
      break;
  }
  return InvalidField("code", "this code is not right");
}

absl::Time ChangeDeadline(absl::Time start, int cutoff_minutes) { return start - absl::Minutes(cutoff_minutes); }

absl::Status CheckChangeAllowed(absl::Time start, int cutoff_minutes, absl::Time now, std::string_view field) {
  if (now > ChangeDeadline(start, cutoff_minutes)) {
    return FieldError(absl::StatusCode::kFailedPrecondition, field,
                      absl::StrCat("the appointment can no longer be changed online (up to ", cutoff_minutes / 60,
                                   " h before it starts); please call the clinic"));
  }
  return absl::OkStatus();
}

std::string DirectDescription(bool new_client) {
  return new_client ? kDirectNewClientDescription : kDirectDescription;
}

std::string ManageSubject(const std::string& clinic_id, const std::string& appointment_id) {
  return absl::StrCat(clinic_id, "/", appointment_id);
}

}  // namespace vetline::booking
