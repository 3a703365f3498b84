// Decoding a Kubernetes watch stream: newline-delimited JSON objects
//   {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}
// arriving in arbitrary pieces. Bytes in, events out; lines split across pieces are kept
// until their end arrives. Untrusted input: every malformed line is an error, never a crash.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
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

// Parses one line (without its newline). kInvalidArgument names what is wrong.
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
