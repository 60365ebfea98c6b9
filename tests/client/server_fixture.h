// A real setpoint API server in process (memory store, port 0, temp dir) and a RestClient for it.
#pragma once

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "apiserver/server.h"
#include "setpoint/client/dynamic_client.h"
#include "store/memory/memory_store.h"
#include "testing/eventually.h"

namespace setpoint::client::testing {

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("client_server_test_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = apiserver::Server::Start({.data_dir = dir_.string(),
                                       .listen = "127.0.0.1:0",
                                       .worker_threads = 4,
                                       .io_threads = 1,
                                       .write_kubeconfig = false},
                                      store::NewMemoryStore());
    ASSERT_TRUE(s.has_value()) << s.error().to_string();
    server_ = std::move(*s);
    RestConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(server_->port());
    c.timeout = std::chrono::seconds(10);
    auto r = RestClient::Create(c);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    rest_ = std::move(*r);
    dynamic_ = std::make_unique<DynamicClient>(*rest_);
  }

  void TearDown() override {
    dynamic_.reset();
    rest_.reset();
    if (server_) server_->stop();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Polls `done` until it holds or `deadline` passes (for eventually-consistent server state
  // such as a new CRD becoming served); the poll interval is not a synchronisation point.
  template <typename F>
  static bool Eventually(F done, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    return test::Eventually(done, deadline);
  }

  std::filesystem::path dir_;
  std::unique_ptr<apiserver::Server> server_;
  std::unique_ptr<RestClient> rest_;
  std::unique_ptr<DynamicClient> dynamic_;
};

}  // namespace setpoint::client::testing
