// Rate limiters: client-go's default_rate_limiters.go semantics (controller-runtimes.md §3.1).
#include "setpoint/runtime/rate_limiter.h"

#include <gtest/gtest.h>

namespace setpoint::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// S1-03: 5 ms * 2^n, capped at 1000 s; forget resets.
TEST(ItemExponentialRateLimiterTest, S1_03_DoublesFromFiveMillisecondsAndCapsAt1000Seconds) {
  ItemExponentialRateLimiter l(milliseconds(5), seconds(1000));
  EXPECT_EQ(l.when("k"), milliseconds(5));
  EXPECT_EQ(l.when("k"), milliseconds(10));
  EXPECT_EQ(l.when("k"), milliseconds(20));
  EXPECT_EQ(l.when("k"), milliseconds(40));
  EXPECT_EQ(l.num_requeues("k"), 4);
  for (int i = 5; i < 18; ++i) l.when("k");
  EXPECT_EQ(l.when("k"), milliseconds(655360)) << "the 18th failure";
  EXPECT_EQ(l.when("k"), seconds(1000)) << "the 19th failure";
  for (int i = 0; i < 100; ++i) EXPECT_EQ(l.when("k"), seconds(1000)) << "no overflow";
  EXPECT_EQ(l.when("other"), milliseconds(5)) << "per item";
  l.forget("k");
  EXPECT_EQ(l.num_requeues("k"), 0);
  EXPECT_EQ(l.when("k"), milliseconds(5));
}

TEST(ItemExponentialRateLimiterTest, DefaultIsFiveMillisecondsToThousandSeconds) {
  RateLimiterPtr l = DefaultRateLimiter();
  EXPECT_EQ(l->when("k"), milliseconds(5));
  EXPECT_EQ(l->when("k"), milliseconds(10));
}

TEST(BucketRateLimiterTest, BurstIsFreeThenOneTokenPerInterval) {
  auto clock = std::make_shared<FakeMonotonicClock>();
  BucketRateLimiter l(10.0, 100, clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(l.when("k" + std::to_string(i)), Duration::zero()) << i;
  EXPECT_EQ(l.when("x"), milliseconds(100));
  EXPECT_EQ(l.when("y"), milliseconds(200)) << "tokens are taken, never returned";
  clock->advance(seconds(1));  // +10 tokens repays the debt of 2 and leaves 8
  for (int i = 0; i < 8; ++i) ASSERT_EQ(l.when("z"), Duration::zero()) << i;
  EXPECT_EQ(l.when("z"), milliseconds(100));
  clock->advance(seconds(1000));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(l.when("z"), Duration::zero()) << "refill caps at burst";
  EXPECT_GT(l.when("z"), Duration::zero());
  EXPECT_EQ(l.num_requeues("z"), 0);
}

TEST(MaxOfRateLimiterTest, TakesTheLongestDelayAndFansOutForget) {
  auto clock = std::make_shared<FakeMonotonicClock>();
  std::vector<RateLimiterPtr> parts;
  parts.push_back(std::make_unique<ItemExponentialRateLimiter>(milliseconds(5), seconds(1000)));
  parts.push_back(std::make_unique<BucketRateLimiter>(1.0, 1, clock));
  MaxOfRateLimiter l(std::move(parts));
  EXPECT_EQ(l.when("k"), milliseconds(5));  // bucket: free
  EXPECT_EQ(l.when("k"), seconds(1));       // bucket: 1 s debt beats 10 ms
  EXPECT_EQ(l.num_requeues("k"), 2);
  l.forget("k");
  EXPECT_EQ(l.num_requeues("k"), 0);
}

TEST(ClassicControllerRateLimiterTest, ExponentialAndTenQpsBurstHundred) {
  auto clock = std::make_shared<FakeMonotonicClock>();
  RateLimiterPtr l = ClassicControllerRateLimiter(clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(l->when("k" + std::to_string(i)), milliseconds(5));
  EXPECT_EQ(l->when("k100"), milliseconds(100));
}

}  // namespace
}  // namespace setpoint::runtime
