#include "api/json_util.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace setpoint::api::internal {
namespace json = boost::json;

namespace {

constexpr double kTwo63 = 9223372036854775808.0;   // 2^63
constexpr double kTwo64 = 18446744073709551616.0;  // 2^64

bool DoubleEqualsInt(double d, std::int64_t i) {
  if (!std::isfinite(d) || d != std::floor(d) || d < -kTwo63 || d >= kTwo63) return false;
  return static_cast<std::int64_t>(d) == i;
}

bool DoubleEqualsUint(double d, std::uint64_t u) {
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d >= kTwo64) return false;
  return static_cast<std::uint64_t>(d) == u;
}

bool NumbersEqual(const json::value& a, const json::value& b) {
  if (a.is_int64()) {
    if (b.is_int64()) return a.get_int64() == b.get_int64();
    if (b.is_uint64()) return a.get_int64() >= 0 && static_cast<std::uint64_t>(a.get_int64()) == b.get_uint64();
    return DoubleEqualsInt(b.get_double(), a.get_int64());
  }
  if (a.is_uint64()) {
    if (b.is_uint64()) return a.get_uint64() == b.get_uint64();
    if (b.is_int64()) return NumbersEqual(b, a);
    return DoubleEqualsUint(b.get_double(), a.get_uint64());
  }
  if (b.is_double()) return a.get_double() == b.get_double();
  return NumbersEqual(b, a);
}

bool IsNumber(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

// Shortest round-trip decimal digits of |d| and the decimal exponent of the first digit, so
// that |d| = 0.d1d2d3... * 10^(exp+1).
void ShortestDigits(double d, std::string& digits, int& exp) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(res.ptr - buf));
  auto e = s.find('e');
  digits.clear();
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  exp = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exp);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
}

std::string FormatFixed(const std::string& digits, int exp) {
  std::string out;
  if (exp < 0) {
    out = "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  auto int_len = static_cast<std::size_t>(exp) + 1;
  if (digits.size() <= int_len) {
    out = digits;
    out.append(int_len - digits.size(), '0');
  } else {
    out = digits.substr(0, int_len) + "." + digits.substr(int_len);
  }
  return out;
}

std::string FormatExp(const std::string& digits, int exp, bool two_digit_exp) {
  std::string out(1, digits[0]);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += 'e';
  out += exp < 0 ? '-' : '+';
  int a = exp < 0 ? -exp : exp;
  if (two_digit_exp && a < 10) out += '0';
  out += std::to_string(a);
  return out;
}

// Go renders non-finite floats as +Inf, -Inf and NaN; Boost.JSON never holds them, but keep
// the formatter total.
std::string NonFinite(double d) {
  if (std::isnan(d)) return "NaN";
  return d > 0 ? "+Inf" : "-Inf";
}

void AppendGoJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string GoJsonFloat(double d) {
  if (!std::isfinite(d)) return NonFinite(d);
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  std::string digits;
  int exp = 0;
  ShortestDigits(d, digits, exp);
  double a = std::fabs(d);
  std::string body = (a < 1e-6 || a >= 1e21) ? FormatExp(digits, exp, false) : FormatFixed(digits, exp);
  return d < 0 ? "-" + body : body;
}

void AppendGoJson(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      out += std::to_string(v.get_int64());
      break;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      break;
    case json::kind::double_:
      out += GoJsonFloat(v.get_double());
      break;
    case json::kind::string:
      AppendGoJsonString(out, v.get_string());
      break;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        AppendGoJson(out, e);
      }
      out += ']';
      break;
    }
    case json::kind::object: {
      std::vector<const json::key_value_pair*> kvs;
      for (const auto& kv : v.get_object()) kvs.push_back(&kv);
      std::sort(kvs.begin(), kvs.end(), [](auto* x, auto* y) { return x->key() < y->key(); });
      out += '{';
      bool first = true;
      for (const auto* kv : kvs) {
        if (!first) out += ',';
        first = false;
        AppendGoJsonString(out, kv->key());
        out += ':';
        AppendGoJson(out, kv->value());
      }
      out += '}';
      break;
    }
  }
}

void AppendCanonical(std::string& out, const json::value& v) {
  if (IsNumber(v) && IsIntegral(v)) {
    if (v.is_double()) {
      double d = v.get_double();
      if (d >= -kTwo63 && d < kTwo63) {
        out += std::to_string(static_cast<std::int64_t>(d));
        return;
      }
      if (d >= 0 && d < kTwo64) {
        out += std::to_string(static_cast<std::uint64_t>(d));
        return;
      }
    }
  }
  switch (v.kind()) {
    case json::kind::array:
      out += '[';
      for (const auto& e : v.get_array()) {
        AppendCanonical(out, e);
        out += ',';
      }
      out += ']';
      return;
    case json::kind::object: {
      std::vector<const json::key_value_pair*> kvs;
      for (const auto& kv : v.get_object()) kvs.push_back(&kv);
      std::sort(kvs.begin(), kvs.end(), [](auto* x, auto* y) { return x->key() < y->key(); });
      out += '{';
      for (const auto* kv : kvs) {
        AppendGoJsonString(out, kv->key());
        out += ':';
        AppendCanonical(out, kv->value());
        out += ',';
      }
      out += '}';
      return;
    }
    default:
      AppendGoJson(out, v);
  }
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
std::size_t DecodeUtf8(std::string_view s, std::size_t i, char32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  if (len == 1) {
    cp = c;
    return 1;
  }
  cp = c & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

bool JsonEqual(const json::value& a, const json::value& b) {
  if (IsNumber(a) && IsNumber(b)) return NumbersEqual(a, b);
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::array: {
      const auto& x = a.get_array();
      const auto& y = b.get_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!JsonEqual(x[i], y[i])) return false;
      }
      return true;
    }
    case json::kind::object: {
      const auto& x = a.get_object();
      const auto& y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& kv : x) {
        const auto* other = y.if_contains(kv.key());
        if (other == nullptr || !JsonEqual(kv.value(), *other)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

std::string CanonicalKey(const json::value& v) {
  std::string out;
  AppendCanonical(out, v);
  return out;
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    std::size_t len = DecodeUtf8(s, i, cp);
    char buf[16];
    if (len == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (cp < 0x20 || cp == 0x7F) {
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
          out += buf;
        } else if ((cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF) {
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
          out += buf;
        } else {
          out.append(s.substr(i, len));
        }
    }
    i += len;
  }
  out += '"';
  return out;
}

std::string GoFloat(double d) {
  if (!std::isfinite(d)) return NonFinite(d);
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  std::string digits;
  int exp = 0;
  ShortestDigits(d, digits, exp);
  std::string body = (exp < -4 || exp >= 21) ? FormatExp(digits, exp, true) : FormatFixed(digits, exp);
  return d < 0 ? "-" + body : body;
}

std::string GoJson(const json::value& v) {
  std::string out;
  AppendGoJson(out, v);
  return out;
}

std::string GoValue(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return GoQuote(v.get_string());
    case json::kind::double_:
      return GoFloat(v.get_double());
    default:
      return GoJson(v);
  }
}

std::string_view JsonTypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
      return "integer";
    case json::kind::uint64:  // beyond int64: Go decodes it as a float64, a "number"
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "null";
}

std::size_t CountCodePoints(std::string_view s) {
  std::size_t n = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    std::size_t len = DecodeUtf8(s, i, cp);
    i += len == 0 ? 1 : len;
    ++n;
  }
  return n;
}

bool IsIntegral(const json::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  if (!v.is_double()) return false;
  double d = v.get_double();
  return std::isfinite(d) && d == std::floor(d);
}

double AsDouble(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return 0;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::size_t CountNodes(const boost::json::value& v, std::size_t limit) {
  std::size_t n = 1;
  if (const auto* a = v.if_array()) {
    for (const auto& e : *a) {
      if (n > limit) break;
      n += CountNodes(e, limit - n);
    }
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) {
      if (n > limit) break;
      n += CountNodes(kv.value(), limit - n);
    }
  }
  return n;
}

}  // namespace setpoint::api::internal
