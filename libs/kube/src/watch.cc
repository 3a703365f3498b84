#include "kubesync/kube/watch.h"

namespace kubesync::kube {
namespace {

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view WatchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

std::string WatchEvent::ResourceVersion() const {
  if (!object.is_object()) {
    return "";
  }
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) {
    return "";
  }
  auto rv = md->find("resourceVersion");
  return rv != md->end() && rv->is_string() ? rv->get<std::string>() : "";
}

std::optional<std::string> TooDeepPath(const nlohmann::json& value, std::size_t max_depth) {
  if (!value.is_structured()) return std::nullopt;
  struct Frame {
    const nlohmann::json* node;
    nlohmann::json::const_iterator next;
    std::size_t index = 0;
    std::string label;  // of the child being walked, for the path
  };
  std::vector<Frame> stack;
  stack.push_back({&value, value.cbegin(), 0, ""});
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.node->cend()) {
      stack.pop_back();
      continue;
    }
    const nlohmann::json& child = *f.next;
    const std::size_t index = f.index++;
    std::string label = f.node->is_object() ? f.next.key().substr(0, 64) : "[" + std::to_string(index) + "]";
    ++f.next;
    if (!child.is_structured()) continue;
    f.label = std::move(label);
    if (stack.size() + 1 > max_depth) {
      std::string path;
      for (const Frame& frame : stack) {
        if (!path.empty() && frame.label[0] != '[') path += '.';
        path += frame.label;
        if (path.size() > 1024) return path.substr(0, 1024) + "...";
      }
      return path;
    }
    stack.push_back({&child, child.cbegin(), 0, ""});
  }
  return std::nullopt;
}

Result<WatchEvent> ParseWatchEvent(std::string_view line) {
  nlohmann::json doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return InvalidArgumentError("watch event: not valid JSON");
  }
  if (!doc.is_object()) {
    return InvalidArgumentError("watch event: not a JSON object");
  }
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string()) {
    return InvalidArgumentError("watch event: missing string field \"type\"");
  }
  WatchEvent event;
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "ADDED") {
    event.type = WatchEventType::kAdded;
  } else if (t == "MODIFIED") {
    event.type = WatchEventType::kModified;
  } else if (t == "DELETED") {
    event.type = WatchEventType::kDeleted;
  } else if (t == "BOOKMARK") {
    event.type = WatchEventType::kBookmark;
  } else if (t == "ERROR") {
    event.type = WatchEventType::kError;
  } else {
    return InvalidArgumentError("watch event: unknown type \"" + t.substr(0, 64) + "\"");
  }
  auto object = doc.find("object");
  if (object == doc.end() || !object->is_object()) {
    return InvalidArgumentError("watch event: missing object field \"object\"");
  }
  event.object = std::move(*object);
  if (auto path = TooDeepPath(event.object, kMaxObjectDepth)) {
    return InvalidArgumentError("watch event: object." + *path + ": nested more than " +
                                std::to_string(kMaxObjectDepth) + " levels deep");
  }
  if (event.type != WatchEventType::kError) {
    auto md = event.object.find("metadata");
    if (md == event.object.end() || !md->is_object()) {
      return InvalidArgumentError("watch event: object has no metadata");
    }
    auto rv = md->find("resourceVersion");
    if (rv != md->end() && !rv->is_string()) {
      return InvalidArgumentError("watch event: metadata.resourceVersion is not a string");
    }
    if (event.type == WatchEventType::kBookmark &&
        (rv == md->end() || rv->get_ref<const std::string&>().empty())) {
      return InvalidArgumentError("watch event: BOOKMARK without metadata.resourceVersion");
    }
  }
  return event;
}

Status WatchDecoder::DecodeLine(std::string_view line, std::vector<WatchEvent>& out) {
  if (IsBlank(line)) {
    return OkStatus();
  }
  Result<WatchEvent> event = ParseWatchEvent(line);
  if (!event.ok()) {
    failed_ = event.status();
    return failed_;
  }
  out.push_back(std::move(event).value());
  return OkStatus();
}

Status WatchDecoder::Feed(std::string_view bytes, std::vector<WatchEvent>& out) {
  if (!failed_.ok()) {
    return failed_;
  }
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      if (buffer_.size() + bytes.size() > max_line_bytes_) {
        failed_ = InvalidArgumentError("watch event: line longer than " + std::to_string(max_line_bytes_) +
                                       " bytes");
        buffer_.clear();
        return failed_;
      }
      buffer_.append(bytes);
      return OkStatus();
    }
    if (buffer_.size() + nl > max_line_bytes_) {
      failed_ =
          InvalidArgumentError("watch event: line longer than " + std::to_string(max_line_bytes_) + " bytes");
      buffer_.clear();
      return failed_;
    }
    if (buffer_.empty()) {
      // Fast path: the whole line is inside this piece, no copy.
      KS_RETURN_IF_ERROR(DecodeLine(bytes.substr(0, nl), out));
    } else {
      buffer_.append(bytes.substr(0, nl));
      std::string line = std::move(buffer_);
      buffer_.clear();
      KS_RETURN_IF_ERROR(DecodeLine(line, out));
    }
    bytes.remove_prefix(nl + 1);
  }
  return OkStatus();
}

Status WatchDecoder::Finish(std::vector<WatchEvent>& out) {
  if (!failed_.ok()) {
    return failed_;
  }
  std::string line = std::move(buffer_);
  buffer_.clear();
  return DecodeLine(line, out);
}

}  // namespace kubesync::kube
