#include "kubesync/kube/store.h"

#include <mutex>

namespace kubesync::kube {
namespace {

using nlohmann::json;

// Feeds serialized JSON straight into the hash: no intermediate string.
class HashAdapter : public nlohmann::detail::output_adapter_protocol<char> {
 public:
  void write_character(char c) override { Mix(static_cast<unsigned char>(c)); }
  void write_characters(const char* s, std::size_t length) override {
    for (std::size_t i = 0; i < length; ++i) {
      Mix(static_cast<unsigned char>(s[i]));
    }
  }
  uint64_t hash() const { return hash_; }

 private:
  void Mix(unsigned char c) {
    hash_ ^= c;
    hash_ *= 1099511628211ull;
  }
  uint64_t hash_ = 14695981039346656037ull;
};

}  // namespace

uint64_t ContentHash(const json& object) {
  auto adapter = std::make_shared<HashAdapter>();
  nlohmann::detail::serializer<json> s(adapter, ' ', nlohmann::detail::error_handler_t::replace);
  s.dump(object, false, false, 0);
  return adapter->hash();
}

json KeyStub(const std::string& key, const std::string& resource_version) {
  json md = json::object();
  size_t slash = key.find('/');
  if (slash == std::string::npos) {
    md["name"] = key;
  } else {
    md["namespace"] = key.substr(0, slash);
    md["name"] = key.substr(slash + 1);
  }
  md["resourceVersion"] = resource_version;
  return json{{"metadata", std::move(md)}};
}

std::optional<StoreEntry> Store::Upsert(const std::string& key, const json& object) {
  StoreEntry entry;
  entry.resource_version = meta::ResourceVersion(object);
  entry.content_hash = ContentHash(object);
  if (mode_ == StoreMode::kFull) {
    entry.object = std::make_shared<const json>(object);
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = entries_.try_emplace(key);
  std::optional<StoreEntry> previous;
  if (!inserted) {
    previous = std::move(it->second);
  }
  it->second = std::move(entry);
  return previous;
}

std::optional<StoreEntry> Store::Remove(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  StoreEntry e = std::move(it->second);
  entries_.erase(it);
  return e;
}

std::optional<StoreEntry> Store::Get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second;
}

size_t Store::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

std::vector<std::string> Store::Keys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> keys;
  keys.reserve(entries_.size());
  for (const auto& [k, v] : entries_) {
    keys.push_back(k);
  }
  return keys;
}

void Store::ForEach(const std::function<void(const std::string&, const StoreEntry&)>& fn) const {
  std::shared_lock lock(mu_);
  for (const auto& [k, v] : entries_) {
    fn(k, v);
  }
}

}  // namespace kubesync::kube
