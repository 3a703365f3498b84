// Helpers shared by the plan tests.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

namespace kubesync::plan::testing {

inline std::string ReadTestdata(const std::string& name) {
  std::string path = KUBESYNC_PLAN_TESTDATA;
  path += '/';
  path += name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return "<missing testdata " + name + ">";
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace kubesync::plan::testing
