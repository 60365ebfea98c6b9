// The decisions of the ProcessSet controller as a pure function (docs/design/agent.md,
// "ProcessSet"): from the set and what its children look like now, which children to create,
// delete or hot-restart, and the status to report. No I/O, so every rule is unit-testable.
//
// Replicas are indexed 0…replicas−1; each index has one child. A child being deleted keeps its
// index until it is gone, so no two replicas of one index run at once unless maxSurge asks for it
// (a surge replacement is made for the index it replaces).
//
//   finished   Failed, Succeeded, or Lost (Lost only when the template does not fix the agent:
//              a replacement could only go to the same agent, so the child waits for it instead)
//              → deleted, and replaced once gone.
//   surplus    index outside 0…replicas−1, or a second child of one index and hash (the not-ready
//              one goes first) → deleted.
//   missing    an index without any child → created (RollingUpdate: within replicas + maxSurge
//              objects, children being deleted included).
//   RollingUpdate: old-hash children are replaced: surge children first (for the highest
//              index, not-ready first), old ones deleted while the available count stays at or
//              above replicas − maxUnavailable (unavailable ones at any time).
//   HotRestart: when every current-hash child is settled (observedGeneration == generation, ready,
//              one epoch), one old-hash child (not-ready first, then the highest index) is updated
//              in place.
//
// Value types and a free function; thread-compatible.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "setpoint/common/clock.h"
#include "setpoint/common/status.h"
#include "setpoint/types/setpoint_v1alpha1.h"

namespace setpoint::controllers {

struct ChildView {
  std::string name;
  int index = -1;  // -1: missing or not a number
  std::string hash;
  bool deleting = false;
  std::string phase;
  bool ready = false;
  std::optional<WallTime> ready_since;  // lastTransitionTime of Ready=True
  bool settled = false;                 // observedGeneration == generation, ready, one epoch
  bool behind = false;                  // status.observedGeneration < metadata.generation
};

struct SetView {
  int replicas = 1;
  bool hot_restart = false;
  int max_surge = 0;        // resolved against replicas
  int max_unavailable = 1;  // resolved against replicas
  int min_ready_seconds = 0;
  std::string hash;
  bool fixed_agent = false;  // template.spec.agentName is set
};

struct SetCounts {
  int replicas = 0, ready = 0, updated = 0, available = 0;
  bool complete = false;           // every replica updated, available, none extra
  bool minimum_available = false;  // available >= the minimum the strategy promises
};

struct SetPlan {
  std::vector<int> create;                      // indexes, each a new child on the current hash
  std::vector<std::string> remove;              // child names
  std::optional<std::string> hot_restart;       // child to update in place
  SetCounts counts;                             // as the children will be once the removals are done
  std::optional<std::chrono::seconds> recheck;  // a ready child becomes available then
};

SetPlan PlanProcessSet(const SetView& set, const std::vector<ChildView>& children, WallTime now);

// ChildView of a Process.
ChildView ViewOfChild(const setpointv1alpha1::Process& process);

// An int-or-string bound ("25%", "1", 1) resolved against `replicas`, rounding up (surge) or down
// (unavailable) as upstream's intstr.GetScaledValueFromIntOrPercent. Invalid for anything else.
// Absent: `fallback`.
Result<int> ResolveBound(const std::optional<types::IntOrString>& v, int replicas, int fallback, bool round_up);

// A short stable name for a template: FNV-1a 64 of its JSON with sorted keys, in
// kube's safe alphabet (no vowels, no ambiguous digits).
std::string TemplateHash(const boost::json::value& template_);

}  // namespace setpoint::controllers
