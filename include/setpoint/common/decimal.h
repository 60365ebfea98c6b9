// Decimal: an exact decimal number for money, as the API writes it ("1234.56", "-0.5"): an
// integer of units and a scale (digits after the point), never binary floating point. Arithmetic
// is checked: a result that does not fit in 64 bits of units is an error, not a wrap.
//
//   auto a = Decimal::Parse("10.005");            // units 10005, scale 3
//   auto r = a->rounded(2, Rounding::kHalfUp);    // 10.01
//   auto sum = Decimal::Add(*r, *Decimal::Parse("-0.5"));   // 9.51 (scale 2)
//
// The scale is part of the value's text ("10.00" stays "10.00") but not of its identity:
// 10.00 == 10 and compare() orders by value. Scales go up to kMaxScale (9).
//
// Thread-compatible value type.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "setpoint/common/status.h"

namespace setpoint {

// Java's RoundingMode, as OFBiz names its rounding settings (HalfUp is its default).
enum class Rounding { kHalfUp, kHalfDown, kHalfEven, kUp, kDown, kCeiling, kFloor };

// "HalfUp", "HalfDown", "HalfEven", "Up", "Down", "Ceiling", "Floor" (OFBiz's and Java's
// HALF_UP, ... are accepted too); BadRequest otherwise.
Result<Rounding> ParseRounding(std::string_view name);
std::string_view RoundingName(Rounding r);

class Decimal {
 public:
  static constexpr int kMaxScale = 9;

  Decimal() = default;
  static Decimal FromUnits(std::int64_t units, int scale) { return Decimal(units, scale); }

  // "-12.340", "0", "+7.5": an optional sign, 1 to 19 digits, an optional point and 1 to
  // kMaxScale digits. BadRequest on anything else or on a value that does not fit.
  static Result<Decimal> Parse(std::string_view text);

  std::int64_t units() const { return units_; }
  int scale() const { return scale_; }
  bool is_zero() const { return units_ == 0; }
  int sign() const { return units_ > 0 ? 1 : (units_ < 0 ? -1 : 0); }

  // The same value with `scale` digits after the point: exact when scale grows (BadRequest when
  // it no longer fits), rounded by `mode` when it shrinks.
  Result<Decimal> rescaled(int scale, Rounding mode = Rounding::kHalfUp) const;
  // Rounded to at most `scale` digits (a value with fewer digits keeps its own scale).
  Result<Decimal> rounded(int scale, Rounding mode) const;

  // Exact sums and differences at the larger of the two scales; BadRequest on overflow.
  static Result<Decimal> Add(const Decimal& a, const Decimal& b);
  static Result<Decimal> Sub(const Decimal& a, const Decimal& b);
  Decimal negated() const { return Decimal(-units_, scale_); }  // units_ is never INT64_MIN
  Decimal abs() const { return units_ < 0 ? negated() : *this; }

  // By value: 1.50 == 1.5.
  std::strong_ordering compare(const Decimal& other) const;
  friend bool operator==(const Decimal& a, const Decimal& b) { return a.compare(b) == 0; }
  friend std::strong_ordering operator<=>(const Decimal& a, const Decimal& b) { return a.compare(b); }

  // "-12.340": every digit of the scale written.
  std::string str() const;

  // The codec's hooks: a JSON string (a JSON number is read too, by its text).
  boost::json::value to_json() const { return boost::json::value(str()); }
  static Result<Decimal> from_json(const boost::json::value& v);

 private:
  Decimal(std::int64_t units, int scale) : units_(units), scale_(scale) {}
  std::int64_t units_ = 0;
  int scale_ = 0;
};

// A running sum that stays exact; the first overflow sticks and is reported by result().
class DecimalSum {
 public:
  void add(const Decimal& d);
  void sub(const Decimal& d) { add(d.negated()); }
  Result<Decimal> result() const;
  bool ok() const { return error_.ok(); }

 private:
  Decimal total_;
  Status error_;
};

// ISO 4217: how many digits a currency's minor unit has (JPY 0, EUR 2, BHD 3, CLF 4); 2 for a
// code this table does not list.
int CurrencyMinorDigits(std::string_view iso4217);

}  // namespace setpoint
