// Typed kinds of coordination.k8s.io/v1: Lease (leader election, agent heartbeats).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "setpoint/types/meta.h"

namespace setpoint::coordinationv1 {

struct LeaseSpec {
  std::optional<std::string> holderIdentity;
  std::optional<std::int32_t> leaseDurationSeconds;
  std::optional<std::string> acquireTime, renewTime;  // RFC 3339 with microseconds (MicroTime)
  std::optional<std::int32_t> leaseTransitions;
  friend bool operator==(const LeaseSpec&, const LeaseSpec&) = default;
};
BOOST_DESCRIBE_STRUCT(LeaseSpec, (), (holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions))

struct Lease : types::Object {
  static constexpr types::Kind kKind{"coordination.k8s.io", "v1", "Lease", "leases"};
  LeaseSpec spec;
};
BOOST_DESCRIBE_STRUCT(Lease, (types::Object), (spec))

}  // namespace setpoint::coordinationv1
