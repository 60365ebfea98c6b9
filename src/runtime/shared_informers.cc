#include "setpoint/runtime/shared_informers.h"

#include <chrono>

namespace setpoint::runtime {

std::string ResourceKey(const client::GroupVersionResource& gvr) {
  return gvr.group.empty() ? gvr.resource : gvr.resource + "." + gvr.group;
}

namespace {

std::string EntryKey(const client::GroupVersionResource& gvr, const CacheOptions& o) {
  // Fields are separated by a byte no selector, namespace or resource name can contain.
  std::string k = gvr.group + '\x1f' + gvr.version + '\x1f' + gvr.resource + '\x1f' + o.ns + '\x1f' + o.label_selector +
                  '\x1f' + o.field_selector;
  k += o.metadata_only ? "\x1fm" : "\x1f-";
  k += o.strip_managed_fields ? "s" : "-";
  for (const auto& f : o.metadata_fields) k += '\x1f' + f;
  return k;
}

}  // namespace

SharedInformers::SharedInformers(client::DynamicClient& client, std::function<void(WatcherOptions&)> tweak)
    : client_(client), tweak_(std::move(tweak)) {}

SharedInformers::~SharedInformers() { stop(); }

void SharedInformers::set_options(const client::GroupVersionResource& gvr, CacheOptions options) {
  std::lock_guard lock(mu_);
  options_[ResourceKey(gvr)] = std::move(options);
}

SharedInformer SharedInformers::get(const client::GroupVersionResource& gvr) {
  CacheOptions options;
  {
    std::lock_guard lock(mu_);
    if (auto it = options_.find(ResourceKey(gvr)); it != options_.end()) options = it->second;
  }
  return get(gvr, options);
}

SharedInformer SharedInformers::get(const client::GroupVersionResource& gvr, const CacheOptions& options) {
  SharedInformer informer;
  bool start = false;
  {
    std::lock_guard lock(mu_);
    const std::string key = EntryKey(gvr, options);
    auto& entry = entries_[key];
    informer = entry.informer.lock();
    if (informer) return informer;
    WatcherOptions wo;
    wo.gvr = gvr;
    wo.watch_list = true;  // one stream instead of list + watch, where the server offers it
    wo.ns = options.ns;
    wo.label_selector = options.label_selector;
    wo.field_selector = options.field_selector;
    if (options.metadata_only && !options.metadata_fields.empty()) {
      wo.metadata_only = true;
      wo.transform = MetadataFieldsOnly(options.metadata_fields);
    } else if (options.metadata_only) {
      wo.metadata_only = true;
      wo.transform = MetadataOnly;
    } else if (options.strip_managed_fields) {
      wo.transform = StripManagedFields;
    }
    if (tweak_) tweak_(wo);
    informer = std::make_shared<Informer>(client_, std::move(wo));
    entry.resource_key = ResourceKey(gvr);
    entry.informer = informer;
    start = started_ && !stopped_;
    // Entries of informers that died are dropped here, so the map stays as small as the live set.
    std::erase_if(entries_, [](const auto& kv) { return kv.second.informer.expired(); });
  }
  if (start) informer->start();
  return informer;
}

std::vector<SharedInformer> SharedInformers::live(std::string_view resource_key) const {
  std::vector<SharedInformer> out;
  std::lock_guard lock(mu_);
  for (const auto& [k, e] : entries_) {
    if (e.resource_key != resource_key) continue;
    if (auto i = e.informer.lock()) out.push_back(std::move(i));
  }
  return out;
}

std::vector<SharedInformer> SharedInformers::live() const {
  std::vector<SharedInformer> out;
  std::lock_guard lock(mu_);
  for (const auto& [k, e] : entries_)
    if (auto i = e.informer.lock()) out.push_back(std::move(i));
  return out;
}

void SharedInformers::start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopped_) return;
    started_ = true;
  }
  for (auto& i : live()) i->start();
}

void SharedInformers::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  for (auto& i : live()) i->stop();
}

bool SharedInformers::wait_for_sync(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& i : live()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!i->wait_for_sync(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

}  // namespace setpoint::runtime
