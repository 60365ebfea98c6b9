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
// One queue per run, shared by that run's threads, made before they start.
//
// Each add must be matched by exactly one get, or the last get of some thread waits for ever. The
// queue coalesces (client-go's contract): a key added twice while another thread still processes
// it runs once more, not twice. With 4 threads on 2 cores a thread can be preempted between get
// and done while another cycles through its keys twice; with 1,024 keys per thread that happened
// within seconds and the run hung. 2^18 keys per thread would need a preemption of ~150 ms.
WorkQueue* g_queue = nullptr;
void MakeQueue(const benchmark::State&) { g_queue = new WorkQueue(); }
void DropQueue(const benchmark::State&) {
  g_queue->shutdown();
  delete g_queue;
  g_queue = nullptr;
}

void BM_AddGetDoneThreads(benchmark::State& state) {
  constexpr std::size_t kKeys = std::size_t{1} << 18;
  WorkQueue& queue = *g_queue;
  static std::vector<std::vector<std::string>> keys(8);  // per thread index, built once
  if (keys[state.thread_index()].empty()) keys[state.thread_index()] = Keys(kKeys, state.thread_index());
  const auto& mine = keys[state.thread_index()];
  std::size_t i = 0;
  for (auto _ : state) {
    queue.add(mine[i++ & (kKeys - 1)]);
    auto got = queue.get();
    queue.done(*got);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddGetDoneThreads)
    ->Setup(MakeQueue)
    ->Teardown(DropQueue)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();

}  // namespace
}  // namespace setpoint::runtime

BENCHMARK_MAIN();
