// LogLimiter: keeps a repeated log line from flooding the log. Each key (a message class such as
// "accept" or "store write") gets at most one line per interval; the lines held back are counted
// and reported with the next one that goes through ("… (41 similar lines suppressed)").
//
// The failures that repeat fastest — accept() out of descriptors, a store on a full disk — are
// exactly the ones during which a flood of lines does the most harm. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace setpoint {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::steady_clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

  // nullopt: hold this line back. Otherwise log it, with the count held back since the last one.
  std::optional<std::uint64_t> admit(std::string_view key,
                                     std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // " (N similar lines suppressed)" for N > 0, else "".
  static std::string Suffix(std::uint64_t suppressed);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last;
    std::uint64_t held = 0;
  };
  const std::chrono::steady_clock::duration interval_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace setpoint
