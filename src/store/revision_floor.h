// The resourceVersion high-water rule for a store that was restored or migrated into: every
// revision it hands out must be higher than any a client saw before, so a client never sees time
// go backwards, and a client holding an older resourceVersion gets 410 Gone and relists.
//
// RevisionFloorStore wraps a backend and shifts its revisions by an offset, and treats every
// revision up to a floor as compacted. Both live in the backend itself under kRevisionFloorKey
// (outside /registry/), written by `setpoint migrate` while no server runs, and read when a server
// opens the store. With neither set the wrapper changes nothing.
//
// Thread-safe as the wrapped store is.
#pragma once

#include <string_view>

#include "setpoint/store/store.h"

namespace setpoint::store {

inline constexpr std::string_view kRevisionFloorKey = "/setpoint/revision-floor";

struct RevisionFloor {
  Revision offset = 0;  // added to every revision of the backend
  Revision floor = 0;   // revisions <= floor are gone (410), though the backend never had them
};

// Reads the floor the backend records (zero when it records none). Errors: the backend's.
Result<RevisionFloor> ReadRevisionFloor(Store& backend);

// Records a floor so that, for every server that opens `backend` afterwards, every revision is
// above `at_least`: floor = max(recorded floor, at_least), offset = max(recorded offset, floor),
// so every revision the backend has or will have maps above the floor. Returns what was recorded. Run it
// while no server uses the backend (a running server keeps its old offset until restarted).
Result<RevisionFloor> RaiseRevisionFloor(Store& backend, Revision at_least);

// The backend with its recorded floor applied (the backend itself when none is recorded).
Result<StorePtr> WithRevisionFloor(StorePtr backend);

}  // namespace setpoint::store
