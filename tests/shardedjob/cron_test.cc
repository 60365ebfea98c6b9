// Quartz cron expressions: parsing with Quartz's messages, and next fire times that agree with
// Quartz's own (testdata/quartz_fire_times.txt) across daylight-saving changes.
#include "shardedjob/cron.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "setpoint/common/clock.h"

namespace setpoint::shardedjob {
namespace {

std::int64_t At(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t) << rfc3339;
  return t ? std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count() : 0;
}

std::string Format(std::int64_t s) { return FormatRfc3339(WallTime(std::chrono::seconds(s))); }

TEST(CronTest, AgreesWithQuartzAcrossDaylightSavingChanges) {
  std::ifstream in(std::string(SETPOINT_TESTDATA) + "/quartz_fire_times.txt");
  ASSERT_TRUE(in);
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts;
    std::stringstream ss(line);
    for (std::string p; std::getline(ss, p, '|');) parts.push_back(p);
    ASSERT_EQ(parts.size(), 4u) << line;
    auto cron = CronExpression::Parse(parts[0]);
    ASSERT_TRUE(cron) << parts[0] << ": " << cron.error().to_string();
    auto zone = TimeZone::Load(parts[1]);
    ASSERT_TRUE(zone) << zone.error().to_string();
    std::int64_t t = At(parts[2]);
    std::string got;
    for (int i = 0; i < 5; ++i) {
      auto next = cron->next_after(t, *zone);
      if (!next) break;
      got += (i ? " " : "") + Format(*next);
      t = *next;
    }
    EXPECT_EQ(got, parts[3]) << parts[0] << " in " << parts[1] << " after " << parts[2];
    ++cases;
  }
  EXPECT_GT(cases, 100);
}

TEST(CronTest, RefusesWithQuartzsMessages) {
  const std::pair<std::string_view, std::string_view> bad[] = {
      {"0 0 12 * * *", "Support for specifying both a day-of-week AND a day-of-month parameter is not implemented."},
      {"0 0 12 ? * ?", "'?' can only be specified for Day-of-Month -OR- Day-of-Week."},
      {"60 0 12 * * ?", "Minute and Second values must be between 0 and 59"},
      {"0 60 12 * * ?", "Minute and Second values must be between 0 and 59"},
      {"0 0 24 * * ?", "Hour values must be between 0 and 23"},
      {"0 0 12 32 * ?", "Day of month values must be between 1 and 31"},
      {"0 0 12 1-40 * ?", "Day of month values must be between 1 and 31"},
      {"0 0 12 * 13 ?", "Month values must be between 1 and 12"},
      {"0 0 12 ? * 8", "Day-of-Week values must be between 1 and 7"},
      {"0 0 12 * FOO ?", "Invalid Month value: 'FOO'"},
      {"0 0 12 ? * MOX", "Invalid Day-of-Week value: 'MOX'"},
      {"0 0 12", "Unexpected end of expression."},
      {"0 0 12 L-40 * ?", "Offset from last day must be <= 30"},
      {"0 0 12 ? * 6#6", "A numeric value between 1 and 5 must follow the '#' option"},
      {"x 0 12 * * ?", "Illegal characters for this position: 'X'"},
      {"0 0/0 12 * * ?", "Increment must be a positive number: '0/0'"},
  };
  for (const auto& [text, message] : bad) {
    auto c = CronExpression::Parse(text);
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().code(), StatusCode::kBadRequest);
    EXPECT_EQ(c.error().message(), message) << text;
  }
  EXPECT_TRUE(CronExpression::Parse("0 15 10 ? * mon-fri"));  // names in any case
  EXPECT_TRUE(CronExpression::Parse("0 0 12 * * ? *"));
}

TEST(CronTest, AnExpressionThatNeverFiresAgainEnds) {
  auto c = CronExpression::Parse("0 0 12 1 1 ? 2027");
  ASSERT_TRUE(c);
  auto first = c->next_after(At("2026-12-04T00:00:00Z"), TimeZone::Utc());
  ASSERT_TRUE(first);
  EXPECT_EQ(Format(*first), "2027-01-01T12:00:00Z");
  EXPECT_FALSE(c->next_after(*first, TimeZone::Utc()));
  auto never = CronExpression::Parse("0 0 0 30 2 ?");  // February 30th
  ASSERT_TRUE(never);
  EXPECT_FALSE(never->next_after(At("2026-01-01T00:00:00Z"), TimeZone::Utc()));
}

TEST(TimeZoneTest, OffsetsAndWallTimes) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin);
  EXPECT_EQ(berlin->offset_at(At("2026-01-15T00:00:00Z")), 3600);
  EXPECT_EQ(berlin->offset_at(At("2026-07-15T00:00:00Z")), 7200);
  // 2026-03-29 02:30 does not exist; 2026-10-25 02:30 exists twice.
  EXPECT_TRUE(berlin->instants_of(At("2026-03-29T02:30:00Z")).empty());
  EXPECT_EQ(berlin->instants_of(At("2026-10-25T02:30:00Z")),
            (std::vector<std::int64_t>{At("2026-10-25T00:30:00Z"), At("2026-10-25T01:30:00Z")}));
  EXPECT_FALSE(TimeZone::Load("Mars/Olympus_Mons"));
  EXPECT_FALSE(TimeZone::Load("../../etc/passwd"));
  EXPECT_EQ(TimeZone::Load("UTC")->offset_at(0), 0);
}

}  // namespace
}  // namespace setpoint::shardedjob
