// ElasticJob's sharding, exactly as upstream computes it (seed-systems §5.4): which job instance
// runs which of a job's sharding items, and the items' parameters. Pure; the sharded-job controller
// (issue 18) feeds it the job's instances in upstream's registry order.
//
//   auto order = RegistryOrder({"a1", "a2", "a3"});          // a3 a2 a1: descending, as ZooKeeper lists
//   auto s = Shard(Strategy::kAvgAllocation, order, "job", 8);  // a3[0,1,6] a2[2,3,7] a1[4,5]
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::shardedjob {

// Java's String.hashCode: s[0]·31^(n−1) + … + s[n−1] over the UTF-16 code units of `utf8`, in
// 32-bit two's complement. (Bytes that are not UTF-8 count as one code unit each.)
std::int32_t JavaStringHashCode(std::string_view utf8);

// AVG_ALLOCATION (the default), ODEVITY, ROUND_ROBIN, SINGLE_SHARDING_BALANCE.
enum class Strategy { kAvgAllocation, kOdevity, kRoundRobin, kSingleShardingBalance };
// The SPI name; BadRequest for another ("Can not find sharding strategy type 'X'.").
Result<Strategy> ParseStrategy(std::string_view name);
std::string_view StrategyName(Strategy s);

// Instance ids as upstream lists them from the registry: descending (reverse lexicographic).
std::vector<std::string> RegistryOrder(std::vector<std::string> instances);

// Each instance (in the order the strategy leaves them; every one present, maybe with no item) and
// its items, ascending. Empty when there are no instances. `now_millis` is
// System.currentTimeMillis() for SINGLE_SHARDING_BALANCE and unused otherwise.
//
// One deviation: for a job name whose hash is INT32_MIN, Math.abs leaves it negative and
// upstream's rotation indexes its list with a negative number and throws; here the offset is
// taken modulo the instance count instead.
using Assignment = std::vector<std::pair<std::string, std::vector<int>>>;
Assignment Shard(Strategy strategy, const std::vector<std::string>& instances, std::string_view job_name, int total,
                 std::int64_t now_millis = 0);

// shardingItemParameters, "0=Beijing,1=Shanghai": item → parameter, keys and values trimmed,
// split as Java's String.split does (trailing empty pieces dropped). An empty string is an empty
// map. BadRequest with upstream's messages: "Sharding item parameters '<the whole text>' format
// error, should be int=xx,int=xx" and "Sharding item parameters key '<key>' is not an integer.".
Result<std::map<int, std::string>> ParseShardingItemParameters(std::string_view text);

}  // namespace setpoint::shardedjob
