// Shared gtest scaffolding of the e2e suite: a Pipeline per test, the components' log
// tails printed when a test fails, and OK-assertions that print the Status.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "kubesync/core/status.h"
#include "kubesync/testsupport/process.h"
#include "pipeline_fixture.h"

namespace kubesync::e2e {

inline Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

#define E2E_ASSERT_OK(expr)                                  \
  do {                                                       \
    const ::kubesync::Status e2e_s_ = ::kubesync::e2e::StatusOf(expr); \
    ASSERT_TRUE(e2e_s_.ok()) << #expr << ": " << e2e_s_.ToString(); \
  } while (false)

inline std::string ReadTestdata(const std::string& name) {
  return testsupport::ReadFile(std::filesystem::path(KUBESYNC_E2E_TESTDATA) / name);
}

class PipelineTest : public ::testing::Test {
 protected:
  void StartPipeline(PipelineOptions options) {
    auto started = Pipeline::Start(std::move(options));
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    p_ = std::move(*started);
  }

  void TearDown() override {
    if (HasFailure() && p_ != nullptr) {
      std::cerr << "---- component logs (tails) ----\n" << p_->LogTails(25);
    }
    p_.reset();
  }

  Pipeline& p() { return *p_; }
  kube::Client& src() { return p_->source(); }
  kube::Client& dst() { return p_->destination(); }

  std::unique_ptr<Pipeline> p_;
};

}  // namespace kubesync::e2e
