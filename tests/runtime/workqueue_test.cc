// WorkQueue: client-go's contract (reference/controller-runtimes.md §3.1) and the S1 scenarios
// of reference/seed-systems.md §1.4. Time is a FakeMonotonicClock; nothing sleeps. Anything that
// blocks runs in std::async and is awaited with a deadline, so a bug fails instead of hanging.
#include "setpoint/runtime/workqueue.h"

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace setpoint::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kDeadline = seconds(20);

struct Fixture {
  std::shared_ptr<FakeMonotonicClock> clock = std::make_shared<FakeMonotonicClock>();
  WorkQueue queue{WorkQueueOptions{nullptr, clock}};
};

template <typename T>
T Await(std::future<T>& f) {
  if (f.wait_for(kDeadline) != std::future_status::ready) {
    ADD_FAILURE() << "deadline exceeded";
    std::abort();  // a blocked thread would hang the test binary; fail loudly instead
  }
  return f.get();
}

// S1-01: five updates before the worker runs coalesce into one reconcile.
TEST(WorkQueueTest, S1_01_DuplicateAddsCoalesce) {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.queue.add("default/foo");
  f.queue.add("default/bar");
  EXPECT_EQ(f.queue.len(), 2u);
  EXPECT_EQ(f.queue.get(), "default/foo");  // FIFO
  EXPECT_EQ(f.queue.get(), "default/bar");
  EXPECT_EQ(f.queue.len(), 0u);
  f.queue.done("default/foo");
  f.queue.done("default/bar");
  EXPECT_EQ(f.queue.len(), 0u);
  EXPECT_EQ(f.queue.metrics().adds_total, 2u);
}

// S1-02: a key added while processing is not handed to a second worker; it runs once more after
// done().
TEST(WorkQueueTest, S1_02_ReAddDuringProcessingRunsOnceMoreAfterDone) {
  Fixture f;
  f.queue.add("ns/k");
  ASSERT_EQ(f.queue.get(), "ns/k");
  f.queue.add("ns/k");
  f.queue.add("ns/k");
  EXPECT_EQ(f.queue.len(), 0u) << "must not be ready while processing";
  f.queue.add("ns/other");
  EXPECT_EQ(f.queue.get(), "ns/other");  // a second worker gets the other key, not ns/k
  f.queue.done("ns/k");
  EXPECT_EQ(f.queue.len(), 1u);
  EXPECT_EQ(f.queue.get(), "ns/k");
  f.queue.done("ns/k");
  f.queue.done("ns/other");
  EXPECT_EQ(f.queue.len(), 0u);
}

TEST(WorkQueueTest, DoneOfUnknownKeyIsIgnored) {
  Fixture f;
  f.queue.done("never/got");
  f.queue.add("a");
  EXPECT_EQ(f.queue.get(), "a");
}

TEST(WorkQueueTest, BlockedGetterWakesOnAdd) {
  Fixture f;
  auto got = std::async(std::launch::async, [&] { return f.queue.get(); });
  f.queue.add("ns/x");
  EXPECT_EQ(Await(got), "ns/x");
}

TEST(WorkQueueTest, ShutdownWakesBlockedGetters) {
  Fixture f;
  std::vector<std::future<std::optional<std::string>>> getters;
  for (int i = 0; i < 3; ++i) {
    getters.push_back(std::async(std::launch::async, [&] { return f.queue.get(); }));
  }
  f.queue.shutdown();
  for (auto& g : getters) EXPECT_EQ(Await(g), std::nullopt);
  EXPECT_TRUE(f.queue.shutting_down());
}

TEST(WorkQueueTest, ShutdownDrainsReadyKeysThenIgnoresAdds) {
  Fixture f;
  f.queue.add("a");
  f.queue.add("b");
  f.queue.add_after("later", seconds(1));
  f.queue.shutdown();
  f.queue.add("c");  // ignored
  EXPECT_EQ(f.queue.get(), "a");
  EXPECT_EQ(f.queue.get(), "b");
  f.clock->advance(seconds(5));
  EXPECT_EQ(f.queue.get(), std::nullopt);  // parked keys are dropped on shutdown
}

TEST(WorkQueueTest, ShutdownWithDrainWaitsForInFlightDone) {
  Fixture f;
  f.queue.add("a");
  ASSERT_EQ(f.queue.get(), "a");
  auto drained = std::async(std::launch::async, [&] { f.queue.shutdown_with_drain(); });
  EXPECT_EQ(drained.wait_for(milliseconds(50)), std::future_status::timeout) << "must wait for the in-flight key";
  f.queue.done("a");
  Await(drained);
  EXPECT_EQ(f.queue.get(), std::nullopt);
}

// S1-04: RequeueAfter(2s) runs the key again after 2 s with no event.
TEST(WorkQueueTest, S1_04_AddAfterBecomesReadyWhenTheClockGetsThere) {
  Fixture f;
  f.queue.add_after("ns/k", seconds(2));
  EXPECT_EQ(f.queue.len(), 0u);
  EXPECT_EQ(f.queue.num_waiting(), 1u);
  f.clock->advance(milliseconds(1999));
  EXPECT_EQ(f.queue.len(), 0u);
  f.clock->advance(milliseconds(1));
  EXPECT_EQ(f.queue.len(), 1u);
  EXPECT_EQ(f.queue.num_waiting(), 0u);
  EXPECT_EQ(f.queue.get(), "ns/k");
}

TEST(WorkQueueTest, BlockedGetterWakesWhenFakeClockAdvances) {
  Fixture f;
  f.queue.add_after("ns/k", seconds(30));
  auto got = std::async(std::launch::async, [&] { return f.queue.get(); });
  EXPECT_EQ(got.wait_for(milliseconds(20)), std::future_status::timeout);
  f.clock->advance(seconds(30));
  EXPECT_EQ(Await(got), "ns/k");
}

TEST(WorkQueueTest, AddAfterKeepsTheEarliestReadyTime) {
  Fixture f;
  f.queue.add_after("late-then-early", seconds(10));
  f.queue.add_after("late-then-early", seconds(2));
  f.queue.add_after("early-then-late", seconds(2));
  f.queue.add_after("early-then-late", seconds(10));
  EXPECT_EQ(f.queue.num_waiting(), 2u);
  f.clock->advance(seconds(2));
  EXPECT_EQ(f.queue.len(), 2u);
  EXPECT_EQ(f.queue.get(), "late-then-early");  // same ready time: the order they were parked
  EXPECT_EQ(f.queue.get(), "early-then-late");
  f.queue.done("late-then-early");
  f.queue.done("early-then-late");
  f.clock->advance(seconds(10));
  EXPECT_EQ(f.queue.len(), 0u) << "the later times were superseded, not kept";
}

TEST(WorkQueueTest, AddAfterNonPositiveIsAnImmediateAdd) {
  Fixture f;
  f.queue.add_after("a", Duration::zero());
  f.queue.add_after("b", milliseconds(-5));
  EXPECT_EQ(f.queue.len(), 2u);
  EXPECT_EQ(f.queue.metrics().retries_total, 2u);
}

TEST(WorkQueueTest, HugeDelayDoesNotOverflow) {
  Fixture f;
  f.queue.add_after("forever", Duration::max());
  f.queue.add_after("soon", seconds(1));
  f.clock->advance(seconds(1));
  EXPECT_EQ(f.queue.get(), "soon");
  EXPECT_EQ(f.queue.num_waiting(), 1u);
  WorkQueue real;  // the real clock waits on a clamped deadline, and shutdown still wakes it
  real.add_after("forever", Duration::max());
  auto got = std::async(std::launch::async, [&] { return real.get(); });
  real.shutdown();
  EXPECT_EQ(Await(got), std::nullopt);
}

TEST(WorkQueueTest, ParkedKeysBecomeReadyInTimeOrder) {
  Fixture f;
  f.queue.add_after("c", seconds(3));
  f.queue.add_after("a", seconds(1));
  f.queue.add_after("b", seconds(2));
  f.clock->advance(seconds(3));
  EXPECT_EQ(f.queue.get(), "a");
  EXPECT_EQ(f.queue.get(), "b");
  EXPECT_EQ(f.queue.get(), "c");
}

// S1-03: three failures back off 5, 10, 20 ms; forget (success) resets the count.
TEST(WorkQueueTest, S1_03_RateLimitedBackoffAndForget) {
  Fixture f;
  for (milliseconds expected : {milliseconds(5), milliseconds(10), milliseconds(20)}) {
    f.queue.add_rate_limited("ns/k");
    f.clock->advance(expected - milliseconds(1));
    EXPECT_EQ(f.queue.len(), 0u) << expected.count();
    f.clock->advance(milliseconds(1));
    ASSERT_EQ(f.queue.len(), 1u) << expected.count();
    ASSERT_EQ(f.queue.get(), "ns/k");
    f.queue.done("ns/k");
  }
  EXPECT_EQ(f.queue.num_requeues("ns/k"), 3);
  f.queue.forget("ns/k");
  EXPECT_EQ(f.queue.num_requeues("ns/k"), 0);
  f.queue.add_rate_limited("ns/k");
  f.clock->advance(milliseconds(5));
  EXPECT_EQ(f.queue.len(), 1u);
}

TEST(WorkQueueTest, MetricsTrackAddsDepthDurationsAndInFlightWork) {
  Fixture f;
  f.queue.add("a");
  f.queue.add("a");
  f.queue.add("b");
  f.queue.add_rate_limited("c");
  WorkQueueMetrics m = f.queue.metrics();
  EXPECT_EQ(m.depth, 2);
  EXPECT_EQ(m.adds_total, 2u);
  EXPECT_EQ(m.retries_total, 1u);

  f.clock->advance(milliseconds(500));
  ASSERT_EQ(f.queue.get(), "a");
  f.clock->advance(seconds(2));
  m = f.queue.metrics();
  EXPECT_EQ(m.adds_total, 3u) << "c became ready and counts as an add";
  EXPECT_EQ(m.queue_duration_seconds.count, 1u);
  EXPECT_DOUBLE_EQ(m.queue_duration_seconds.sum, 0.5);
  EXPECT_DOUBLE_EQ(m.longest_running_processor_seconds, 2.0);
  EXPECT_DOUBLE_EQ(m.unfinished_work_seconds, 2.0);
  f.queue.add("a");  // re-added while processing: its queue time starts now, not at done()
  f.clock->advance(seconds(1));
  f.queue.done("a");
  m = f.queue.metrics();
  EXPECT_EQ(m.work_duration_seconds.count, 1u);
  EXPECT_DOUBLE_EQ(m.work_duration_seconds.sum, 3.0);
  EXPECT_EQ(m.depth, 3);
  f.clock->advance(seconds(4));
  std::vector<std::string> drained;
  for (int i = 0; i < 3; ++i) drained.push_back(*f.queue.get());
  EXPECT_EQ(drained, (std::vector<std::string>{"b", "c", "a"}));
  for (const auto& k : drained) f.queue.done(k);
  m = f.queue.metrics();
  EXPECT_EQ(m.queue_duration_seconds.count, 4u);
  // a: 0.5 (first) + 5 (re-add -> get); b: 7.5; c: ready at 5 ms, got at 7.5 s.
  EXPECT_NEAR(m.queue_duration_seconds.sum, 0.5 + 5.0 + 7.5 + 7.495, 1e-9);
  EXPECT_EQ(m.adds_total, 4u);
  EXPECT_EQ(m.depth, 0);
  m.work_duration_seconds = {};
  m.work_duration_seconds.observe(2.0);
  m.depth = 2;
  m.adds_total = 3;
  EXPECT_EQ(m.longest_running_processor_seconds, 0.0);

  std::string text;
  m.render_prometheus(text, "memcached");
  for (const char* family : {"workqueue_depth", "workqueue_adds_total", "workqueue_queue_duration_seconds",
                             "workqueue_work_duration_seconds", "workqueue_retries_total",
                             "workqueue_unfinished_work_seconds", "workqueue_longest_running_processor_seconds"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  }
  EXPECT_NE(text.find("workqueue_depth{name=\"memcached\",controller=\"memcached\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("workqueue_adds_total{name=\"memcached\",controller=\"memcached\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("workqueue_work_duration_seconds_bucket{name=\"memcached\",controller=\"memcached\","
                      "le=\"10\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("workqueue_work_duration_seconds_bucket{name=\"memcached\",controller=\"memcached\","
                      "le=\"1\"} 0\n"),
            std::string::npos);
}

TEST(WorkQueueTest, RenderSeveralQueuesGroupsEachFamilyOnce) {
  std::vector<NamedWorkQueueMetrics> qs = {{"a", {}}, {"b", {}}};
  std::string text;
  RenderPrometheus(text, qs);
  const auto first = text.find("# TYPE workqueue_depth gauge");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(text.find("# TYPE workqueue_depth gauge", first + 1), std::string::npos);
  const auto a = text.find("workqueue_depth{name=\"a\"");
  const auto b = text.find("workqueue_depth{name=\"b\"");
  const auto next_family = text.find("# TYPE workqueue_adds_total");
  EXPECT_LT(a, b);
  EXPECT_LT(b, next_family);
}

// S1-02 under load: many producers and workers; no key is ever processed by two workers at once,
// and every key's last add is followed by a processing that saw it.
TEST(WorkQueueTest, S1_02_StressNoConcurrentProcessingOfOneKey) {
  auto run = std::async(std::launch::async, [] {
    WorkQueue queue;  // the real clock: this test is about threads, not time
    constexpr int kKeys = 16;
    constexpr int kProducers = 3;
    constexpr int kWorkers = 4;
    constexpr int kAddsPerProducer = 20000;
    std::array<std::atomic<bool>, kKeys> in_flight{};
    std::array<std::atomic<int>, kKeys> add_seq{};
    std::array<std::atomic<int>, kKeys> seen_seq{};
    std::atomic<int> overlaps{0};
    std::atomic<int> processed{0};

    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back([&] {
        while (auto key = queue.get()) {
          const int k = std::stoi(*key);
          if (in_flight[k].exchange(true)) ++overlaps;
          seen_seq[k] = add_seq[k].load();
          std::this_thread::yield();  // widen the window in which a second worker could collide
          in_flight[k] = false;
          ++processed;
          queue.done(*key);
        }
      });
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kAddsPerProducer; ++i) {
          const int k = (i * 7 + p) % kKeys;
          ++add_seq[k];
          queue.add(std::to_string(k));
        }
      });
    }
    for (auto& t : producers) t.join();
    queue.shutdown_with_drain();
    for (auto& t : workers) t.join();
    EXPECT_EQ(overlaps.load(), 0);
    EXPECT_GE(processed.load(), kKeys);
    EXPECT_LE(processed.load(), kProducers * kAddsPerProducer);
    for (int k = 0; k < kKeys; ++k) EXPECT_EQ(seen_seq[k].load(), add_seq[k].load()) << k;
  });
  Await(run);
}

TEST(WorkQueueTest, DefaultLimiterIsPerItemExponentialOnly) {
  Fixture f;
  // 200 distinct keys: a 10 qps / burst 100 bucket would delay the later ones; the default does not.
  for (int i = 0; i < 200; ++i) f.queue.add_rate_limited("k" + std::to_string(i));
  f.clock->advance(milliseconds(5));
  EXPECT_EQ(f.queue.len(), 200u);
}

}  // namespace
}  // namespace setpoint::runtime
