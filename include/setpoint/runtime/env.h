// The SDK's Env (setpoint/common/env.h), named where the controller runtime has always named it.
#pragma once

#include "setpoint/common/env.h"
#include "setpoint/runtime/monotonic_clock.h"

namespace setpoint::runtime {

using setpoint::DefaultEnv;
using setpoint::Env;
using setpoint::EnvPtr;
using setpoint::FakeEnv;

}  // namespace setpoint::runtime
