#include "controllers/processset_plan.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <tuple>

#include "controllers/process_status.h"
#include "controllers/setpoint_kinds.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/conditions.h"
#include "setpoint/runtime/object_helpers.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;

std::optional<int> ParseIndex(std::string_view s) {
  int v = 0;
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

void Canonical(const json::value& v, std::string& out) {
  if (v.is_object()) {
    std::vector<std::pair<std::string_view, const json::value*>> fields;
    for (const auto& kv : v.get_object()) fields.emplace_back(kv.key(), &kv.value());
    std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    out += '{';
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i) out += ',';
      out += json::serialize(json::string(fields[i].first));
      out += ':';
      Canonical(*fields[i].second, out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : v.get_array()) {
      if (!first) out += ',';
      first = false;
      Canonical(e, out);
    }
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string TemplateHash(const json::value& template_) {
  std::string text;
  Canonical(template_, text);
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  do {
    out += kAlphabet[h % kAlphabet.size()];
    h /= kAlphabet.size();
  } while (h != 0);
  return out;
}

Result<int> ResolveBound(const std::optional<types::IntOrString>& v, int replicas, int fallback, bool round_up) {
  if (!v) return fallback;
  if (v->is_int()) {
    const std::int64_t n = v->int_value();
    if (n < 0 || n > 1000000) return Err(Status::Invalid("must be a non-negative number or percentage"));
    return static_cast<int>(n);
  }
  const std::string_view s = v->string_value();
  int pct = 0;
  if (s.size() >= 2 && s.back() == '%') {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size() - 1, pct);
    if (ec == std::errc() && end == s.data() + s.size() - 1 && pct >= 0 && pct <= 100) {
      const std::int64_t scaled = static_cast<std::int64_t>(pct) * replicas;
      return static_cast<int>(round_up ? (scaled + 99) / 100 : scaled / 100);
    }
  }
  return Err(
      Status::Invalid("invalid value \"" + std::string(s) + "\": must be an integer or a percentage (e.g. 25%)"));
}

ChildView ViewOfChild(const setpointv1alpha1::Process& process) {
  ChildView c;
  c.name = process.metadata.name;
  const auto& labels = process.metadata.labels;
  if (auto it = labels.find(std::string(kIndexLabel)); it != labels.end())
    if (auto i = ParseIndex(it->second)) c.index = *i;
  if (auto it = labels.find(std::string(kTemplateHashLabel)); it != labels.end()) c.hash = it->second;
  c.deleting = process.metadata.being_deleted();
  const auto& status = process.status;
  c.phase = status.phase;
  c.ready = status.ready;
  const types::Condition* ready = types::FindCondition(status.conditions, "Ready");
  if (ready && ready->status == "True") c.ready_since = ParseMicroTime(ready->lastTransitionTime);
  const std::int64_t generation = process.metadata.generation != 0 ? process.metadata.generation : 1;  // absent: 1
  const std::optional<std::int64_t>& observed = status.observedGeneration;
  c.behind = observed && *observed < generation;
  c.settled = observed == generation && c.ready && status.epochs.size() == 1;
  return c;
}

SetPlan PlanProcessSet(const SetView& set, const std::vector<ChildView>& children, WallTime now) {
  SetPlan plan;
  const int replicas = std::max(set.replicas, 0);
  const auto min_ready = std::chrono::seconds(set.min_ready_seconds);
  auto finished = [&](const ChildView& c) {
    return c.phase == "Succeeded" || c.phase == "Failed" || (c.phase == "Lost" && !set.fixed_agent);
  };
  auto live = [](const ChildView& c) { return !c.deleting && !PhaseIsFinished(c.phase); };
  auto available = [&](const ChildView& c) {
    return live(c) && c.ready && (min_ready.count() == 0 || (c.ready_since && *c.ready_since + min_ready <= now));
  };
  auto in_range = [&](const ChildView& c) { return c.index >= 0 && c.index < replicas; };

  std::vector<bool> removed(children.size(), false);
  auto remove = [&](std::size_t i) {
    if (removed[i]) return;
    removed[i] = true;
    plan.remove.push_back(children[i].name);
  };

  // Finished and out-of-range children go.
  for (std::size_t i = 0; i < children.size(); ++i) {
    const ChildView& c = children[i];
    if (c.deleting) continue;
    if (finished(c) || !in_range(c)) remove(i);
  }

  // One child per index and hash: keep the best (available, ready, then name), delete the rest.
  struct Slot {
    std::vector<std::size_t> current, old;
    bool held = false;  // a child of this index is being deleted (or is kept while Lost)
  };
  std::vector<Slot> slots(static_cast<std::size_t>(replicas));
  for (std::size_t i = 0; i < children.size(); ++i) {
    const ChildView& c = children[i];
    if (!in_range(c)) continue;
    Slot& slot = slots[static_cast<std::size_t>(c.index)];
    if (c.deleting || removed[i] || !live(c)) {
      slot.held = true;
      continue;
    }
    (c.hash == set.hash ? slot.current : slot.old).push_back(i);
  }
  auto better = [&](std::size_t a, std::size_t b) {
    const ChildView &x = children[a], &y = children[b];
    return std::make_tuple(!available(x), !x.ready, x.name) < std::make_tuple(!available(y), !y.ready, y.name);
  };
  for (Slot& slot : slots)
    for (auto* group : {&slot.current, &slot.old})
      if (group->size() > 1) {
        std::sort(group->begin(), group->end(), better);
        for (std::size_t k = 1; k < group->size(); ++k) remove((*group)[k]);
        group->resize(1);
      }

  // Every child object counts against replicas + maxSurge, those being deleted too.
  int total = static_cast<int>(children.size());
  const int max_total = replicas + set.max_surge;
  for (int index = 0; index < replicas; ++index) {
    const Slot& slot = slots[static_cast<std::size_t>(index)];
    if (!slot.current.empty() || !slot.old.empty() || slot.held) continue;
    if (!set.hot_restart && total >= max_total) break;
    plan.create.push_back(index);
    ++total;
  }

  // The old children, not-ready first, then the highest index.
  std::vector<std::size_t> olds;
  for (const Slot& slot : slots)
    if (!slot.old.empty()) olds.push_back(slot.old.front());
  std::sort(olds.begin(), olds.end(), [&](std::size_t a, std::size_t b) {
    return std::make_tuple(available(children[a]), -children[a].index) <
           std::make_tuple(available(children[b]), -children[b].index);
  });

  if (!set.hot_restart && !olds.empty()) {
    // Surge: a new child beside an old one, within replicas + maxSurge.
    for (std::size_t i : olds) {
      const Slot& slot = slots[static_cast<std::size_t>(children[i].index)];
      if (total >= max_total) break;
      if (!slot.current.empty() || slot.held) continue;
      plan.create.push_back(children[i].index);
      ++total;
    }
    // Deletions, as a Deployment scales old ReplicaSets down: never below replicas − maxUnavailable
    // available, and not while new children are unavailable beyond that.
    int live_count = 0, avail = 0, new_unavailable = 0;
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (removed[i] || !live(children[i])) continue;
      ++live_count;
      if (available(children[i]))
        ++avail;
      else if (children[i].hash == set.hash)
        ++new_unavailable;
    }
    const int min_available = std::max(0, replicas - set.max_unavailable);
    int budget = live_count - min_available - new_unavailable;
    // Old children whose index already has an available new one go first.
    std::stable_sort(olds.begin(), olds.end(), [&](std::size_t a, std::size_t b) {
      auto replaced = [&](std::size_t i) {
        const Slot& s = slots[static_cast<std::size_t>(children[i].index)];
        return !s.current.empty() && available(children[s.current.front()]);
      };
      return std::make_tuple(available(children[a]), !replaced(a)) <
             std::make_tuple(available(children[b]), !replaced(b));
    });
    for (std::size_t i : olds) {
      if (budget <= 0) break;
      if (available(children[i])) {
        if (avail - 1 < min_available) break;
        --avail;
      }
      remove(i);
      --budget;
    }
  }

  if (set.hot_restart && !olds.empty() && plan.create.empty()) {
    bool in_progress = false;
    for (const Slot& slot : slots)
      for (std::size_t i : slot.current) in_progress = in_progress || !children[i].settled;
    if (!in_progress) plan.hot_restart = children[olds.front()].name;
  }

  // Status, as it will be once the deletions are done.
  SetCounts& n = plan.counts;
  std::optional<WallTime> next;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const ChildView& c = children[i];
    if (removed[i] || !live(c)) continue;
    ++n.replicas;
    if (c.ready) ++n.ready;
    if (available(c))
      ++n.available;
    else if (c.ready && c.ready_since && (!next || *c.ready_since + min_ready < *next))
      next = *c.ready_since + min_ready;
    if (c.hash == set.hash && !c.behind) ++n.updated;
  }
  n.complete = n.updated == replicas && n.replicas == replicas && n.available == replicas;
  const int minimum = replicas == 0 ? 0 : std::min(replicas, std::max(1, replicas - set.max_unavailable));
  n.minimum_available = n.available >= minimum;
  if (next) plan.recheck = std::chrono::ceil<std::chrono::seconds>(*next - now);
  return plan;
}

}  // namespace setpoint::controllers
