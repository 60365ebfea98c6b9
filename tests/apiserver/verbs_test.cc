// The verbs against an in-memory store, with no HTTP: requests are values handed to the handler.
// Every case runs through both entry points — handle() on the caller's thread, and handle_async()
// as the transport's I/O threads call it, with a worker for the steps that may block — which are
// one implementation and must answer alike.
#include <condition_variable>
#include <deque>
#include <future>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "apiserver/api_handler.h"
#include "setpoint/common/json.h"
#include "store/cache/watch_cache.h"
#include "store/memory/memory_store.h"

namespace setpoint::apiserver {
namespace {

namespace json = boost::json;

// One worker thread: where handle_async's blocking steps run, as the transport's pool would.
class Worker {
 public:
  Worker() : thread_([this](std::stop_token st) { run(st); }) {}
  void post(std::function<void()> step) {
    std::lock_guard lock(mu_);
    steps_.push_back(std::move(step));
    cv_.notify_one();
  }

 private:
  void run(std::stop_token st) {
    std::unique_lock lock(mu_);
    while (!st.stop_requested()) {
      if (!cv_.wait(lock, st, [&] { return !steps_.empty(); })) return;
      while (!steps_.empty()) {
        auto step = std::move(steps_.front());
        steps_.pop_front();
        lock.unlock();
        step();
        lock.lock();
      }
    }
  }
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::function<void()>> steps_;
  std::jthread thread_;  // last: stopped and joined before the queue goes
};

struct Answer {
  int status = 0;
  json::object body;
  std::vector<std::string> warnings;
};

class VerbsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    store_ = store::NewMemoryStore();
    auto cache = store::WatchCache::Start(*store_, {});
    ASSERT_TRUE(cache.has_value());
    cache_ = std::move(*cache);
    handler_ = std::make_unique<ApiHandler>(*store_, *cache_, registry_, std::make_shared<SystemClock>());
    handler_->set_blocking_executor([this](std::function<void()> step) { worker_.post(std::move(step)); });
    for (const char* ns : {"default", "team"}) {
      json::object obj{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
      ASSERT_TRUE(handler_->create_internal("", "namespaces", "", std::move(obj)).ok());
    }
  }
  void TearDown() override {
    handler_.reset();
    cache_.reset();
    store_->close();
  }

  // A request as the transport hands it over, through the entry point under test.
  Answer call(std::string method, std::string path, std::string body = "", std::string query = "",
              std::string content_type = "application/json") {
    HttpRequest req;
    req.method = std::move(method);
    req.path = path;
    req.query = query;
    req.target = query.empty() ? path : path + "?" + query;
    if (!body.empty()) req.headers.emplace_back("content-type", std::move(content_type));
    req.body = std::move(body);
    HttpResponse resp;
    if (GetParam() && handler_->accepts_async(req)) {
      std::promise<HttpResponse> answered;
      handler_->handle_async(req, [&answered](HttpResponse r) { answered.set_value(std::move(r)); });
      auto future = answered.get_future();
      EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
      resp = future.get();
    } else {
      resp = handler_->handle(req);
    }
    Answer a;
    a.status = resp.status;
    std::string text = resp.shared_body ? std::string(resp.shared_body.bytes) : resp.body;
    for (const auto& piece : resp.pieces) text += piece.bytes;  // a list, gathered from cached objects
    auto parsed = ParseJson(text);
    if (parsed && parsed->is_object()) a.body = std::move(parsed->get_object());
    for (const auto& [name, value] : resp.headers)
      if (name == "Warning") a.warnings.push_back(value);
    return a;
  }

  static std::string Meta(const json::object& obj, std::string_view field) {
    const json::object* meta = GetObject(obj, "metadata");
    return meta ? std::string(GetStringOr(*meta, field, "")) : "";
  }
  static std::string Reason(const Answer& a) { return std::string(GetStringOr(a.body, "reason", "")); }
  static std::string Message(const Answer& a) { return std::string(GetStringOr(a.body, "message", "")); }

  static constexpr const char* kConfigMaps = "/api/v1/namespaces/team/configmaps";
  static std::string ConfigMap(std::string_view name, std::string_view value, std::string_view rv = "") {
    std::string meta = "\"name\":\"" + std::string(name) + "\"";
    if (!rv.empty()) meta += ",\"resourceVersion\":\"" + std::string(rv) + "\"";
    return "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{" + meta + "},\"data\":{\"k\":\"" +
           std::string(value) + "\"}}";
  }

  store::StorePtr store_;
  std::unique_ptr<store::WatchCache> cache_;
  Registry registry_;
  Worker worker_;
  std::unique_ptr<ApiHandler> handler_;
};

TEST_P(VerbsTest, CreateThenGet) {
  Answer created = call("POST", kConfigMaps, ConfigMap("a", "1"));
  ASSERT_EQ(created.status, 201) << Message(created);
  EXPECT_FALSE(Meta(created.body, "uid").empty());
  EXPECT_FALSE(Meta(created.body, "resourceVersion").empty());
  EXPECT_EQ(Meta(created.body, "namespace"), "team");
  Answer got = call("GET", std::string(kConfigMaps) + "/a");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Meta(got.body, "uid"), Meta(created.body, "uid"));
  EXPECT_EQ(Meta(got.body, "resourceVersion"), Meta(created.body, "resourceVersion"));
}

TEST_P(VerbsTest, CreateRefusesWhatCannotBeCreated) {
  ASSERT_EQ(call("POST", kConfigMaps, ConfigMap("a", "1")).status, 201);
  Answer again = call("POST", kConfigMaps, ConfigMap("a", "2"));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Reason(again), "AlreadyExists");
  EXPECT_EQ(Message(again), "configmaps \"a\" already exists");

  Answer nowhere = call("POST", "/api/v1/namespaces/nope/configmaps", ConfigMap("a", "1"));
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_EQ(Message(nowhere), "namespaces \"nope\" not found");

  Answer garbage = call("POST", kConfigMaps, "{not json");
  EXPECT_EQ(garbage.status, 400);

  Answer named = call("POST", std::string(kConfigMaps) + "/a", ConfigMap("a", "1"));
  EXPECT_EQ(named.status, 405);
}

TEST_P(VerbsTest, ATerminatingNamespaceTakesNothingNew) {
  Answer deleting = call("DELETE", "/api/v1/namespaces/team");
  ASSERT_EQ(deleting.status, 200) << Message(deleting);
  Answer refused = call("POST", kConfigMaps, ConfigMap("late", "1"));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(Message(refused),
            "configmaps \"late\" is forbidden: unable to create new content in namespace team because it is being "
            "terminated");
}

TEST_P(VerbsTest, GenerateNameAndDryRun) {
  Answer generated =
      call("POST", kConfigMaps, R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}})");
  ASSERT_EQ(generated.status, 201) << Message(generated);
  EXPECT_EQ(Meta(generated.body, "name").rfind("gen-", 0), 0u);
  EXPECT_EQ(call("GET", std::string(kConfigMaps) + "/" + Meta(generated.body, "name")).status, 200);

  Answer dry = call("POST", kConfigMaps, ConfigMap("dry", "1"), "dryRun=All");
  ASSERT_EQ(dry.status, 201);
  EXPECT_TRUE(Meta(dry.body, "resourceVersion").empty());
  EXPECT_EQ(call("GET", std::string(kConfigMaps) + "/dry").status, 404);
}

TEST_P(VerbsTest, UpdateNeedsTheCurrentVersion) {
  Answer created = call("POST", kConfigMaps, ConfigMap("a", "1"));
  ASSERT_EQ(created.status, 201);
  const std::string rv = Meta(created.body, "resourceVersion");
  const std::string path = std::string(kConfigMaps) + "/a";

  Answer unversioned = call("PUT", path, ConfigMap("a", "2"));
  EXPECT_EQ(unversioned.status, 422);
  Answer updated = call("PUT", path, ConfigMap("a", "2", rv));
  ASSERT_EQ(updated.status, 200) << Message(updated);
  EXPECT_NE(Meta(updated.body, "resourceVersion"), rv);
  EXPECT_EQ(Meta(updated.body, "uid"), Meta(created.body, "uid"));
  Answer stale = call("PUT", path, ConfigMap("a", "3", rv));
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(Reason(stale), "Conflict");
  Answer renamed = call("PUT", path, ConfigMap("b", "3", Meta(updated.body, "resourceVersion")));
  EXPECT_EQ(renamed.status, 400);
  EXPECT_EQ(Message(renamed), "the name of the object (b) does not match the name on the URL (a)");
  Answer missing = call("PUT", std::string(kConfigMaps) + "/ghost", ConfigMap("ghost", "1", rv));
  EXPECT_EQ(missing.status, 404);
  Answer bad_rv = call("PUT", path, ConfigMap("a", "3", "18446744073709551616"));
  EXPECT_EQ(bad_rv.status, 400);
}

TEST_P(VerbsTest, AnUnchangedUpdateWritesNothing) {
  Answer created = call("POST", kConfigMaps, ConfigMap("a", "1"));
  ASSERT_EQ(created.status, 201);
  const std::string rv = Meta(created.body, "resourceVersion");
  Answer same = call("PUT", std::string(kConfigMaps) + "/a", ConfigMap("a", "1", rv));
  ASSERT_EQ(same.status, 200);
  EXPECT_EQ(Meta(same.body, "resourceVersion"), rv);
}

TEST_P(VerbsTest, StatusIsWrittenOnlyThroughItsSubresource) {
  const std::string procs = "/apis/setpoint.dev/v1alpha1/namespaces/team/processes";
  Answer created = call("POST", procs,
                        R"({"apiVersion":"setpoint.dev/v1alpha1","kind":"Process","metadata":{"name":"p"},
                            "spec":{"command":["/bin/true"]},"status":{"phase":"Running"}})");
  ASSERT_EQ(created.status, 201) << Message(created);
  EXPECT_FALSE(created.body.contains("status"));
  json::object with_status = created.body;
  with_status["status"] = json::object{{"phase", "Running"}};
  GetObject(with_status, "spec")->insert_or_assign("command", json::array{"/bin/false"});
  Answer st = call("PUT", procs + "/p/status", json::serialize(with_status));
  ASSERT_EQ(st.status, 200) << Message(st);
  EXPECT_EQ(GetStringOr(*GetObject(st.body, "status"), "phase", ""), "Running");
  EXPECT_EQ(json::serialize(GetObject(st.body, "spec")->at("command")), R"(["/bin/true"])");
  EXPECT_EQ(GetInt(*GetObject(st.body, "metadata"), "generation"), 1);
}

TEST_P(VerbsTest, ScaleIsReadAndWrittenThroughItsSubresource) {
  const std::string sets = "/apis/setpoint.dev/v1alpha1/namespaces/team/processsets";
  Answer created =
      call("POST", sets, R"({"apiVersion":"setpoint.dev/v1alpha1","kind":"ProcessSet","metadata":{"name":"s"},
    "spec":{"replicas":1,"selector":{"matchLabels":{"app":"s"}},
            "template":{"metadata":{"labels":{"app":"s"}},"spec":{"command":["/bin/true"]}}}})");
  ASSERT_EQ(created.status, 201) << Message(created);
  Answer scaled = call("PUT", sets + "/s/scale", R"({"kind":"Scale","apiVersion":"autoscaling/v1",
    "metadata":{"name":"s"},"spec":{"replicas":3}})");
  ASSERT_EQ(scaled.status, 200) << Message(scaled);
  EXPECT_EQ(GetStringOr(scaled.body, "kind", ""), "Scale");
  EXPECT_EQ(GetInt(*GetObject(scaled.body, "spec"), "replicas"), 3);
  Answer patched = call("PATCH", sets + "/s/scale", R"({"spec":{"replicas":5}})", "", "application/merge-patch+json");
  ASSERT_EQ(patched.status, 200) << Message(patched);
  EXPECT_EQ(GetInt(*GetObject(patched.body, "spec"), "replicas"), 5);
  Answer set = call("GET", sets + "/s");
  EXPECT_EQ(GetInt(*GetObject(set.body, "spec"), "replicas"), 5);
  EXPECT_EQ(GetInt(*GetObject(set.body, "metadata"), "generation"), 3);
  EXPECT_EQ(call("PUT", sets + "/s/scale", R"({"spec":{"replicas":-1}})").status, 422);
}

TEST_P(VerbsTest, TheLastFinalizerRemovedDeletesTheObject) {
  Answer created =
      call("POST", kConfigMaps,
           R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/hold"]}})");
  ASSERT_EQ(created.status, 201);
  const std::string path = std::string(kConfigMaps) + "/held";
  Answer deleting = call("DELETE", path);
  ASSERT_EQ(deleting.status, 200);
  EXPECT_FALSE(Meta(deleting.body, "deletionTimestamp").empty());
  json::object released = deleting.body;
  GetObject(released, "metadata")->erase("finalizers");
  Answer removed = call("PUT", path, json::serialize(released));
  ASSERT_EQ(removed.status, 200) << Message(removed);
  EXPECT_EQ(call("GET", path).status, 404);
}

TEST_P(VerbsTest, PatchAndDelete) {
  ASSERT_EQ(call("POST", kConfigMaps, ConfigMap("a", "1")).status, 201);
  const std::string path = std::string(kConfigMaps) + "/a";
  Answer patched = call("PATCH", path, R"({"data":{"k":"2","j":"3"}})", "", "application/merge-patch+json");
  ASSERT_EQ(patched.status, 200) << Message(patched);
  EXPECT_EQ(json::serialize(patched.body.at("data")), R"({"k":"2","j":"3"})");
  Answer deleted = call("DELETE", path);
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(GetStringOr(deleted.body, "status", ""), "Success");
  EXPECT_EQ(call("GET", path).status, 404);
  EXPECT_EQ(call("DELETE", path).status, 404);
}

TEST_P(VerbsTest, UnknownFieldsAreWarnedAboutOrRefused) {
  const std::string body = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"extra":1})";
  Answer strict = call("POST", kConfigMaps, body, "fieldValidation=Strict");
  EXPECT_EQ(strict.status, 400);
  EXPECT_EQ(Message(strict), "strict decoding error: unknown field \"extra\"");
  Answer warned = call("POST", kConfigMaps, body);
  ASSERT_EQ(warned.status, 201);
  ASSERT_EQ(warned.warnings.size(), 1u);
  EXPECT_EQ(warned.warnings[0], "299 - \"unknown field \\\"extra\\\"\"");
  EXPECT_EQ(call("POST", kConfigMaps, body, "fieldValidation=Sometimes").status, 400);
}

TEST_P(VerbsTest, AResourceNobodyServesIsNotFound) {
  Answer none = call("POST", "/apis/example.com/v1/namespaces/team/widgets", R"({"metadata":{"name":"w"}})");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(Message(none), "the server could not find the requested resource");
}

TEST_P(VerbsTest, ListPagesAndSelectsAndDeleteCollectionRemovesWhatItSelects) {
  for (const char* name : {"a", "b", "c"}) {
    std::string body = std::string(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")") + name +
                       R"(","labels":{"tier":")" + (std::string(name) == "c" ? "db" : "web") + R"("}}})";
    ASSERT_EQ(call("POST", kConfigMaps, body).status, 201);
  }
  auto names = [](const Answer& a) {
    std::vector<std::string> out;
    if (const json::array* items = GetArray(a.body, "items"))
      for (const auto& item : *items) out.push_back(Meta(item.as_object(), "name"));
    return out;
  };
  Answer all = call("GET", kConfigMaps);
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(GetStringOr(all.body, "kind", ""), "ConfigMapList");
  EXPECT_EQ(names(all), (std::vector<std::string>{"a", "b", "c"}));
  Answer web = call("GET", kConfigMaps, "", "labelSelector=tier%3Dweb");
  EXPECT_EQ(names(web), (std::vector<std::string>{"a", "b"}));

  Answer first = call("GET", kConfigMaps, "", "limit=2");
  EXPECT_EQ(names(first), (std::vector<std::string>{"a", "b"}));
  std::string cont(GetStringOr(*GetObject(first.body, "metadata"), "continue", ""));
  ASSERT_FALSE(cont.empty());
  Answer rest = call("GET", kConfigMaps, "", "limit=2&continue=" + cont);
  EXPECT_EQ(names(rest), (std::vector<std::string>{"c"}));
  EXPECT_EQ(call("GET", kConfigMaps, "", "continue=garbage").status, 400);

  Answer removed = call("DELETE", kConfigMaps, "", "labelSelector=tier%3Dweb");
  ASSERT_EQ(removed.status, 200) << Message(removed);
  EXPECT_EQ(names(removed), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(names(call("GET", kConfigMaps)), (std::vector<std::string>{"c"}));
}

TEST_P(VerbsTest, AWatchFollowsWritesFromTheRevisionItNames) {
  Answer created = call("POST", kConfigMaps, ConfigMap("a", "1"));
  ASSERT_EQ(created.status, 201);
  HttpRequest req;
  req.method = "GET";
  req.path = kConfigMaps;
  req.query = "watch=1&resourceVersion=" + Meta(created.body, "resourceVersion");
  req.target = req.path + "?" + req.query;
  HttpResponse resp = handler_->handle(req);
  ASSERT_EQ(resp.status, 200);
  ASSERT_NE(resp.stream, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;
  resp.stream->set_waker([&] {
    std::lock_guard lock(mu);
    woken = true;
    cv.notify_all();
  });
  ASSERT_EQ(
      call("PUT", std::string(kConfigMaps) + "/a", ConfigMap("a", "2", Meta(created.body, "resourceVersion"))).status,
      200);
  ASSERT_EQ(call("DELETE", std::string(kConfigMaps) + "/a").status, 200);
  // Events as the transport would pull them, until both writes are seen or 10 s have gone.
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen.find("\"DELETED\"") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::vector<SharedBytes> chunks;
    StreamSource::Poll poll = resp.stream->poll(chunks);
    for (const auto& c : chunks) seen += c.bytes;
    if (poll == StreamSource::Poll::kEnd) break;
    if (chunks.empty()) {
      std::unique_lock lock(mu);
      cv.wait_until(lock, std::min(deadline, resp.stream->next_deadline()), [&] { return woken; });
      woken = false;
    }
  }
  resp.stream->close();
  const auto modified = seen.find("\"MODIFIED\"");
  const auto deleted = seen.find("\"DELETED\"");
  ASSERT_NE(modified, std::string::npos) << seen;
  ASSERT_NE(deleted, std::string::npos) << seen;
  EXPECT_LT(modified, deleted);
  EXPECT_EQ(seen.find("\"ADDED\""), std::string::npos) << "the create is before the revision named";
}

INSTANTIATE_TEST_SUITE_P(EntryPoints, VerbsTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Async" : "Blocking"; });

}  // namespace
}  // namespace setpoint::apiserver
