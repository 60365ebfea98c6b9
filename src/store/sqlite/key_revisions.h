// KeyRevisions: the sqlite writer's map of every live key to its mod revision, so that
// preconditions need no SELECT. It holds a 64-bit hash of each key, not the key: about 40 bytes
// per key instead of ~130 for a map of strings (keys are ~60-byte registry paths).
//
// What find() answers:
//   0        no live key has this hash, so the key is absent: certain (every live key is here);
//   kShared  two live keys have had this hash: ask the database;
//   > 0      the revision of the one live key with this hash, which is this key if it is live.
// So a caller trusts 0, asks the database on kShared, and for > 0 either knows the key is live
// (an update or delete whose statement touched its row) or checks (a create, a failed
// precondition). A shared hash stays shared until the map is rebuilt (at open); collisions of a
// 64-bit hash are rare enough that this costs nothing in practice, and a deliberate one costs a
// SELECT, not a wrong answer.
//
// Thread-safety: none; the writer thread owns it.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "setpoint/store/store.h"

namespace setpoint::store {

class KeyRevisions {
 public:
  static constexpr Revision kShared = -1;
  using HashFn = std::uint64_t (*)(std::string_view);

  // `hash`: null for the real one; tests pass colliding ones.
  explicit KeyRevisions(HashFn hash = nullptr) : hash_(hash ? hash : DefaultHash) {}

  Revision find(std::string_view key) const {
    auto it = map_.find(hash_(key));
    return it == map_.end() ? 0 : it->second;
  }
  // A key that was absent is now live at `rev`. If another live key has its hash, the hash
  // becomes shared.
  void add(std::string_view key, Revision rev) {
    auto [it, inserted] = map_.try_emplace(hash_(key), rev);
    if (!inserted) it->second = kShared;
  }
  // A live key (or one live again, when undoing its deletion) is at `rev`.
  void set(std::string_view key, Revision rev) {
    Revision& r = map_[hash_(key)];
    if (r != kShared) r = rev;
  }
  // The key is no longer live.
  void erase(std::string_view key) {
    auto it = map_.find(hash_(key));
    if (it != map_.end() && it->second != kShared) map_.erase(it);
  }
  std::size_t size() const { return map_.size(); }
  void reserve(std::size_t n) { map_.reserve(n); }

 private:
  // libstdc++'s std::hash of bytes is 64-bit Murmur2: well mixed in the low bits the buckets use.
  static std::uint64_t DefaultHash(std::string_view key) { return std::hash<std::string_view>{}(key); }
  struct Identity {
    std::size_t operator()(std::uint64_t h) const noexcept { return h; }
  };
  HashFn hash_;
  std::unordered_map<std::uint64_t, Revision, Identity> map_;
};

}  // namespace setpoint::store
