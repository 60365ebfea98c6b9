// The SDK's steady clock (setpoint/common/monotonic_clock.h), named where the controller runtime
// has always named it.
#pragma once

#include "setpoint/common/monotonic_clock.h"

namespace setpoint::runtime {

using setpoint::Duration;
using setpoint::FakeMonotonicClock;
using setpoint::MonotonicClock;
using setpoint::MonotonicClockPtr;
using setpoint::RealMonotonicClock;
using setpoint::RealMonotonicClockInstance;
using setpoint::SteadyTime;

}  // namespace setpoint::runtime
