#include "shardedjob/zone.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

namespace setpoint::shardedjob {
namespace {

std::int64_t BigEndian(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+')) return false;
  return true;
}

}  // namespace

TimeZone TimeZone::Utc() {
  TimeZone z;
  z.name_ = "UTC";
  return z;
}

Result<TimeZone> TimeZone::Load(std::string_view name, const std::string& zoneinfo_dir) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return Utc();
  auto unknown = [&] { return Err(Status::BadRequest("unknown time zone \"" + std::string(name) + "\"")); };
  if (!ValidName(name)) return unknown();
  std::ifstream in(zoneinfo_dir + "/" + std::string(name), std::ios::binary);
  if (!in) return unknown();
  const std::vector<unsigned char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // RFC 8536: a v1 block with 32-bit times, then (version 2 and later) one with 64-bit times.
  auto header = [&](std::size_t at, std::int64_t(&counts)[6]) {
    if (data.size() < at + 44 || std::string_view(reinterpret_cast<const char*>(&data[at]), 4) != "TZif") return false;
    for (int i = 0; i < 6; ++i) counts[i] = BigEndian(&data[at + 20 + 4 * i], 4);
    return true;
  };
  std::int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  if (!header(0, c)) return unknown();
  std::size_t at = 44;
  int time_size = 4;
  if (data[4] >= '2') {
    at += c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (!header(at, c)) return unknown();
    at += 44;
    time_size = 8;
  }
  const std::int64_t timecnt = c[3], typecnt = c[4];
  if (typecnt < 1 || data.size() < at + timecnt * (time_size + 1) + typecnt * 6) return unknown();
  std::vector<std::int32_t> type_offsets;
  std::vector<bool> type_dst;
  const std::size_t types_at = at + timecnt * (time_size + 1);
  for (std::int64_t i = 0; i < typecnt; ++i) {
    type_offsets.push_back(static_cast<std::int32_t>(BigEndian(&data[types_at + 6 * i], 4)));
    type_dst.push_back(data[types_at + 6 * i + 4] != 0);
  }
  TimeZone z;
  z.name_ = std::string(name);
  for (std::int64_t i = 0; i < timecnt; ++i) {
    z.transitions_.push_back(BigEndian(&data[at + time_size * i], time_size));
    const unsigned idx = data[at + time_size * timecnt + i];
    if (idx >= type_offsets.size()) return unknown();
    z.offsets_.push_back(type_offsets[idx]);
  }
  // Before the first transition: the first standard-time type (RFC 8536 §3.2), else type 0.
  z.initial_offset_ = type_offsets[0];
  for (std::size_t i = 0; i < type_offsets.size(); ++i)
    if (!type_dst[i]) {
      z.initial_offset_ = type_offsets[i];
      break;
    }
  return z;
}

std::int32_t TimeZone::offset_at(std::int64_t utc) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<std::size_t>(it - transitions_.begin()) - 1];
}

std::vector<std::int64_t> TimeZone::instants_of(std::int64_t local) const {
  // Every offset in force within a day of it is a candidate; the instants it gives that really
  // have that offset are the answers.
  std::set<std::int32_t> candidates = {offset_at(local - 86400), offset_at(local), offset_at(local + 86400)};
  std::vector<std::int64_t> out;
  for (std::int32_t o : candidates)
    if (offset_at(local - o) == o) out.push_back(local - o);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace setpoint::shardedjob
