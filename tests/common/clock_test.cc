#include "setpoint/common/clock.h"

#include <gtest/gtest.h>

namespace setpoint {
namespace {

TEST(ClockTest, FormatsAndParsesRfc3339) {
  auto t = ParseRfc3339("2026-11-27T05:23:31Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-27T05:23:31Z");
  auto offset = ParseRfc3339("2026-11-27T07:23:31.123+02:00");
  ASSERT_TRUE(offset.has_value());
  EXPECT_EQ(FormatRfc3339(*offset), "2026-11-27T05:23:31Z");
}

TEST(ClockTest, RejectsMalformedTimes) {
  for (const char* bad : {"", "2026-11-27", "2026-13-01T00:00:00Z", "2026-11-27T05:23:31", "2026-11-27T05:23:31Zjunk",
                          "2026-11-27T25:00:00Z", "abcd-11-27T05:23:31Z"})
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
}

TEST(ClockTest, HumanDurationMatchesKubectl) {
  using std::chrono::seconds;
  EXPECT_EQ(HumanDuration(seconds(-5)), "<invalid>");
  EXPECT_EQ(HumanDuration(seconds(0)), "0s");
  EXPECT_EQ(HumanDuration(seconds(45)), "45s");
  EXPECT_EQ(HumanDuration(seconds(119)), "119s");
  EXPECT_EQ(HumanDuration(seconds(200)), "3m20s");
  EXPECT_EQ(HumanDuration(seconds(240)), "4m");
  EXPECT_EQ(HumanDuration(seconds(45 * 60)), "45m");
  EXPECT_EQ(HumanDuration(seconds(5 * 3600 + 30 * 60)), "5h30m");
  EXPECT_EQ(HumanDuration(seconds(20 * 3600)), "20h");
  EXPECT_EQ(HumanDuration(seconds(3 * 86400 + 3600)), "3d1h");
  EXPECT_EQ(HumanDuration(seconds(100 * 86400)), "100d");
  EXPECT_EQ(HumanDuration(seconds(3LL * 365 * 86400)), "3y");
}

TEST(ClockTest, FakeClockAdvances) {
  FakeClock clock(*ParseRfc3339("2026-01-01T00:00:00Z"));
  clock.advance(std::chrono::seconds(90));
  EXPECT_EQ(FormatRfc3339(clock.now()), "2026-01-01T00:01:30Z");
}

}  // namespace
}  // namespace setpoint
