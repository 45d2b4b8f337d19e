#include "services/payments/money.h"


#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"

namespace vetline::payments {
namespace {

// Currencies whose smallest unit is the major unit (Stripe's "zero-decimal" list), and
// those with three decimals; every other settled currency has two.
constexpr std::string_view kZeroDecimal[] = {"bif", "clp", "djf", "gnf", "jpy", "kmf",
                                                           "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                                                           "vuv", "xaf", "xof", "xpf"};
constexpr std::string_view kThreeDecimal[] = {"bhd", "jod", "kwd", "omr", "tnd"};
constexpr std::string_view kTwoDecimal[] = {
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bmd",
    "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "cny", "cop", "crc", "cve", "czk",
    "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gtq", "gyd", "hkd",
    "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "kes", "kgs", "khr", "kyd", "kzt", "lak", "lbp",
    "lkr", "lrd", "lsl", "mad", "mdl", "mkd", "mmk", "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn",
    "nad", "ngn", "nio", "nok", "npr", "nzd", "pab", "pen", "pgk", "php", "pkr", "pln", "qar", "ron", "rsd",
    "rub", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std", "szl", "thb", "tjs", "top",
    "try", "ttd", "twd", "tzs", "uah", "usd", "uyu", "uzs", "wst", "xcd", "yer", "zar", "zmw", "ssp"};

template <size_t N>
bool In(const std::string_view (&list)[N], std::string_view code) {
  for (std::string_view c : list) {
    if (c == code) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<Currency> FindCurrency(std::string_view code, std::string_view field) {
  const std::string lower = absl::AsciiStrToLower(std::string(code));
  if (In(kZeroDecimal, lower)) return Currency{lower, 0};
  if (In(kThreeDecimal, lower)) return Currency{lower, 3};
  if (In(kTwoDecimal, lower)) return Currency{lower, 2};
  if (code.empty()) return InvalidField(field, "a currency is required (ISO 4217, e.g. usd)");
  return InvalidField(field, "not a currency payments can be taken in (ISO 4217, e.g. usd)");
}

absl::Status CheckAmount(int64_t minor_units, std::string_view field) {
  if (minor_units <= 0) return InvalidField(field, "the amount must be more than zero");
  if (minor_units > kMaxMinorUnits) return InvalidField(field, "the amount is larger than one payment may be");
  return absl::OkStatus();
}

absl::Status CheckStep(int64_t minor_units, const Currency& currency, std::string_view field) {
  if (currency.exponent == 3 && minor_units % 10 != 0) {
    return InvalidField(field, absl::StrCat(absl::AsciiStrToUpper(currency.code),
                                            " amounts are taken in steps of 0.010 (the last digit 0)"));
  }
  return absl::OkStatus();
}

std::string FormatAmount(int64_t minor_units, const Currency& currency) {
  const std::string sign = minor_units < 0 ? "-" : "";
  const uint64_t units = static_cast<uint64_t>(minor_units < 0 ? -minor_units : minor_units);
  const std::string code = absl::AsciiStrToUpper(currency.code);
  if (currency.exponent == 0) return absl::StrCat(sign, units, " ", code);
  uint64_t scale = 1;
  for (int i = 0; i < currency.exponent; ++i) scale *= 10;
  std::string fraction = std::to_string(units % scale);
  fraction.insert(0, currency.exponent - fraction.size(), '0');
  return absl::StrCat(sign, units / scale, ".", fraction, " ", code);
}

}  // namespace vetline::payments
