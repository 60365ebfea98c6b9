// WorkQueue throughput: add/get/done cycles per second, single- and multi-threaded, plus the
// cost of a deduplicated add and of a delayed add. Prints numbers; never fails on slowness.
//   ninja -C <build> workqueue_bench && <build>/bench/workqueue_bench
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "setpoint/runtime/workqueue.h"

namespace setpoint::runtime {
namespace {

std::vector<std::string> Keys(int n, int offset = 0) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (int i = 0; i < n; ++i) keys.push_back("namespace-" + std::to_string(offset) + "/object-" + std::to_string(i));
  return keys;
}

// One key through its whole life: add, get, done.
void BM_AddGetDone(benchmark::State& state) {
  WorkQueue queue;
  const auto keys = Keys(1024);
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& k = keys[i++ & 1023];
    queue.add(k);
    auto got = queue.get();
    queue.done(*got);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddGetDone);

// A burst of `range(0)` distinct keys, then drained: the FIFO and set costs at depth.
void BM_BurstThenDrain(benchmark::State& state) {
  WorkQueue queue;
  const auto keys = Keys(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    for (const auto& k : keys) queue.add(k);
    for (std::size_t n = 0; n < keys.size(); ++n) queue.done(*queue.get());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BurstThenDrain)->Arg(100)->Arg(10000);

// Adding a key that is already queued: the informer storm case (S1-01).
void BM_DuplicateAdd(benchmark::State& state) {
  WorkQueue queue;
  queue.add("default/hot");
  for (auto _ : state) queue.add("default/hot");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DuplicateAdd);

// add_after into a growing set of parked keys, promoted by a fake clock.
void BM_AddAfterThenPromote(benchmark::State& state) {
  auto clock = std::make_shared<FakeMonotonicClock>();
  WorkQueue queue(WorkQueueOptions{nullptr, clock});
  const auto keys = Keys(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    int n = 0;
    for (const auto& k : keys) queue.add_after(k, std::chrono::milliseconds(1 + (n++ % 97)));
    clock->advance(std::chrono::milliseconds(100));
    for (std::size_t j = 0; j < keys.size(); ++j) queue.done(*queue.get());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AddAfterThenPromote)->Arg(1000);

// Several threads each adding their own keys and taking whatever is ready: lock contention.
// Every thread adds before it gets, and key spaces are disjoint, so no get() blocks for long.
WorkQueue& SharedQueue() {
  static WorkQueue* queue = new WorkQueue();  // outlives every benchmark thread
  return *queue;
}

void BM_AddGetDoneThreads(benchmark::State& state) {
  WorkQueue& queue = SharedQueue();
  const auto keys = Keys(1024, state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    queue.add(keys[i++ & 1023]);
    auto got = queue.get();
    queue.done(*got);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddGetDoneThreads)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace setpoint::runtime

BENCHMARK_MAIN();
