#include "store/revision_floor.h"

#include <boost/json.hpp>

#include "setpoint/common/json.h"
#include "store/backend_support.h"

namespace setpoint::store {

namespace json = boost::json;

namespace {

bool Hidden(std::string_view key) { return key.starts_with("/setpoint/"); }

// Shifts the events of the backend's watch up by the offset, and hides the store's own keys.
class ShiftingSink final : public WatchSink {
 public:
  ShiftingSink(WatchSink& inner, Revision offset) : inner_(inner), offset_(offset) {}
  void on_events(std::span<const Event> events) override {
    std::vector<Event> out;
    out.reserve(events.size());
    for (const Event& e : events) {
      if (Hidden(e.key)) continue;
      Event shifted = e;
      shifted.revision += offset_;
      out.push_back(std::move(shifted));
    }
    if (!out.empty()) inner_.on_events(out);
  }
  void on_error(const Status& status) override { inner_.on_error(status); }

 private:
  WatchSink& inner_;
  const Revision offset_;
};

class ShiftedHandle final : public WatchHandle {
 public:
  ShiftedHandle(std::unique_ptr<ShiftingSink> sink, WatchHandlePtr inner)
      : sink_(std::move(sink)), inner_(std::move(inner)) {}
  ~ShiftedHandle() override { inner_.reset(); }  // the backend stops calling the sink first

 private:
  std::unique_ptr<ShiftingSink> sink_;
  WatchHandlePtr inner_;
};

class RevisionFloorStore final : public Store {
 public:
  RevisionFloorStore(StorePtr backend, RevisionFloor f) : b_(std::move(backend)), f_(f) {}

  Result<Revision> create(std::string key, Bytes value) override {
    return up(b_->create(std::move(key), std::move(value)));
  }
  Result<Revision> update(std::string key, Bytes value, Revision expected) override {
    auto e = down_expected(key, expected);
    if (!e) return Err(e.error());
    return up(b_->update(std::move(key), std::move(value), *e));
  }
  void create_async(std::string key, Bytes value, WriteCallback done) override {
    b_->create_async(std::move(key), std::move(value),
                     [this, done = std::move(done)](Result<Revision> r) { done(up(std::move(r))); });
  }
  void update_async(std::string key, Bytes value, Revision expected, WriteCallback done) override {
    auto e = down_expected(key, expected);
    if (!e) return done(Err(e.error()));
    b_->update_async(std::move(key), std::move(value), *e,
                     [this, done = std::move(done)](Result<Revision> r) { done(up(std::move(r))); });
  }
  Result<Revision> remove(std::string key, Revision expected) override {
    auto e = down_expected(key, expected);
    if (!e) return Err(e.error());
    return up(b_->remove(std::move(key), *e));
  }
  Result<KeyValue> get(std::string_view key) override {
    auto kv = b_->get(key);
    if (kv) kv->revision += f_.offset;
    return kv;
  }
  Result<ListResult> list(std::string_view prefix, Revision at) override {
    if (at != 0 && at <= f_.floor) return Err(TooOldRevision(at, compacted_revision()));
    auto r = b_->list(prefix, at == 0 ? 0 : at - f_.offset);
    if (!r) return Err(r.error());
    r->revision += f_.offset;
    std::erase_if(r->items, [](const KeyValue& kv) { return Hidden(kv.key); });
    for (auto& kv : r->items) kv.revision += f_.offset;
    return r;
  }
  Result<WatchHandlePtr> watch(Revision after, WatchSink& sink) override {
    if (after < f_.floor) return Err(TooOldRevision(after, compacted_revision()));
    auto shifting = std::make_unique<ShiftingSink>(sink, f_.offset);
    auto inner = b_->watch(after - f_.offset, *shifting);
    if (!inner) return Err(inner.error());
    return WatchHandlePtr(std::make_unique<ShiftedHandle>(std::move(shifting), std::move(*inner)));
  }
  Status compact(Revision upto) override { return b_->compact(upto - f_.offset); }
  Revision current_revision() override { return b_->current_revision() + f_.offset; }
  Revision compacted_revision() override { return std::max(b_->compacted_revision() + f_.offset, f_.floor); }
  CommitStats commit_stats() override { return b_->commit_stats(); }
  StoreHealth health() override { return b_->health(); }
  void close() override { b_->close(); }

 private:
  Result<Revision> up(Result<Revision> r) const {
    if (r) return *r + f_.offset;
    return Err(r.error());
  }
  // An expected revision at or below the offset names a version the backend never had.
  Result<Revision> down_expected(const std::string& key, Revision expected) const {
    if (expected == 0) return Revision{0};
    if (expected <= f_.offset)
      return Err(Status::Conflict("revision mismatch for " + key + ": expected " + std::to_string(expected) +
                                  ", which predates this store"));
    return expected - f_.offset;
  }
  StorePtr b_;
  const RevisionFloor f_;
};

}  // namespace

Result<RevisionFloor> ReadRevisionFloor(Store& backend) {
  auto kv = backend.get(kRevisionFloorKey);
  if (!kv) {
    if (kv.error().code() == StatusCode::kNotFound) return RevisionFloor{};
    return Err(kv.error());
  }
  auto parsed = ParseJson(*kv->value);
  if (!parsed || !parsed->is_object()) return Err(Status::Internal("the store's revision floor record is not JSON"));
  RevisionFloor f;
  f.offset = GetInt(parsed->as_object(), "offset").value_or(0);
  f.floor = GetInt(parsed->as_object(), "floor").value_or(0);
  return f;
}

Result<RevisionFloor> RaiseRevisionFloor(Store& backend, Revision at_least) {
  auto old = ReadRevisionFloor(backend);
  if (!old) return Err(old.error());
  RevisionFloor f;
  f.floor = std::max(old->floor, at_least);
  // Every revision the backend ever had is >= 1, so an offset of the floor maps all of them — the
  // objects already there (a restored snapshot) included — above it.
  f.offset = std::max(old->offset, f.floor);
  const std::string body = json::serialize(json::object{{"offset", f.offset}, {"floor", f.floor}});
  auto existing = backend.get(kRevisionFloorKey);
  Result<Revision> w = existing ? backend.update(std::string(kRevisionFloorKey), MakeBytes(body), existing->revision)
                                : backend.create(std::string(kRevisionFloorKey), MakeBytes(body));
  if (!w) return Err(w.error());
  return f;
}

Result<StorePtr> WithRevisionFloor(StorePtr backend) {
  auto f = ReadRevisionFloor(*backend);
  if (!f) return Err(f.error());
  if (f->offset == 0 && f->floor == 0) return backend;
  return StorePtr(std::make_unique<RevisionFloorStore>(std::move(backend), *f));
}

}  // namespace setpoint::store
