// ObjectClient: the one interface a reconciler reads and writes objects through, as JSON. The
// manager's read-your-writes CachedClient, DirectClient (straight to the server) and the test
// kit's FakeClient (in memory, no server) implement it, so a reconciler written against it runs
// unchanged in production and in a unit test. runtime::Client (client.h) is the typed layer over
// it.
//
// Contract, as the API server's: get is NotFound when absent; a namespaced resource needs `ns`
// except in list(), where empty means every namespace, and which answers in namespace/name order
// (as the server and the caches keep them); update with metadata.resourceVersion is
// conditional (Conflict when stale); update ignores status and update_status everything else;
// remove of an object with finalizers sets its deletionTimestamp and returns it. view() and
// list_views() are get() and list() decoded by a ViewDecoder: here on every call; a client over a
// cache (CachedClient) keeps each object's decoded view with it, one decode per version.
// Implementations are thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "setpoint/api/label_selector.h"
#include "setpoint/client/dynamic_client.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/watcher.h"

namespace setpoint::runtime {

class ObjectClient {
 public:
  virtual ~ObjectClient() = default;
  virtual Result<ObjectPtr> get(const client::GroupVersionResource& gvr, std::string_view ns,
                                std::string_view name) = 0;
  virtual Result<std::vector<ObjectPtr>> list(const client::GroupVersionResource& gvr, std::string_view ns = {},
                                              const api::LabelSelector* selector = nullptr) = 0;
  virtual Result<boost::json::object> create(const client::GroupVersionResource& gvr, std::string_view ns,
                                             const boost::json::object& obj) = 0;
  virtual Result<boost::json::object> update(const client::GroupVersionResource& gvr, std::string_view ns,
                                             const boost::json::object& obj) = 0;
  virtual Result<boost::json::object> update_status(const client::GroupVersionResource& gvr, std::string_view ns,
                                                    const boost::json::object& obj) = 0;
  virtual Result<boost::json::object> patch(const client::GroupVersionResource& gvr, std::string_view ns,
                                            std::string_view name, client::PatchType type, std::string_view body,
                                            std::string_view subresource = {}) = 0;
  virtual Result<boost::json::object> remove(const client::GroupVersionResource& gvr, std::string_view ns,
                                             std::string_view name, const client::DeleteOptions& options = {}) = 0;

  virtual Result<std::shared_ptr<const void>> view(const client::GroupVersionResource& gvr, std::string_view ns,
                                                   std::string_view name, const ViewDecoder& decoder) {
    auto got = get(gvr, ns, name);
    if (!got) return Err(got.error());
    return decoder.decode(*got);
  }
  virtual Result<std::vector<std::shared_ptr<const void>>> list_views(const client::GroupVersionResource& gvr,
                                                                      std::string_view ns,
                                                                      const api::LabelSelector* selector,
                                                                      const ViewDecoder& decoder) {
    auto items = list(gvr, ns, selector);
    if (!items) return Err(items.error());
    std::vector<std::shared_ptr<const void>> out;
    out.reserve(items->size());
    for (const auto& item : *items) {
      auto decoded = decoder.decode(item);
      if (!decoded) return Err(decoded.error());
      out.push_back(std::move(*decoded));
    }
    return out;
  }
  // The objects a cache index holds under `value`, decoded. Here only the two indexes every cache
  // has, from a list: kNamespaceIndex (the namespace) and kOwnerUidIndex (an owner's uid); Invalid
  // for any other.
  virtual Result<std::vector<std::shared_ptr<const void>>> index_views(const client::GroupVersionResource& gvr,
                                                                       std::string_view index, std::string_view value,
                                                                       const ViewDecoder& decoder);
};

// Every call a request to the server (reads included), over a borrowed DynamicClient.
class DirectClient final : public ObjectClient {
 public:
  explicit DirectClient(client::DynamicClient& api) : api_(api) {}
  Result<ObjectPtr> get(const client::GroupVersionResource& gvr, std::string_view ns, std::string_view name) override;
  Result<std::vector<ObjectPtr>> list(const client::GroupVersionResource& gvr, std::string_view ns = {},
                                      const api::LabelSelector* selector = nullptr) override;
  Result<boost::json::object> create(const client::GroupVersionResource& gvr, std::string_view ns,
                                     const boost::json::object& obj) override {
    return api_.create(gvr, ns, obj);
  }
  Result<boost::json::object> update(const client::GroupVersionResource& gvr, std::string_view ns,
                                     const boost::json::object& obj) override {
    return api_.update(gvr, ns, obj);
  }
  Result<boost::json::object> update_status(const client::GroupVersionResource& gvr, std::string_view ns,
                                            const boost::json::object& obj) override {
    return api_.update_status(gvr, ns, obj);
  }
  Result<boost::json::object> patch(const client::GroupVersionResource& gvr, std::string_view ns, std::string_view name,
                                    client::PatchType type, std::string_view body,
                                    std::string_view subresource = {}) override {
    return api_.patch(gvr, ns, name, type, body, subresource);
  }
  Result<boost::json::object> remove(const client::GroupVersionResource& gvr, std::string_view ns,
                                     std::string_view name, const client::DeleteOptions& options = {}) override {
    return api_.remove(gvr, ns, name, options);
  }

 private:
  client::DynamicClient& api_;
};

}  // namespace setpoint::runtime
