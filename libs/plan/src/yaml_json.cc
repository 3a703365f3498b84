// YAML -> JSON the way Kubernetes reads manifests (sigs.k8s.io/yaml, which uses its
// go-yaml v2 fork: YAML 1.1 plain-scalar resolution). Relied on from go-yaml v2's
// resolve.go: plain y/Y/yes/Yes/YES/true/True/TRUE/on/On/ON are true (n/no/false/off
// likewise false), ""/~/null/Null/NULL are null, numbers are strconv.ParseInt(base 0)
// then ParseFloat, and only plain scalars are resolved: any quoted scalar is a string.
// Keys become strings; duplicate keys are an error; "<<" merge keys are applied.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "kubesync/plan/parse.h"

namespace kubesync::plan {
namespace {

using nlohmann::json;

// Bounds against hostile input (alias bombs, deep nesting).
constexpr std::size_t kMaxYamlBytes = 8 << 20;
constexpr std::size_t kMaxNodes = 1 << 20;
constexpr int kMaxDepth = 200;

std::string At(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return "";
  return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1) + ": ";
}

bool OneOf(const std::string& s, std::initializer_list<const char*> list) {
  for (const char* x : list) {
    if (s == x) return true;
  }
  return false;
}

std::optional<json> ResolveNumber(std::string s) {
  if (s.empty()) return std::nullopt;
  const char c = s[0];
  if (!(c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'))) return std::nullopt;
  std::erase(s, '_');  // go-yaml v2 accepts 1_000
  if (s.empty()) return std::nullopt;
  std::string digits = s;
  bool negative = false;
  if (digits[0] == '+' || digits[0] == '-') {
    negative = digits[0] == '-';
    digits.erase(0, 1);
  }
  if (!digits.empty() && digits.find_first_not_of("0123456789abcdefABCDEFxXoObB") == std::string::npos) {
    int base = 10;
    std::string body = digits;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
      base = 16;
      body = body.substr(2);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
      base = 2;
      body = body.substr(2);
    } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) {
      base = 8;
      body = body.substr(2);
    } else if (body.size() > 1 && body[0] == '0') {
      base = 8;
    }
    if (!body.empty() && body.find_first_of("+-") == std::string::npos) {
      errno = 0;
      char* end = nullptr;
      const unsigned long long v = std::strtoull(body.c_str(), &end, base);
      if (errno == 0 && end != nullptr && *end == '\0') {
        if (!negative) {
          if (v <= static_cast<unsigned long long>(INT64_MAX)) return json(static_cast<int64_t>(v));
          return json(static_cast<uint64_t>(v));
        }
        if (v <= static_cast<unsigned long long>(INT64_MAX) + 1ULL) {
          return json(v == static_cast<unsigned long long>(INT64_MAX) + 1ULL ? INT64_MIN
                                                                             : -static_cast<int64_t>(v));
        }
      }
    }
  }
  // Floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and .inf/.nan spellings.
  std::size_t i = 0;
  if (s[i] == '+' || s[i] == '-') ++i;
  const std::string rest = s.substr(i);
  if (OneOf(rest, {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"})) return json(NAN);
  bool mantissa = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, mantissa = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, mantissa = true;
  }
  if (!mantissa) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t exp_start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == exp_start) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const double d = std::strtod(s.c_str(), nullptr);
  // Go's encoding/json prints integral floats without a fraction; keep them integers.
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return json(static_cast<int64_t>(d));
  return json(d);
}

// Builds JSON straight from yaml-cpp's parse events. Not YAML::LoadAll: yaml-cpp 0.7 (Debian
// 12) loops forever, allocating, on some malformed input (jbeder/yaml-cpp#1319, fixed in
// 0.8.0): HandleNextDocument keeps reporting an empty document without consuming input.
// Here a document that starts where the previous one started is an error instead.
class JsonBuilder : public YAML::EventHandler {
 public:
  explicit JsonBuilder(std::vector<json>& out) : out_(out) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_++ > 0 && mark.pos == last_document_pos_) Fail(mark, "unexpected content");
    last_document_pos_ = mark.pos;
    stack_.clear();
  }
  void OnDocumentEnd() override {
    if (has_root_ && !root_.is_null()) out_.push_back(std::move(root_));
    root_ = json();
    has_root_ = false;
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Value(mark, anchor, json(nullptr), true);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) Fail(mark, "unknown alias");
    const std::size_t nodes = it->second.second;
    Count(mark, nodes);
    Value(mark, 0, it->second.first, it->second.first.is_string() || it->second.first.is_null(), false,
          nodes);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (ExpectingKey()) {
      Value(mark, anchor, json(value), true, tag != "!" && value == "<<");
      return;
    }
    Value(mark, anchor, Resolve(mark, tag, value), true);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor, false);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor, true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    bool is_map = false;
    json value;
    YAML::Mark mark;
    YAML::anchor_t anchor = 0;
    std::size_t nodes = 1;
    // Maps only: the key waiting for its value.
    bool have_key = false;
    bool key_is_merge = false;
    std::string key;
    YAML::Mark key_mark;
    std::vector<std::pair<json, YAML::Mark>> merges;
  };

  [[noreturn]] static void Fail(const YAML::Mark& mark, const std::string& what) {
    throw YAML::ParserException(mark, what);
  }

  void Count(const YAML::Mark& mark, std::size_t n) {
    nodes_ += n;
    if (nodes_ > kMaxNodes) Fail(mark, "document too large (too many nodes after expanding aliases)");
  }

  bool ExpectingKey() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().have_key; }

  static json Resolve(const YAML::Mark& mark, const std::string& tag, const std::string& s) {
    // "!" is yaml-cpp's tag for quoted (non-plain) scalars.
    if (tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "tag:yaml.org,2002:binary") return json(s);
    if (OneOf(s, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}))
      return json(true);
    if (OneOf(s, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}))
      return json(false);
    if (OneOf(s, {"", "~", "null", "Null", "NULL"})) return json(nullptr);
    if (auto n = ResolveNumber(s)) {
      if (n->is_number_float() && !std::isfinite(n->get<double>())) {
        Fail(mark, "value " + s + " cannot be represented in JSON");
      }
      return *n;
    }
    return json(s);
  }

  void Open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    if (ExpectingKey()) Fail(mark, "mapping keys must be scalars");
    Count(mark, 1);
    if (stack_.size() >= static_cast<std::size_t>(kMaxDepth)) Fail(mark, "nesting too deep");
    Frame f;
    f.is_map = is_map;
    f.value = is_map ? json::object() : json::array();
    f.mark = mark;
    f.anchor = anchor;
    stack_.push_back(std::move(f));
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    // Merge keys fill in what the mapping does not set itself; earlier maps win.
    for (auto& [merged, mark] : f.merges) {
      std::vector<const json*> sources;
      if (merged.is_object()) {
        sources.push_back(&merged);
      } else if (merged.is_array()) {
        for (const auto& m : merged) sources.push_back(&m);
      }
      if (sources.empty()) Fail(mark, "map merge requires a map or a list of maps");
      for (const json* src : sources) {
        if (!src->is_object()) Fail(mark, "map merge requires a map or a list of maps");
        for (const auto& [k, v] : src->items()) {
          if (!f.value.contains(k)) f.value[k] = v;
        }
      }
    }
    Attach(f.mark, f.anchor, std::move(f.value), f.nodes);
  }

  // A complete value (scalar, alias, or closed collection).
  // `nodes` > 0: an alias whose nodes are already counted.
  void Value(const YAML::Mark& mark, YAML::anchor_t anchor, json v, bool key_ok, bool is_merge_key = false,
             std::size_t nodes = 0) {
    if (ExpectingKey()) {
      if (!key_ok) Fail(mark, "mapping keys must be scalars");
      Frame& map = stack_.back();
      map.key = v.is_null() ? "null" : v.is_string() ? v.get<std::string>() : v.dump();
      map.key_mark = mark;
      map.key_is_merge = is_merge_key;
      map.have_key = true;
      if (anchor != 0) anchors_[anchor] = {v, 1};
      return;
    }
    if (nodes == 0) {
      Count(mark, 1);
      nodes = 1;
    }
    Attach(mark, anchor, std::move(v), nodes);
  }

  void Attach(const YAML::Mark& mark, YAML::anchor_t anchor, json v, std::size_t nodes) {
    (void)mark;
    if (anchor != 0) anchors_[anchor] = {v, nodes};
    if (stack_.empty()) {
      root_ = std::move(v);
      has_root_ = true;
      return;
    }
    Frame& parent = stack_.back();
    parent.nodes += nodes;
    if (!parent.is_map) {
      parent.value.push_back(std::move(v));
      return;
    }
    parent.have_key = false;
    if (parent.key_is_merge) {
      parent.merges.emplace_back(std::move(v), parent.key_mark);
      return;
    }
    if (parent.value.contains(parent.key)) Fail(parent.key_mark, "duplicate key " + parent.key);
    parent.value[parent.key] = std::move(v);
  }

  std::vector<json>& out_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::pair<json, std::size_t>> anchors_;
  json root_;
  bool has_root_ = false;
  std::size_t nodes_ = 0;
  std::size_t documents_ = 0;
  int last_document_pos_ = -1;
};

}  // namespace

Result<std::vector<nlohmann::json>> YamlToJson(std::string_view yaml) {
  if (yaml.size() > kMaxYamlBytes) {
    return InvalidArgumentError("YAML input of " + std::to_string(yaml.size()) +
                                " bytes exceeds the limit of " + std::to_string(kMaxYamlBytes));
  }
  std::vector<nlohmann::json> out;
  try {
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    JsonBuilder builder(out);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("invalid YAML: " + At(e.mark) + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("invalid YAML: ") + e.what());
  }
  return out;
}

}  // namespace kubesync::plan
