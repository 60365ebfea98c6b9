// KeyRevisions: the sqlite writer's map of every live key to its mod revision and its row in
// `current`. `current` has no index on its key (schema version 3, docs/design/store.md): this map
// is how the writer finds a key's row, and how preconditions are checked without a SELECT.
//
// It is indexed by a 64-bit hash of the key rather than the key (~40 bytes per key instead of
// ~130 for ~60-byte registry paths). find() answers:
//   kAbsent  no live key has this key's hash: the key is absent, for certain;
//   kExact   this key's entry (keys whose hash two live keys have had are kept by name);
//   kMaybe   the entry of the one live key with this hash, which is this key if this key is live:
//            the caller checks the row's key (a create, a failed precondition), or lets its
//            statement do it (`WHERE rowid = ? AND key = ?`).
// A hash stays shared until the map is rebuilt at open. Collisions of a 64-bit hash are rare
// enough to cost nothing; a deliberate one costs a lookup by name, never a wrong answer.
//
// Thread-safety: none; the owner locks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "setpoint/store/store.h"

namespace setpoint::store {

class KeyRevisions {
 public:
  struct Entry {
    Revision rev = 0;        // mod revision; 0 never occurs for a live key
    std::int64_t rowid = 0;  // its row in `current`
  };
  enum class Match { kAbsent, kExact, kMaybe };
  struct Found {
    Match match = Match::kAbsent;
    Entry entry;
  };
  using HashFn = std::uint64_t (*)(std::string_view);

  // `hash`: null for the real one; tests pass colliding ones.
  explicit KeyRevisions(HashFn hash = nullptr) : hash_(hash ? hash : DefaultHash) {}

  Found find(std::string_view key) const {
    auto it = by_hash_.find(hash_(key));
    if (it == by_hash_.end()) return {};
    if (it->second.rowid != kShared) return {Match::kMaybe, it->second};
    auto named = by_key_.find(key);
    if (named == by_key_.end()) return {};
    return {Match::kExact, named->second};
  }
  // A key that was absent is now live. If find() said kMaybe for it, `displaced` is the key the
  // entry belonged to (read from its row): both are kept by name from then on.
  void add(std::string_view key, Entry e, std::string_view displaced = {}) {
    auto [it, inserted] = by_hash_.try_emplace(hash_(key), e);
    if (inserted) return;
    if (it->second.rowid != kShared) {
      by_key_.insert_or_assign(std::string(displaced), it->second);
      it->second = Entry{0, kShared};
    }
    by_key_.insert_or_assign(std::string(key), e);
  }
  // A live key's entry changed (an update), or a deleted key is live again (undoing a delete).
  void set(std::string_view key, Entry e) {
    auto [it, inserted] = by_hash_.try_emplace(hash_(key), e);
    if (inserted) return;
    if (it->second.rowid == kShared) {
      by_key_.insert_or_assign(std::string(key), e);
    } else {
      it->second = e;
    }
  }
  // The key is no longer live.
  void erase(std::string_view key) {
    auto it = by_hash_.find(hash_(key));
    if (it == by_hash_.end()) return;
    if (it->second.rowid == kShared) {
      if (auto named = by_key_.find(key); named != by_key_.end()) by_key_.erase(named);
    } else {
      by_hash_.erase(it);
    }
  }
  // Whether `key` shares its hash with a live key held by hash (so add() needs `displaced`).
  std::optional<Entry> hash_holder(std::string_view key) const {
    auto it = by_hash_.find(hash_(key));
    if (it == by_hash_.end() || it->second.rowid == kShared) return std::nullopt;
    return it->second;
  }

 private:
  static constexpr std::int64_t kShared = -1;  // in by_hash_: look the key up in by_key_
  // libstdc++'s std::hash of bytes is 64-bit Murmur2: well mixed in the low bits the buckets use.
  static std::uint64_t DefaultHash(std::string_view key) { return std::hash<std::string_view>{}(key); }
  struct Identity {
    std::size_t operator()(std::uint64_t h) const noexcept { return h; }
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  HashFn hash_;
  std::unordered_map<std::uint64_t, Entry, Identity> by_hash_;
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> by_key_;  // keys of shared hashes
};

}  // namespace setpoint::store
