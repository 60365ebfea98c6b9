// ElasticJob's sharding strategies and item parameters: the test vectors of seed-systems §5.4.
#include "shardedjob/sharding.h"

#include <gtest/gtest.h>

namespace setpoint::shardedjob {
namespace {

const std::vector<std::string> kABC = {"A", "B", "C"};

Assignment Expect(std::initializer_list<std::pair<std::string, std::vector<int>>> rows) { return Assignment(rows); }

TEST(JavaStringHashCodeTest, MatchesJava) {
  EXPECT_EQ(JavaStringHashCode(""), 0);
  EXPECT_EQ(JavaStringHashCode("a"), 97);
  EXPECT_EQ(JavaStringHashCode("testJob"), -1422475829);
  EXPECT_EQ(JavaStringHashCode("job1"), 3267604);
  EXPECT_EQ(JavaStringHashCode("test_job"), -1146456432);
  EXPECT_EQ(JavaStringHashCode("myJob"), 104343153);
  // UTF-16 code units: "é" is one (0xE9), "😀" two (a surrogate pair, 0xD83D 0xDE00).
  EXPECT_EQ(JavaStringHashCode("\xC3\xA9"), 0xE9);
  EXPECT_EQ(JavaStringHashCode("\xF0\x9F\x98\x80"), 0xD83D * 31 + 0xDE00);
  // "polygenelubricants" is the classic string whose Java hash is Integer.MIN_VALUE.
  EXPECT_EQ(JavaStringHashCode("polygenelubricants"), INT32_MIN);
}

TEST(ShardingTest, S5_01_to_S5_04_AverageAllocation) {
  EXPECT_EQ(Shard(Strategy::kAvgAllocation, kABC, "j", 9),
            Expect({{"A", {0, 1, 2}}, {"B", {3, 4, 5}}, {"C", {6, 7, 8}}}));
  EXPECT_EQ(Shard(Strategy::kAvgAllocation, kABC, "j", 8), Expect({{"A", {0, 1, 6}}, {"B", {2, 3, 7}}, {"C", {4, 5}}}));
  EXPECT_EQ(Shard(Strategy::kAvgAllocation, kABC, "j", 10),
            Expect({{"A", {0, 1, 2, 9}}, {"B", {3, 4, 5}}, {"C", {6, 7, 8}}}));
  EXPECT_EQ(Shard(Strategy::kAvgAllocation, kABC, "j", 4), Expect({{"A", {0, 3}}, {"B", {1}}, {"C", {2}}}));
  EXPECT_EQ(Shard(Strategy::kAvgAllocation, kABC, "j", 2), Expect({{"A", {0}}, {"B", {1}}, {"C", {}}}));  // C present
  EXPECT_EQ(Shard(Strategy::kAvgAllocation, kABC, "j", 1), Expect({{"A", {0}}, {"B", {}}, {"C", {}}}));
}

TEST(ShardingTest, S5_05_NoInstancesNoSharding) {
  for (auto s : {Strategy::kAvgAllocation, Strategy::kOdevity, Strategy::kRoundRobin, Strategy::kSingleShardingBalance})
    EXPECT_TRUE(Shard(s, {}, "job", 8).empty());
}

TEST(ShardingTest, S5_06_OdevityReversesForAnEvenHash) {
  EXPECT_EQ(Shard(Strategy::kOdevity, kABC, "job1", 2), Expect({{"C", {0}}, {"B", {1}}, {"A", {}}}));
  EXPECT_EQ(Shard(Strategy::kOdevity, kABC, "test_job", 2), Expect({{"C", {0}}, {"B", {1}}, {"A", {}}}));
  EXPECT_EQ(Shard(Strategy::kOdevity, kABC, "testJob", 2), Expect({{"A", {0}}, {"B", {1}}, {"C", {}}}));  // odd, < 0
}

TEST(ShardingTest, S5_07_RoundRobinRotatesByTheHash) {
  EXPECT_EQ(Shard(Strategy::kRoundRobin, kABC, "testJob", 4), Expect({{"C", {0, 3}}, {"A", {1}}, {"B", {2}}}));
  EXPECT_EQ(Shard(Strategy::kRoundRobin, kABC, "job1", 4), Expect({{"B", {0, 3}}, {"C", {1}}, {"A", {2}}}));
  EXPECT_EQ(Shard(Strategy::kRoundRobin, kABC, "myJob", 4), Expect({{"A", {0, 3}}, {"B", {1}}, {"C", {2}}}));
  // Math.abs(INT_MIN) is negative: upstream throws; here the rotation stays in range.
  EXPECT_EQ(Shard(Strategy::kRoundRobin, kABC, "polygenelubricants", 3).size(), 3u);
}

TEST(ShardingTest, SingleShardingBalanceRotatesByHashAndTime) {
  // |hash("myJob") + 0| % 3 == 0; + 1 ms rotates by one more.
  EXPECT_EQ(Shard(Strategy::kSingleShardingBalance, kABC, "myJob", 1, 0), Expect({{"A", {0}}, {"B", {}}, {"C", {}}}));
  EXPECT_EQ(Shard(Strategy::kSingleShardingBalance, kABC, "myJob", 1, 1), Expect({{"B", {0}}, {"C", {}}, {"A", {}}}));
  // (int) currentTimeMillis keeps the low 32 bits: 2^32 + 2 ms is 2 ms.
  EXPECT_EQ(Shard(Strategy::kSingleShardingBalance, kABC, "myJob", 1, (1LL << 32) + 2),
            Expect({{"C", {0}}, {"A", {}}, {"B", {}}}));
}

TEST(ShardingTest, S5_08_InstancesInRegistryOrder) {
  auto order = RegistryOrder({"10.0.0.1@-@100", "10.0.0.2@-@200"});
  EXPECT_EQ(order, (std::vector<std::string>{"10.0.0.2@-@200", "10.0.0.1@-@100"}));
  EXPECT_EQ(Shard(Strategy::kAvgAllocation, order, "j", 3),
            Expect({{"10.0.0.2@-@200", {0, 2}}, {"10.0.0.1@-@100", {1}}}));
  // Agents a1 a2 a3 with 8 items, as the example.
  EXPECT_EQ(Shard(Strategy::kAvgAllocation, RegistryOrder({"a1", "a2", "a3"}), "j", 8),
            Expect({{"a3", {0, 1, 6}}, {"a2", {2, 3, 7}}, {"a1", {4, 5}}}));
}

TEST(ShardingTest, StrategiesByTheirNames) {
  EXPECT_EQ(*ParseStrategy("ROUND_ROBIN"), Strategy::kRoundRobin);
  EXPECT_EQ(*ParseStrategy(""), Strategy::kAvgAllocation);  // null: the default SPI
  auto bad = ParseStrategy("RANDOM");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "Can not find sharding strategy type 'RANDOM'.");
  for (auto s : {Strategy::kAvgAllocation, Strategy::kOdevity, Strategy::kRoundRobin, Strategy::kSingleShardingBalance})
    EXPECT_EQ(*ParseStrategy(StrategyName(s)), s);
}

TEST(ShardingItemParametersTest, S5_09_TrimmedAndStrict) {
  auto p = ParseShardingItemParameters("0=Beijing, 1=Shanghai,2=Guangzhou");
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(*p, (std::map<int, std::string>{{0, "Beijing"}, {1, "Shanghai"}, {2, "Guangzhou"}}));
  auto key = ParseShardingItemParameters("0=a,x=b");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().message(), "Sharding item parameters key 'x' is not an integer.");
  auto format = ParseShardingItemParameters("0=a=b");
  ASSERT_FALSE(format);
  EXPECT_EQ(format.error().message(), "Sharding item parameters '0=a=b' format error, should be int=xx,int=xx");
  EXPECT_FALSE(ParseShardingItemParameters("0="));        // Java's split drops the empty value
  EXPECT_FALSE(ParseShardingItemParameters("0=a,,1=b"));  // an empty entry in the middle
  EXPECT_TRUE(ParseShardingItemParameters("0=a,"));       // a trailing one is dropped
  EXPECT_TRUE(ParseShardingItemParameters("")->empty());
}

TEST(ShardingItemParametersTest, S5_10_AnItemWithoutAParameterHasNone) {
  auto p = ParseShardingItemParameters("0=a,1=b");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->count(2), 0u);
}

}  // namespace
}  // namespace setpoint::shardedjob
