// LeaderElector against the real API server in process (memory store, port 0,
// temp dir), with short timings (lease 2 s, renew deadline 1 s, retry 200 ms).
// Leading intervals are logged by the callbacks into one mutex-protected log
// and checked for overlap. Every wait is a deadline on observable state, never
// a fixed sleep used as synchronisation.
#include "setpoint/runtime/leader_election.h"

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "apiserver/server.h"
#include "setpoint/common/json.h"
#include "store/memory/memory_store.h"
#include "testing/eventually.h"

namespace setpoint::runtime {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kLease = 2s;
constexpr auto kRenewDeadline = 1s;
constexpr auto kRetry = 200ms;

using test::Eventually;

// Leading intervals of every candidate, in the order the callbacks ran.
struct LeadLog {
  struct Interval {
    std::string who;
    Clock::time_point start, end = Clock::time_point::max();
  };
  std::mutex mu;
  std::vector<Interval> intervals;

  void started(const std::string& who) {
    std::lock_guard lock(mu);
    intervals.push_back({who, Clock::now()});
  }
  void stopped(const std::string& who) {
    std::lock_guard lock(mu);
    for (auto it = intervals.rbegin(); it != intervals.rend(); ++it) {
      if (it->who == who && it->end == Clock::time_point::max()) {
        it->end = Clock::now();
        return;
      }
    }
    ADD_FAILURE() << who << " stopped leading without having started";
  }
  std::vector<Interval> snapshot() {
    std::lock_guard lock(mu);
    return intervals;
  }
  void expect_no_overlap() {
    auto all = snapshot();
    for (std::size_t i = 0; i < all.size(); ++i) {
      for (std::size_t j = i + 1; j < all.size(); ++j) {
        EXPECT_TRUE(all[i].end <= all[j].start || all[j].end <= all[i].start)
            << all[i].who << " and " << all[j].who << " led at the same time";
      }
    }
  }
};

// Delegates to a real RestClient until broken, then fails every request as a
// dead network would.
class BreakableRestClient final : public client::RestClient {
 public:
  explicit BreakableRestClient(client::RestClientPtr inner) : inner_(std::move(inner)) {}
  std::atomic<bool> broken{false};
  std::atomic<int> requests{0};
  Result<client::Response> request(client::Method method, std::string_view path_and_query, std::string_view body,
                                   std::string_view content_type, const client::Headers& headers) override {
    ++requests;
    if (broken) return Err(Status::Unavailable("connection refused (test)"));
    return inner_->request(method, path_and_query, body, content_type, headers);
  }
  Result<client::WatchStreamPtr> watch(std::string_view path_and_query) override {
    if (broken) return Err(Status::Unavailable("connection refused (test)"));
    return inner_->watch(path_and_query);
  }
  const client::RestConfig& config() const override { return inner_->config(); }
  std::size_t connections_opened() const override { return inner_->connections_opened(); }

 private:
  client::RestClientPtr inner_;
};

// One candidate running on its own thread, with its own RestClient so that one
// candidate's client can fail without touching the others.
struct Candidate {
  std::string id;
  BreakableRestClient* breakable = nullptr;  // owned by `rest`
  client::RestClientPtr rest;
  std::unique_ptr<client::DynamicClient> client;
  LeaderElectorPtr elector;
  std::atomic<int> started{0}, stopped{0};
  std::atomic<bool> returned{false};
  std::atomic<bool> work_saw_stop{false};
  std::mutex mu;
  std::vector<std::string> new_leaders;  // GUARDED_BY(mu)
  std::jthread thread;                   // last: stopped and joined first on destruction

  std::vector<std::string> leaders_seen() {
    std::lock_guard lock(mu);
    return new_leaders;
  }

  void start() {
    thread = std::jthread([this](std::stop_token st) {
      elector->run(st);
      returned = true;
    });
  }
  void stop() {
    thread.request_stop();
    if (thread.joinable()) thread.join();
  }
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("leader_it_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = apiserver::Server::Start({.data_dir = dir_.string(),
                                       .listen = "127.0.0.1:0",
                                       .worker_threads = 4,
                                       .io_threads = 1,
                                       .write_kubeconfig = false},
                                      store::NewMemoryStore());
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    server_ = std::move(*s);
    rest_ = NewRest();
    client_ = std::make_unique<client::DynamicClient>(*rest_);
  }
  void TearDown() override {
    candidates_.clear();  // stops the threads before the server goes
    client_.reset();
    rest_.reset();
    if (server_) server_->stop();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  client::RestClientPtr NewRest() {
    client::RestConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(server_->port());
    c.timeout = 300ms;  // well below the renew deadline
    client::RestClientOptions o;
    o.retry.max_attempts = 1;
    auto r = client::RestClient::Create(c, o);
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    return std::move(*r);
  }

  Candidate& AddCandidate(const std::string& id, bool release_on_cancel = true, EnvPtr env = nullptr) {
    auto c = std::make_unique<Candidate>();
    Candidate& cand = *c;
    cand.id = id;
    auto breakable = std::make_unique<BreakableRestClient>(NewRest());
    cand.breakable = breakable.get();
    cand.rest = std::move(breakable);
    cand.client = std::make_unique<client::DynamicClient>(*cand.rest);
    LeaderElectionConfig config;
    config.lease_name = "my-controller";
    config.identity = id;
    config.lease_duration = kLease;
    config.renew_deadline = kRenewDeadline;
    config.retry_period = kRetry;
    config.release_on_cancel = release_on_cancel;
    config.env = std::move(env);
    config.callbacks.on_new_leader = [&cand](const std::string& who) {
      std::lock_guard lock(cand.mu);
      cand.new_leaders.push_back(who);
    };
    config.callbacks.on_started_leading = [this, &cand](std::stop_token leading) {
      log_.started(cand.id);
      ++cand.started;
      // The leader's work: runs until its token is stopped.
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait(lock, leading, [] { return false; });
      cand.work_saw_stop = true;
    };
    config.callbacks.on_stopped_leading = [this, &cand] {
      log_.stopped(cand.id);
      ++cand.stopped;
    };
    auto e = LeaderElector::Create(*cand.client, std::move(config));
    EXPECT_TRUE(e.has_value()) << e.error().to_string();
    cand.elector = std::move(*e);
    candidates_.push_back(std::move(c));
    return cand;
  }

  LeaderElectionRecord Record() {
    auto got = client_->get(kLeasesResource, "default", "my-controller");
    EXPECT_TRUE(got.has_value()) << got.error().to_string();
    if (!got) return {};
    return LeaseRecord(*got);
  }

  std::filesystem::path dir_;
  std::unique_ptr<apiserver::Server> server_;
  client::RestClientPtr rest_;
  std::unique_ptr<client::DynamicClient> client_;
  LeadLog log_;
  std::vector<std::unique_ptr<Candidate>> candidates_;
};

TEST(LeaderElectionConfigTest, RejectsTimingsClientGoRejects) {
  client::RestConfig rc;
  rc.server = "http://127.0.0.1:1";
  auto rest = client::RestClient::Create(rc);
  ASSERT_TRUE(rest.has_value());
  client::DynamicClient dc(**rest);
  LeaderElectionConfig ok;
  ok.lease_name = "l";
  ok.identity = "a";
  EXPECT_TRUE(LeaderElector::Create(dc, ok).has_value());
  auto bad = ok;
  bad.renew_deadline = bad.lease_duration;
  EXPECT_FALSE(LeaderElector::Create(dc, bad).has_value());
  bad = ok;
  bad.renew_deadline = 2s;
  bad.retry_period = 2s;  // needs renew_deadline > 1.2 * retry_period
  EXPECT_FALSE(LeaderElector::Create(dc, bad).has_value());
  bad = ok;
  bad.identity.clear();
  EXPECT_FALSE(LeaderElector::Create(dc, bad).has_value());
}

TEST(FormatMicroTimeTest, MicrosecondsUtc) {
  WallTime t{std::chrono::seconds(1136214245) + std::chrono::microseconds(7)};
  EXPECT_EQ(FormatMicroTime(t), "2006-01-02T15:04:05.000007Z");
}

TEST_F(LeaderElectionTest, SingleCandidateAcquiresRenewsAndReleases) {
  Candidate& a = AddCandidate("a");
  a.start();
  ASSERT_TRUE(Eventually([&] { return a.elector->is_leader() && a.started == 1; }, 5s));
  EXPECT_EQ(a.elector->leader(), "a");
  LeaderElectionRecord first = Record();
  EXPECT_EQ(first.holder_identity, "a");
  EXPECT_EQ(first.lease_duration_seconds, 2);
  EXPECT_EQ(first.lease_transitions, 0);
  EXPECT_EQ(first.renew_time.size(), std::string("2006-01-02T15:04:05.000000Z").size()) << first.renew_time;
  ASSERT_TRUE(Eventually([&] { return Record().renew_time != first.renew_time; }, 2s)) << "renewTime never advanced";
  LeaderElectionRecord later = Record();
  EXPECT_EQ(later.holder_identity, "a");
  EXPECT_EQ(later.acquire_time, first.acquire_time);
  EXPECT_GT(later.renew_time, first.renew_time);

  a.stop();
  EXPECT_TRUE(a.returned);
  EXPECT_TRUE(a.work_saw_stop);
  EXPECT_EQ(a.stopped, 1);
  EXPECT_FALSE(a.elector->is_leader());
  LeaderElectionRecord released = Record();
  EXPECT_EQ(released.holder_identity, "");
  EXPECT_EQ(released.lease_duration_seconds, 1);
  EXPECT_EQ(released.lease_transitions, 0);
}

TEST_F(LeaderElectionTest, TwoCandidatesHandOverOnReleaseAndOnExpiry) {
  Candidate& a = AddCandidate("a");
  Candidate& b = AddCandidate("b", /*release_on_cancel=*/false);
  a.start();
  ASSERT_TRUE(Eventually([&] { return a.started == 1; }, 5s));
  b.start();
  // b sees a as leader and waits; over several of a's renewals b never leads.
  ASSERT_TRUE(Eventually([&] { return b.elector->leader() == "a"; }, 2s));
  EXPECT_FALSE(Eventually([&] { return b.started > 0; }, 1s));

  // a stops with release: b takes over at its next retry (at most 2.2 retry
  // periods).
  auto stop_a = Clock::now();
  a.stop();
  ASSERT_TRUE(Eventually([&] { return b.started == 1; }, 2s));
  EXPECT_LT(Clock::now() - stop_a, kRetry * 22 / 10 + 500ms);
  EXPECT_EQ(Record().holder_identity, "b");
  EXPECT_EQ(Record().lease_transitions, 1);

  // A third candidate waits; b dies without releasing: c takes over once the
  // lease expires by c's own clock (lease duration after c last saw b renew),
  // not before.
  Candidate& c = AddCandidate("c");
  c.start();
  ASSERT_TRUE(Eventually([&] { return c.elector->leader() == "b"; }, 2s));
  auto stop_b = Clock::now();
  b.stop();
  EXPECT_EQ(b.stopped, 1);
  EXPECT_EQ(Record().holder_identity, "b");  // not released
  ASSERT_TRUE(Eventually([&] { return c.started == 1; }, kLease + kRetry * 22 / 10 + 1s));
  auto handover = Clock::now() - stop_b;
  EXPECT_GT(handover, kLease - kRetry * 2) << "took over an unexpired lease";
  EXPECT_LT(handover, kLease + kRetry * 44 / 10 + 300ms);
  EXPECT_EQ(Record().holder_identity, "c");
  EXPECT_EQ(Record().lease_transitions, 2);

  c.stop();
  EXPECT_EQ(c.leaders_seen(), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(b.leaders_seen(), (std::vector<std::string>{"a", "b"}));
  log_.expect_no_overlap();
  auto intervals = log_.snapshot();
  ASSERT_EQ(intervals.size(), 3u);
  EXPECT_EQ(intervals[0].who, "a");
  EXPECT_EQ(intervals[1].who, "b");
  EXPECT_EQ(intervals[2].who, "c");
}

// A Lease whose renewTime is years old but which this candidate has only just
// seen is not expired: expiry runs on the candidate's own (here fake) clock
// from its first observation.
TEST_F(LeaderElectionTest, ExpiryIsJudgedByTheLocalClockNotTheRemoteRenewTime) {
  json::object ghost{{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", {{"name", "my-controller"}, {"namespace", "default"}}},
                     {"spec",
                      {{"holderIdentity", "ghost"},
                       {"leaseDurationSeconds", 2},
                       {"acquireTime", "2000-01-01T00:00:00.000000Z"},
                       {"renewTime", "2000-01-01T00:00:00.000000Z"},
                       {"leaseTransitions", 4}}}};
  ASSERT_TRUE(client_->create(kLeasesResource, "default", ghost).has_value());
  auto env = std::make_shared<FakeEnv>();
  Candidate& b = AddCandidate("b", true, env);
  b.start();
  ASSERT_TRUE(Eventually([&] { return b.elector->leader() == "ghost"; }, 2s));
  // Drive fake time in 100 ms steps, giving b real time to poll after each
  // step. The pause only paces the test: were b slow, it would poll less often,
  // never take over earlier.
  const int polls_before = b.breakable->requests;
  Duration fake{0};
  while (b.started == 0 && fake < 3s) {
    EXPECT_EQ(Record().holder_identity, "ghost");
    env->advance(100ms);
    fake += 100ms;
    // Give b up to 20 ms of real time to act on this step (it may take over now).
    if (Eventually([&] { return b.started > 0; }, 20ms, 2ms)) break;
  }
  ASSERT_TRUE(Eventually([&] { return b.started == 1; }, 2s));
  EXPECT_GE(fake, Duration(kLease)) << "took over before the lease expired by the local clock";
  EXPECT_GT(b.breakable->requests - polls_before, 3) << "b did not keep polling";
  LeaderElectionRecord r = Record();
  EXPECT_EQ(r.holder_identity, "b");
  EXPECT_EQ(r.lease_transitions, 5);
  EXPECT_NE(r.acquire_time, "2000-01-01T00:00:00.000000Z");
}

TEST_F(LeaderElectionTest, StepsDownWhenSomeoneElseTakesTheLease) {
  Candidate& a = AddCandidate("a");
  a.start();
  ASSERT_TRUE(Eventually([&] { return a.started == 1; }, 5s));
  // An intruder overwrites the Lease (retrying on conflict with a's renewals).
  ASSERT_TRUE(Eventually(
      [&] {
        auto got = client_->get(kLeasesResource, "default", "my-controller");
        if (!got) return false;
        EnsureObject(*got, "spec")["holderIdentity"] = "intruder";
        return client_->update(kLeasesResource, "default", *got).has_value();
      },
      2s));
  auto overwritten = Clock::now();
  ASSERT_TRUE(Eventually([&] { return a.returned.load(); }, kRenewDeadline + 1s));
  EXPECT_LT(Clock::now() - overwritten, kRenewDeadline);
  EXPECT_EQ(a.stopped, 1);
  EXPECT_TRUE(a.work_saw_stop);
  EXPECT_FALSE(a.elector->is_leader());
  EXPECT_EQ(a.elector->leader(), "intruder");
  EXPECT_EQ(Record().holder_identity, "intruder");
}

TEST_F(LeaderElectionTest, LeaderCutOffFromTheServerStepsDownBeforeTheOtherTakesOver) {
  Candidate& a = AddCandidate("a");
  Candidate& b = AddCandidate("b");
  a.start();
  ASSERT_TRUE(Eventually([&] { return a.started == 1; }, 5s));
  b.start();
  ASSERT_TRUE(Eventually([&] { return b.elector->leader() == "a"; }, 2s));
  a.breakable->broken = true;  // a's renewals now fail; b still reaches the server
  auto cut = Clock::now();
  ASSERT_TRUE(Eventually([&] { return a.returned.load(); }, kRenewDeadline + 1s));
  EXPECT_LT(Clock::now() - cut, kRenewDeadline + 100ms);
  EXPECT_EQ(a.stopped, 1);
  EXPECT_FALSE(a.elector->is_leader());
  ASSERT_TRUE(Eventually([&] { return b.started == 1; }, kLease + kRetry * 44 / 10 + 1s));
  EXPECT_LT(Clock::now() - cut, kLease + kRetry * 44 / 10 + 300ms);
  EXPECT_EQ(Record().holder_identity, "b");
  EXPECT_EQ(Record().lease_transitions, 1);
  b.stop();
  log_.expect_no_overlap();
  auto intervals = log_.snapshot();
  ASSERT_EQ(intervals.size(), 2u);
  // The margin between a's step-down and b's start is lease duration − renew
  // deadline at most.
  EXPECT_GT(intervals[1].start - intervals[0].end, 200ms);
}

TEST_F(LeaderElectionTest, StepsDownWithinRenewDeadlineWhenTheServerIsGone) {
  Candidate& a = AddCandidate("a");
  a.start();
  ASSERT_TRUE(Eventually([&] { return a.started == 1; }, 5s));
  client_.reset();
  rest_.reset();
  server_->stop();
  server_.reset();
  auto gone = Clock::now();
  ASSERT_TRUE(Eventually([&] { return a.returned.load(); }, kRenewDeadline + 2s));
  // renew deadline from the last success, plus at most one request timeout in
  // flight.
  EXPECT_LT(Clock::now() - gone, kRenewDeadline + 300ms + 200ms);
  EXPECT_EQ(a.stopped, 1);
  EXPECT_TRUE(a.work_saw_stop);
  EXPECT_FALSE(a.elector->is_leader());
}

}  // namespace
}  // namespace setpoint::runtime
