// Request forms, pure: checks of a form's questions and rules as an admin writes them, of
// a visitor's answers against the form, and of who may submit it (eligibility). No
// database, no gRPC; errors name the request field (JSON name) they refuse.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/repeated_field.h"
#include "vetline/booking/v1/request_forms.pb.h"

namespace vetline::booking {

namespace v1 = ::vetline::booking::v1;

inline constexpr int kMaxQuestions = 50;
inline constexpr int kMaxOptions = 30;
inline constexpr size_t kMaxLabelChars = 200;
inline constexpr size_t kMaxOptionChars = 100;
inline constexpr size_t kMaxShortAnswerChars = 200;
inline constexpr size_t kMaxLongAnswerChars = 4000;
inline constexpr int kMaxVisitedWithinMonths = 120;

// A form's questions as an admin sent them (`field` names the list, "questions"): each
// label, kind and options checked and trimmed. A question with an id keeps it when the id
// is one of `existing` (the form's current ids); one without gets a new id.
absl::StatusOr<std::vector<v1::FormQuestion>> CheckQuestions(
    std::string_view field, const google::protobuf::RepeatedPtrField<v1::FormQuestion>& questions,
    const std::set<std::string>& existing);

// visited_within_months in 0..120, named "rules.visitedWithinMonths".
absl::Status CheckRules(const v1::EligibilityRules& rules);

// The answers against the form's questions: every required question answered, no unknown
// or repeated question, text within its length, yes/no and choices among their values.
// Errors name "answers" and say which question (by its label). The result is in the
// form's question order, with the labels as asked; unanswered optional questions left out.
absl::StatusOr<std::vector<v1::FormRequestAnswer>> CheckAnswers(
    const std::vector<v1::FormQuestion>& questions,
    const google::protobuf::RepeatedPtrField<v1::FormAnswer>& answers);

// Who is submitting, as far as the service knows.
struct Applicant {
  bool identified = false;                 // a visitor token or a portal sign-in proved who it is
  bool is_client = false;                  // one of the clinic's clients (identified only)
  std::optional<absl::CivilDay> last_visit;  // the client's last visit, clinic-local day
  bool confirms_camera_and_microphone = false;
};

// OK when `a` may submit a form with `rules` on the clinic-local day `today`; otherwise
// FailedPrecondition naming the rule in its message ("existingClientsOnly",
// "visitedWithinMonths", "requiresCameraAndMicrophone") and, as its field, the request
// field that would change the answer: `identity_field` for who the visitor is
// ("visitorToken"; empty: no field) and "confirmsCameraAndMicrophone".
// A visit on the same day of the month N months ago still counts.
absl::Status CheckEligibility(const v1::EligibilityRules& rules, const Applicant& a, absl::CivilDay today,
                              std::string_view identity_field = "visitorToken");

// True when the rules can only be met by a known client (an unidentified visitor cannot
// submit such a form).
bool NeedsKnownClient(const v1::EligibilityRules& rules);

}  // namespace vetline::booking
