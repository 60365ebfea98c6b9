// The test kit's Eventually and StaysFalse (include/setpoint/testing/eventually.h), under the
// name the in-tree tests use.
#pragma once

#include "setpoint/testing/eventually.h"

namespace setpoint::test {

using setpoint::testing::Eventually;
using setpoint::testing::StaysFalse;

}  // namespace setpoint::test
