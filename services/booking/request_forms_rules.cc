#include "services/booking/request_forms_rules.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/ids.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/core/validate_enum.h"

namespace vetline::booking {
namespace {

constexpr char kAnswers[] = "answers";

// Characters of UTF-8 text (the caller checked it is UTF-8).
size_t Chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Long answers keep line breaks and tabs; other control characters are refused.
absl::StatusOr<std::string> LongText(const std::string& label, const std::string& value) {
  std::string v(absl::StripAsciiWhitespace(value));
  if (!validate::IsUtf8(v)) return InvalidField(kAnswers, absl::StrCat("the answer to \"", label, "\" is not valid UTF-8"));
  for (unsigned char c : v) {
    if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F) {
      return InvalidField(kAnswers, absl::StrCat("the answer to \"", label, "\" contains control characters"));
    }
  }
  if (Chars(v) > kMaxLongAnswerChars) {
    return InvalidField(kAnswers, absl::StrCat("the answer to \"", label, "\" is longer than ", kMaxLongAnswerChars,
                                               " characters"));
  }
  return v;
}

// One checked answer value, or an error naming the question.
absl::StatusOr<std::string> AnswerValue(const v1::FormQuestion& q, const std::string& value) {
  switch (q.kind()) {
    case v1::SHORT_TEXT: {
      auto v = validate::Name(kAnswers, value, kMaxShortAnswerChars);
      if (!v.ok()) {
        return InvalidField(kAnswers, absl::StrCat("the answer to \"", q.label(), "\" must be one line of at most ",
                                                   kMaxShortAnswerChars, " characters"));
      }
      return *v;
    }
    case v1::LONG_TEXT:
      return LongText(q.label(), value);
    case v1::YES_NO: {
      std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
      if (v != "yes" && v != "no") {
        return InvalidField(kAnswers, absl::StrCat("the answer to \"", q.label(), "\" must be yes or no"));
      }
      return v;
    }
    case v1::CHOICE:
      for (const std::string& o : q.options()) {
        if (o == value) return value;
      }
      return InvalidField(kAnswers, absl::StrCat("the answer to \"", q.label(), "\" must be one of its options"));
    default:
      return absl::InternalError("a stored question has no kind");
  }
}

}  // namespace

absl::StatusOr<std::vector<v1::FormQuestion>> CheckQuestions(
    std::string_view field, const google::protobuf::RepeatedPtrField<v1::FormQuestion>& questions,
    const std::set<std::string>& existing) {
  if (questions.size() > kMaxQuestions) {
    return InvalidField(field, absl::StrCat("a form has at most ", kMaxQuestions, " questions"));
  }
  std::vector<v1::FormQuestion> out;
  std::set<std::string> ids, labels;
  for (int i = 0; i < questions.size(); ++i) {
    const v1::FormQuestion& in = questions[i];
    const std::string at = absl::StrCat(std::string(field), "[", i, "]");
    v1::FormQuestion q;
    if (in.id().empty()) {
      q.set_id(NewUuid());
    } else if (!existing.count(in.id())) {
      return NotFoundField(absl::StrCat(at, ".id"), "no question with this id in the form (leave it empty for a new one)");
    } else if (!ids.insert(in.id()).second) {
      return InvalidField(absl::StrCat(at, ".id"), "a question is listed twice");
    } else {
      q.set_id(in.id());
    }
    VL_ASSIGN_OR_RETURN(std::string label, validate::Name(absl::StrCat(at, ".label"), in.label(), kMaxLabelChars));
    if (!labels.insert(absl::AsciiStrToLower(label)).second) {
      return InvalidField(absl::StrCat(at, ".label"), "two questions have the same label");
    }
    q.set_label(label);
    VL_RETURN_IF_ERROR(validate::Enum(absl::StrCat(at, ".kind"), in.kind()));
    q.set_kind(in.kind());
    q.set_required(in.required());
    if (in.kind() == v1::CHOICE) {
      if (in.options_size() < 2 || in.options_size() > kMaxOptions) {
        return InvalidField(absl::StrCat(at, ".options"), absl::StrCat("a choice has 2 to ", kMaxOptions, " options"));
      }
      std::set<std::string> seen;
      for (const std::string& o : in.options()) {
        VL_ASSIGN_OR_RETURN(std::string option, validate::Name(absl::StrCat(at, ".options"), o, kMaxOptionChars));
        if (!seen.insert(option).second) return InvalidField(absl::StrCat(at, ".options"), "an option is listed twice");
        q.add_options(option);
      }
    } else if (in.options_size() > 0) {
      return InvalidField(absl::StrCat(at, ".options"), "only a choice question has options");
    }
    out.push_back(std::move(q));
  }
  return out;
}

absl::Status CheckRules(const v1::EligibilityRules& rules) {
  if (rules.visited_within_months() < 0 || rules.visited_within_months() > kMaxVisitedWithinMonths) {
    return InvalidField("rules.visitedWithinMonths",
                        absl::StrCat("visitedWithinMonths must be 0 (no rule) to ", kMaxVisitedWithinMonths));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::FormRequestAnswer>> CheckAnswers(
    const std::vector<v1::FormQuestion>& questions,
    const google::protobuf::RepeatedPtrField<v1::FormAnswer>& answers) {
  if (answers.size() > static_cast<int>(questions.size())) {
    return InvalidField(kAnswers, "more answers than the form has questions");
  }
  std::map<std::string, const v1::FormAnswer*> by_question;
  for (const v1::FormAnswer& a : answers) {
    bool known = false;
    for (const v1::FormQuestion& q : questions) known = known || q.id() == a.question_id();
    if (!known) return NotFoundField(kAnswers, "an answer names a question the form does not have (reload the form)");
    if (!by_question.emplace(a.question_id(), &a).second) return InvalidField(kAnswers, "a question is answered twice");
  }
  std::vector<v1::FormRequestAnswer> out;
  for (const v1::FormQuestion& q : questions) {
    auto it = by_question.find(q.id());
    const bool blank = it == by_question.end() || absl::StripAsciiWhitespace(it->second->value()).empty();
    if (blank) {
      if (q.required()) return InvalidField(kAnswers, absl::StrCat("\"", q.label(), "\" must be answered"));
      continue;
    }
    VL_ASSIGN_OR_RETURN(std::string value, AnswerValue(q, it->second->value()));
    v1::FormRequestAnswer& a = out.emplace_back();
    a.set_question_id(q.id());
    a.set_label(q.label());
    a.set_value(std::move(value));
  }
  return out;
}

bool NeedsKnownClient(const v1::EligibilityRules& rules) {
  return rules.existing_clients_only() || rules.visited_within_months() > 0;
}

absl::Status CheckEligibility(const v1::EligibilityRules& rules, const Applicant& a, absl::CivilDay today,
                              std::string_view identity_field) {
  auto refused = [](std::string_view field, std::string_view message) {
    return field.empty() ? absl::FailedPreconditionError(std::string(message))
                         : FieldError(absl::StatusCode::kFailedPrecondition, field, message);
  };
  if (NeedsKnownClient(rules) && !a.identified) {
    return refused(identity_field,
                   absl::StrCat("this form is for the clinic's existing clients (rule ",
                                rules.existing_clients_only() ? "existingClientsOnly" : "visitedWithinMonths",
                                "): confirm your phone or email first, or sign in"));
  }
  if (rules.existing_clients_only() && !a.is_client) {
    return refused(identity_field, "this form is for the clinic's existing clients only (rule existingClientsOnly)");
  }
  if (rules.visited_within_months() > 0) {
    // The same day of the month N months back, or the month's last day when it is shorter.
    const absl::CivilMonth month = absl::CivilMonth(today) - rules.visited_within_months();
    const absl::CivilDay last_of_month = absl::CivilDay(month + 1) - 1;
    absl::CivilDay cutoff(month.year(), month.month(), today.day());
    if (cutoff.month() != month.month()) cutoff = last_of_month;  // absl normalised into the next month
    if (!a.is_client || !a.last_visit || *a.last_visit < cutoff) {
      return refused(identity_field,
                     absl::StrCat("this form needs a visit to the clinic within the last ", rules.visited_within_months(),
                                  rules.visited_within_months() == 1 ? " month" : " months",
                                  " (rule visitedWithinMonths)"));
    }
  }
  if (rules.requires_camera_and_microphone() && !a.confirms_camera_and_microphone) {
    return refused("confirmsCameraAndMicrophone",
                   "this form needs a device with a camera and a microphone: confirm you have one "
                   "(rule requiresCameraAndMicrophone)");
  }
  return absl::OkStatus();
}

}  // namespace vetline::booking
