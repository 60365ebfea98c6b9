// String formats of the OpenAPI validator (kube-openapi's strfmt registry), checked loosely
// where upstream is loose (email, hostname, uri).
#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <string>

#include "api/schema_node.h"

namespace setpoint::api::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Reads exactly n digits at s[pos] into out.
bool Digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!IsDigit(s[pos + i])) return false;
    out = out * 10 + (s[pos + i] - '0');
  }
  pos += n;
  return true;
}

bool Expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

bool ParseDate(std::string_view s, std::size_t& pos) {
  int y = 0, m = 0, d = 0;
  if (!Digits(s, pos, 4, y) || !Expect(s, pos, '-') || !Digits(s, pos, 2, m) || !Expect(s, pos, '-') ||
      !Digits(s, pos, 2, d)) {
    return false;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

// RFC 3339 date-time, plus the reduced forms strfmt accepts (no seconds, no offset).
bool IsDateTime(std::string_view s) {
  std::size_t pos = 0;
  if (!ParseDate(s, pos)) return false;
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return false;
  ++pos;
  int h = 0, mi = 0, sec = 0;
  if (!Digits(s, pos, 2, h) || !Expect(s, pos, ':') || !Digits(s, pos, 2, mi) || h > 23 || mi > 59) return false;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!Digits(s, pos, 2, sec) || sec > 60) return false;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      std::size_t start = pos;
      while (pos < s.size() && IsDigit(s[pos])) ++pos;
      if (pos == start) return false;
    }
  }
  if (pos == s.size()) return true;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size();
  if (s[pos] != '+' && s[pos] != '-') return false;
  ++pos;
  int oh = 0, om = 0;
  return Digits(s, pos, 2, oh) && Expect(s, pos, ':') && Digits(s, pos, 2, om) && oh <= 23 && om <= 59 &&
         pos == s.size();
}

bool IsDate(std::string_view s) {
  std::size_t pos = 0;
  return ParseDate(s, pos) && pos == s.size();
}

// strfmt's UUID pattern: 32 hex digits in 8-4-4-4-12 groups, dashes optional, any case.
bool IsUuid(std::string_view s, char version) {
  std::string hex;
  static constexpr std::size_t kDashAt[] = {8, 12, 16, 20};
  std::size_t group = 0;
  for (char c : s) {
    if (c == '-') {
      if (group >= 4 || hex.size() != kDashAt[group]) return false;
      ++group;
      continue;
    }
    if (!IsHex(c)) return false;
    while (group < 4 && hex.size() > kDashAt[group]) ++group;
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 32) return false;
  if (version == 0) return true;
  char variant = hex[16];
  return hex[12] == version && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

bool IsBase64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  }
  return pad <= 2;
}

bool IsHostname(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  if (s.back() == '.') s.remove_suffix(1);
  while (true) {
    auto dot = s.find('.');
    std::string_view label = s.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

bool IsEmail(std::string_view s) {
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '<' || c == '>') return false;
  }
  return true;
}

bool IsIp(std::string_view s, int family) {
  if (s.size() > 64) return false;
  std::string z(s);
  unsigned char buf[16];
  return inet_pton(family, z.c_str(), buf) == 1;
}

bool IsCidr(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view ip = s.substr(0, slash);
  std::string_view bits = s.substr(slash + 1);
  int n = -1;
  auto res = std::from_chars(bits.data(), bits.data() + bits.size(), n);
  if (res.ec != std::errc() || res.ptr != bits.data() + bits.size() || bits.empty()) return false;
  if (IsIp(ip, AF_INET)) return n >= 0 && n <= 32;
  return IsIp(ip, AF_INET6) && n >= 0 && n <= 128;
}

bool IsMac(std::string_view s) {
  // xx:xx:..., xx-xx-... (6, 8 or 20 octets) or xxxx.xxxx.xxxx forms, as net.ParseMAC.
  for (char sep : {':', '-'}) {
    if ((s.size() + 1) % 3 != 0) break;
    std::size_t octets = (s.size() + 1) / 3;
    if (octets != 6 && octets != 8 && octets != 20) break;
    bool ok = true;
    for (std::size_t i = 0; i < s.size() && ok; ++i) ok = (i % 3 == 2) ? s[i] == sep : IsHex(s[i]);
    if (ok) return true;
  }
  if ((s.size() + 1) % 5 == 0) {
    std::size_t groups = (s.size() + 1) / 5;
    if (groups != 3 && groups != 4 && groups != 10) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i % 5 == 4 ? s[i] != '.' : !IsHex(s[i])) return false;
    }
    return true;
  }
  return false;
}

bool IsUri(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) return false;
  }
  if (s.front() == '/') return true;
  auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !std::isalpha(static_cast<unsigned char>(s.front())))
    return false;
  for (char c : s.substr(0, colon)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

bool IsHexColor(std::string_view s) {
  if (!s.empty() && s.front() == '#') s.remove_prefix(1);
  if (s.size() != 3 && s.size() != 6) return false;
  for (char c : s) {
    if (!IsHex(c)) return false;
  }
  return true;
}

}  // namespace

bool CheckStringFormat(std::string_view format, std::string_view s) {
  if (format == "date-time" || format == "datetime") return IsDateTime(s);
  if (format == "date") return IsDate(s);
  if (format == "byte") return IsBase64(s);
  if (format == "uuid") return IsUuid(s, 0);
  if (format == "uuid3") return IsUuid(s, '3');
  if (format == "uuid4") return IsUuid(s, '4');
  if (format == "uuid5") return IsUuid(s, '5');
  if (format == "email") return IsEmail(s);
  if (format == "hostname") return IsHostname(s);
  if (format == "ipv4") return IsIp(s, AF_INET);
  if (format == "ipv6") return IsIp(s, AF_INET6);
  if (format == "cidr") return IsCidr(s);
  if (format == "mac") return IsMac(s);
  if (format == "uri") return IsUri(s);
  if (format == "hexcolor") return IsHexColor(s);
  return true;  // int32, int64, float, double apply to numbers; unknown formats are ignored
}

}  // namespace setpoint::api::internal
