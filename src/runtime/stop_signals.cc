#include "setpoint/runtime/stop_signals.h"

#include <pthread.h>

#include <csignal>

namespace setpoint::runtime {

namespace {

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

StopSignals::StopSignals() {
  const sigset_t set = StopSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([this, set] {
    int sig = 0;
    sigwait(&set, &sig);
    if (closing_.load()) return;  // woken by the destructor
    signal_.store(sig);
    source_.request_stop();
  });
}

StopSignals::~StopSignals() {
  closing_.store(true);
  // Wake the waiter if no signal did: a signal aimed at that thread, which it takes in sigwait.
  if (!signalled()) pthread_kill(waiter_.native_handle(), SIGTERM);
  waiter_.join();
}

}  // namespace setpoint::runtime
