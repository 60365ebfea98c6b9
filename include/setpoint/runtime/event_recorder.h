// EventRecorder: writes core/v1 Events about objects, the way client-go's recorder does, without
// ever blocking the reconciler that reports them.
//
//   recorder.event(memcached, "Warning", "Deleting", "Custom Resource memcached-sample is being deleted");
//
// event() queues the report and returns; one background thread writes it. Repeats of the same
// report (same object uid, type, reason and message) within `aggregation_window` do not make new
// Events: the existing one's `count` and `lastTimestamp` are patched (client-go's
// EventCorrelator). The queue is bounded; reports beyond it are dropped and counted, as upstream
// drops rather than stall a controller. Events of cluster-scoped objects go to "default".
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/common/clock.h"
#include "setpoint/runtime/env.h"
#include "setpoint/types/core_v1.h"

namespace setpoint::runtime {

inline const client::GroupVersionResource& kEventsResource = setpoint::types::GvrOf<setpoint::corev1::Event>();

struct EventRecorderOptions {
  std::string component;  // source.component and reportingComponent, e.g. "memcached-controller"
  std::string instance;   // reportingInstance, e.g. the host name
  std::size_t queue_limit = 1000;
  std::chrono::seconds aggregation_window{600};
  std::size_t aggregation_entries = 4096;  // how many distinct reports are remembered
  EnvPtr env;                              // the time events are stamped with; null: DefaultEnv()
};

// Where a reconciler's events go: the EventRecorder, or a test's collector.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // `type` is "Normal" or "Warning"; `reason` a short UpperCamelCase word. `object` needs
  // apiVersion, kind and metadata (name, namespace, uid).
  virtual void event(const boost::json::object& object, std::string_view type, std::string_view reason,
                     std::string message) = 0;
};

class EventRecorder final : public EventSink {
 public:
  // `client` is borrowed and must outlive the recorder.
  EventRecorder(client::DynamicClient& client, EventRecorderOptions options);
  // Writes what is queued (bounded by 5 s) and stops.
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `type` is "Normal" or "Warning"; `reason` a short UpperCamelCase word.
  void event(const boost::json::object& object, std::string_view type, std::string_view reason,
             std::string message) override;

  // Waits until everything queued before the call is written. False on timeout.
  bool flush(std::chrono::milliseconds timeout);
  std::uint64_t dropped() const { return dropped_.load(); }
  std::uint64_t write_errors() const { return write_errors_.load(); }

 private:
  struct Report {
    std::string ns, involved_key;
    boost::json::object involved;
    std::string type, reason, message;
    WallTime at;
  };
  struct Seen {
    std::string ns, name;
    std::int64_t count = 0;
    WallTime first, last;
    std::list<std::string>::iterator lru;
  };
  void run(std::stop_token stop);
  void write(const Report& r);

  client::DynamicClient& client_;
  const EventRecorderOptions options_;
  const ClockPtr clock_;

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Report> queue_;                // GUARDED_BY(mu_)
  std::uint64_t queued_ = 0, written_ = 0;  // GUARDED_BY(mu_); reports taken in / finished
  std::atomic<std::uint64_t> dropped_{0}, write_errors_{0};

  // Confined to the writer thread.
  std::map<std::string, Seen> seen_;
  std::list<std::string> lru_;  // most recent first

  std::jthread thread_;
};

}  // namespace setpoint::runtime
