#include "shardedjob/sharding.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

namespace setpoint::shardedjob {
namespace {

// Java's int arithmetic: wraps.
std::int32_t Wrap(std::int64_t v) { return static_cast<std::int32_t>(static_cast<std::uint32_t>(v)); }

// Math.abs(int): INT32_MIN stays INT32_MIN.
std::int32_t JavaAbs(std::int32_t v) { return v == std::numeric_limits<std::int32_t>::min() ? v : (v < 0 ? -v : v); }

std::vector<std::string> Rotated(const std::vector<std::string>& list, std::int32_t offset) {
  const auto n = static_cast<std::int32_t>(list.size());
  offset %= n;  // Java's %: the sign of the dividend
  if (offset == 0) return list;
  if (offset < 0) offset += n;  // upstream would throw here (see the header)
  std::vector<std::string> out;
  out.reserve(list.size());
  for (std::int32_t i = 0; i < n; ++i) out.push_back(list[(i + offset) % n]);
  return out;
}

Assignment Average(const std::vector<std::string>& instances, int total) {
  Assignment out;
  if (instances.empty()) return out;
  const int n = static_cast<int>(instances.size());
  const int per = total / n;
  for (int i = 0; i < n; ++i) {
    std::vector<int> items;
    for (int j = i * per; j < (i + 1) * per; ++j) items.push_back(j);
    out.emplace_back(instances[i], std::move(items));
  }
  // The tail items, one each, to the first instances.
  for (int i = 0; i < total % n; ++i) out[i].second.push_back(per * n + i);
  return out;
}

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::int32_t JavaStringHashCode(std::string_view s) {
  std::int32_t h = 0;
  auto add = [&](std::uint32_t unit) { h = Wrap(static_cast<std::int64_t>(h) * 31 + unit); };
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp = c;
    std::size_t len = 1;
    if (c >= 0xF0 && c < 0xF8) {
      cp = c & 0x07, len = 4;
    } else if (c >= 0xE0) {
      cp = c & 0x0F, len = 3;
    } else if (c >= 0xC0) {
      cp = c & 0x1F, len = 2;
    }
    bool valid = c < 0x80 || (len > 1 && i + len <= s.size() && c < 0xF8);
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!valid) {
      add(c);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {  // a surrogate pair
      cp -= 0x10000;
      add(0xD800 + (cp >> 10));
      add(0xDC00 + (cp & 0x3FF));
    } else {
      add(cp);
    }
    i += len;
  }
  return h;
}

Result<Strategy> ParseStrategy(std::string_view name) {
  if (name.empty() || name == "AVG_ALLOCATION") return Strategy::kAvgAllocation;
  if (name == "ODEVITY") return Strategy::kOdevity;
  if (name == "ROUND_ROBIN") return Strategy::kRoundRobin;
  if (name == "SINGLE_SHARDING_BALANCE") return Strategy::kSingleShardingBalance;
  return Err(Status::BadRequest("Can not find sharding strategy type '" + std::string(name) + "'."));
}

std::string_view StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kAvgAllocation:
      return "AVG_ALLOCATION";
    case Strategy::kOdevity:
      return "ODEVITY";
    case Strategy::kRoundRobin:
      return "ROUND_ROBIN";
    case Strategy::kSingleShardingBalance:
      return "SINGLE_SHARDING_BALANCE";
  }
  return "AVG_ALLOCATION";
}

std::vector<std::string> RegistryOrder(std::vector<std::string> instances) {
  std::sort(instances.begin(), instances.end(), std::greater<>());
  return instances;
}

Assignment Shard(Strategy strategy, const std::vector<std::string>& instances, std::string_view job_name, int total,
                 std::int64_t now_millis) {
  if (instances.empty()) return {};
  const std::int32_t h = JavaStringHashCode(job_name);
  const auto n = static_cast<std::int32_t>(instances.size());
  switch (strategy) {
    case Strategy::kAvgAllocation:
      return Average(instances, total);
    case Strategy::kOdevity: {
      if (h % 2 != 0) return Average(instances, total);  // odd, negative odd included (-1 % 2 == -1)
      std::vector<std::string> reversed(instances.rbegin(), instances.rend());
      return Average(reversed, total);
    }
    case Strategy::kRoundRobin:
      return Average(Rotated(instances, JavaAbs(h) % n), total);
    case Strategy::kSingleShardingBalance: {
      const std::int32_t sum = Wrap(static_cast<std::int64_t>(h) + Wrap(now_millis));  // (int) currentTimeMillis
      return Average(Rotated(instances, JavaAbs(sum) % n), total);
    }
  }
  return Average(instances, total);
}

namespace {

// Java's String.split on one character: the pieces, trailing empty ones dropped.
std::vector<std::string> JavaSplit(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t at = s.find(sep, from);
    out.emplace_back(s.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
    if (at == std::string_view::npos) break;
    from = at + 1;
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

// Integer.parseInt: an optional sign and decimal digits, within int.
std::optional<int> JavaParseInt(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<std::map<int, std::string>> ParseShardingItemParameters(std::string_view text) {
  std::map<int, std::string> out;
  if (text.empty()) return out;
  for (const auto& entry : JavaSplit(text, ',')) {
    const auto pair = JavaSplit(Trim(entry), '=');
    if (pair.size() != 2)
      return Err(Status::BadRequest("Sharding item parameters '" + std::string(text) +
                                    "' format error, should be int=xx,int=xx"));
    auto item = JavaParseInt(Trim(pair[0]));
    if (!item) return Err(Status::BadRequest("Sharding item parameters key '" + pair[0] + "' is not an integer."));
    out[*item] = Trim(pair[1]);
  }
  return out;
}

}  // namespace setpoint::shardedjob
