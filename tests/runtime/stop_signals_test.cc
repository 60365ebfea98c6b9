// StopSignals: SIGTERM and SIGINT sent to the process request stop; destroying it without a
// signal ends its waiting thread (the test would hang, and time out, if it did not).
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "setpoint/runtime/stop_signals.h"
#include "testing/eventually.h"

namespace setpoint::runtime {
namespace {

TEST(StopSignals, DestroyedWithoutASignalReturns) {
  for (int i = 0; i < 3; ++i) {
    StopSignals signals;
    EXPECT_FALSE(signals.token().stop_requested());
    EXPECT_FALSE(signals.signalled());
  }
}

TEST(StopSignals, SigtermRequestsStop) {
  StopSignals signals;
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  ASSERT_TRUE(test::Eventually([&] { return signals.token().stop_requested(); }));
  EXPECT_TRUE(signals.signalled());
  EXPECT_EQ(signals.signal(), SIGTERM);
}

TEST(StopSignals, SigintRequestsStop) {
  StopSignals signals;
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  ASSERT_TRUE(test::Eventually([&] { return signals.token().stop_requested(); }));
  EXPECT_EQ(signals.signal(), SIGINT);
}

}  // namespace
}  // namespace setpoint::runtime
