// Decoding a Kubernetes watch stream: newline-delimited JSON objects
//   {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}
// arriving in arbitrary pieces. Bytes in, events out; lines split across pieces are kept
// until their end arrives. Untrusted input: every malformed line is an error, never a crash.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/status.h"

namespace kubesync::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

std::string_view WatchEventTypeName(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  nlohmann::json object;  // for kError, a metav1.Status (see StatusFromApiStatus)

  // object.metadata.resourceVersion, "" when absent.
  std::string ResourceVersion() const;
};

// The deepest nesting the API server's own JSON decoder accepts (kubernetes/kubernetes#83840):
// a watch event whose object nests deeper cannot come from a real API server, and would
// overflow the stack of any recursive walk (clean, hash, print) in the components.
inline constexpr std::size_t kMaxObjectDepth = 10000;

// The path ("spec.a[3].b") of the first container of `value` nested deeper than
// `max_depth` (`value` itself is depth 1), or nullopt. Iterative: safe at any depth.
std::optional<std::string> TooDeepPath(const nlohmann::json& value, std::size_t max_depth);

// Parses one line (without its newline). kInvalidArgument names what is wrong, including
// an object nested deeper than kMaxObjectDepth.
Result<WatchEvent> ParseWatchEvent(std::string_view line);

// Not thread-safe; one per stream.
class WatchDecoder {
 public:
  // A line longer than `max_line_bytes` is an error (protects memory from a broken server).
  explicit WatchDecoder(size_t max_line_bytes = 64u << 20) : max_line_bytes_(max_line_bytes) {}

  // Appends every event completed by `bytes` to `out`. After an error the decoder stays
  // failed (the stream cannot be trusted any more) and returns the same error.
  Status Feed(std::string_view bytes, std::vector<WatchEvent>& out);
  // End of stream: a last line without "\n" is decoded too.
  Status Finish(std::vector<WatchEvent>& out);

  size_t buffered_bytes() const { return buffer_.size(); }

 private:
  Status DecodeLine(std::string_view line, std::vector<WatchEvent>& out);

  size_t max_line_bytes_;
  std::string buffer_;
  Status failed_;
};

}  // namespace kubesync::kube
