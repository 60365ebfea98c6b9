#include "setpoint/common/decimal.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

namespace setpoint {
namespace {

constexpr std::array<std::int64_t, 19> kPow10 = {
    1LL,
    10LL,
    100LL,
    1000LL,
    10000LL,
    100000LL,
    1000000LL,
    10000000LL,
    100000000LL,
    1000000000LL,
    10000000000LL,
    100000000000LL,
    1000000000000LL,
    10000000000000LL,
    100000000000000LL,
    1000000000000000LL,
    10000000000000000LL,
    100000000000000000LL,
    1000000000000000000LL,
};

Status Overflow() { return Status::BadRequest("decimal value out of range"); }

// units * 10^k, checked; INT64_MIN is never produced, so negation stays safe.
bool ScaleUp(std::int64_t units, int k, std::int64_t& out) {
  if (k < 0 || k >= static_cast<int>(kPow10.size())) return false;
  if (__builtin_mul_overflow(units, kPow10[k], &out)) return false;
  return out != std::numeric_limits<std::int64_t>::min();
}

}  // namespace

Result<Rounding> ParseRounding(std::string_view name) {
  std::string n;
  for (char c : name)
    if (c != '_') n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (n == "halfup") return Rounding::kHalfUp;
  if (n == "halfdown") return Rounding::kHalfDown;
  if (n == "halfeven") return Rounding::kHalfEven;
  if (n == "up") return Rounding::kUp;
  if (n == "down") return Rounding::kDown;
  if (n == "ceiling") return Rounding::kCeiling;
  if (n == "floor") return Rounding::kFloor;
  return Err(Status::BadRequest("unknown rounding mode \"" + std::string(name) +
                                "\": one of HalfUp, HalfDown, HalfEven, Up, Down, Ceiling, Floor"));
}

std::string_view RoundingName(Rounding r) {
  switch (r) {
    case Rounding::kHalfUp:
      return "HalfUp";
    case Rounding::kHalfDown:
      return "HalfDown";
    case Rounding::kHalfEven:
      return "HalfEven";
    case Rounding::kUp:
      return "Up";
    case Rounding::kDown:
      return "Down";
    case Rounding::kCeiling:
      return "Ceiling";
    case Rounding::kFloor:
      return "Floor";
  }
  return "HalfUp";
}

Result<Decimal> Decimal::Parse(std::string_view text) {
  auto bad = [&] { return Err(Status::BadRequest("\"" + std::string(text) + "\" is not a decimal number")); };
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  std::int64_t units = 0;
  int int_digits = 0, scale = 0;
  bool point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (point || int_digits == 0) return bad();
      point = true;
      continue;
    }
    if (c < '0' || c > '9') return bad();
    if (point) {
      if (++scale > kMaxScale)
        return Err(Status::BadRequest("\"" + std::string(text) + "\" has more than " + std::to_string(kMaxScale) +
                                      " digits after the point"));
    } else {
      ++int_digits;
    }
    if (__builtin_mul_overflow(units, 10, &units) || __builtin_add_overflow(units, c - '0', &units))
      return Err(Overflow());
  }
  if (int_digits == 0 || (point && scale == 0)) return bad();
  return Decimal(negative ? -units : units, scale);
}

Result<Decimal> Decimal::rescaled(int scale, Rounding mode) const {
  if (scale < 0 || scale > kMaxScale) return Err(Status::BadRequest("scale out of range"));
  if (scale >= scale_) {
    std::int64_t out = 0;
    if (!ScaleUp(units_, scale - scale_, out)) return Err(Overflow());
    return Decimal(out, scale);
  }
  const std::int64_t div = kPow10[scale_ - scale];
  std::int64_t q = units_ / div;  // toward zero
  const std::int64_t r = units_ % div;
  if (r != 0) {
    const std::int64_t twice = (r < 0 ? -r : r) * 2;  // r < div <= 1e9: no overflow
    const int cmp = twice < div ? -1 : (twice > div ? 1 : 0);
    const int dir = units_ < 0 ? -1 : 1;  // away from zero
    bool away = false;
    switch (mode) {
      case Rounding::kHalfUp:
        away = cmp >= 0;
        break;
      case Rounding::kHalfDown:
        away = cmp > 0;
        break;
      case Rounding::kHalfEven:
        away = cmp > 0 || (cmp == 0 && (q % 2 != 0));
        break;
      case Rounding::kUp:
        away = true;
        break;
      case Rounding::kDown:
        away = false;
        break;
      case Rounding::kCeiling:
        away = dir > 0;
        break;
      case Rounding::kFloor:
        away = dir < 0;
        break;
    }
    if (away) q += dir;
  }
  return Decimal(q, scale);
}

Result<Decimal> Decimal::rounded(int scale, Rounding mode) const {
  if (scale_ <= scale) return *this;
  return rescaled(scale, mode);
}

Result<Decimal> Decimal::Add(const Decimal& a, const Decimal& b) {
  const int scale = std::max(a.scale_, b.scale_);
  std::int64_t x = 0, y = 0, sum = 0;
  if (!ScaleUp(a.units_, scale - a.scale_, x) || !ScaleUp(b.units_, scale - b.scale_, y)) return Err(Overflow());
  if (__builtin_add_overflow(x, y, &sum) || sum == std::numeric_limits<std::int64_t>::min()) return Err(Overflow());
  return Decimal(sum, scale);
}

Result<Decimal> Decimal::Sub(const Decimal& a, const Decimal& b) { return Add(a, b.negated()); }

std::strong_ordering Decimal::compare(const Decimal& other) const {
  const int scale = std::max(scale_, other.scale_);
  std::int64_t x = 0, y = 0;
  if (ScaleUp(units_, scale - scale_, x) && ScaleUp(other.units_, scale - other.scale_, y)) return x <=> y;
  // One side does not fit at the common scale: compare integer parts, then what is left.
  const std::int64_t ai = units_ / kPow10[scale_], bi = other.units_ / kPow10[other.scale_];
  if (ai != bi) return ai <=> bi;
  const std::int64_t af = units_ % kPow10[scale_], bf = other.units_ % kPow10[other.scale_];
  // Both fractions are below 1e9 and fit at scale 9.
  return af * kPow10[kMaxScale - scale_] <=> bf * kPow10[kMaxScale - other.scale_];
}

std::string Decimal::str() const {
  const bool negative = units_ < 0;
  std::string digits = std::to_string(negative ? -units_ : units_);
  if (scale_ > 0) {
    if (static_cast<int>(digits.size()) <= scale_) digits.insert(0, scale_ + 1 - digits.size(), '0');
    digits.insert(digits.size() - scale_, 1, '.');
  }
  return negative ? "-" + digits : digits;
}

Result<Decimal> Decimal::from_json(const boost::json::value& v) {
  if (v.is_string()) return Parse(std::string_view(v.get_string()));
  if (v.is_int64()) return Decimal(v.get_int64(), 0);
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return Decimal(static_cast<std::int64_t>(v.get_uint64()), 0);
  return Err(Status::BadRequest("expected a decimal string"));
}

void DecimalSum::add(const Decimal& d) {
  if (!error_.ok()) return;
  auto s = Decimal::Add(total_, d);
  if (!s) {
    error_ = s.error();
    return;
  }
  total_ = *s;
}

Result<Decimal> DecimalSum::result() const {
  if (!error_.ok()) return Err(error_);
  return total_;
}

int CurrencyMinorDigits(std::string_view code) {
  // ISO 4217's currencies whose minor unit is not two digits (the list as published, current codes).
  static constexpr std::pair<std::string_view, int> kNotTwo[] = {
      {"BHD", 3}, {"BIF", 0}, {"CLF", 4}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"IQD", 3}, {"ISK", 0}, {"JOD", 3},
      {"JPY", 0}, {"KMF", 0}, {"KRW", 0}, {"KWD", 3}, {"LYD", 3}, {"OMR", 3}, {"PYG", 0}, {"RWF", 0}, {"TND", 3},
      {"UGX", 0}, {"UYI", 0}, {"UYW", 4}, {"VND", 0}, {"VUV", 0}, {"XAF", 0}, {"XOF", 0}, {"XPF", 0},
  };
  for (const auto& [c, d] : kNotTwo)
    if (c == code) return d;
  return 2;
}

}  // namespace setpoint
