// Fuzz target: the watch-stream decoder, fed the input in pieces whose sizes come from the
// first byte, must decode the same events as when fed whole, and never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "kubesync/kube/watch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  size_t piece = 1 + data[0] % 64;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  kubesync::kube::WatchDecoder whole(1 << 20);
  std::vector<kubesync::kube::WatchEvent> expected;
  kubesync::Status whole_status = whole.Feed(text, expected);
  if (whole_status.ok()) {
    whole_status = whole.Finish(expected);
  }

  kubesync::kube::WatchDecoder split(1 << 20);
  std::vector<kubesync::kube::WatchEvent> got;
  kubesync::Status split_status;
  for (size_t i = 0; i < text.size() && split_status.ok(); i += piece) {
    split_status = split.Feed(text.substr(i, piece), got);
  }
  if (split_status.ok()) {
    split_status = split.Finish(got);
  }
  if (whole_status.ok() != split_status.ok() || expected.size() != got.size()) {
    std::abort();  // splitting must not change the result
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].type != expected[i].type || got[i].object != expected[i].object) {
      std::abort();
    }
    (void)got[i].ResourceVersion();
  }
  return 0;
}
