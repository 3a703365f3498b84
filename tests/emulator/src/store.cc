#include "store.h"

#include <algorithm>

namespace kubesync::emulator {

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
  }
  return "ERROR";
}

const std::string& Event::ObjectBytes() const {
  std::call_once(once_, [this] { bytes_ = object->dump(); });
  return bytes_;
}

std::string ObjectKey(const std::string& ns, const std::string& name) { return ns + "/" + name; }

Store::Store(size_t history_limit) : history_limit_(std::max<size_t>(history_limit, 1)) {}

uint64_t Store::CurrentRv() const {
  std::lock_guard lock(mu_);
  return rv_;
}

uint64_t Store::HistoryStartRv() const {
  std::lock_guard lock(mu_);
  return history_start_rv_;
}

uint64_t Store::CompactedRv() const {
  std::lock_guard lock(mu_);
  return compacted_rv_;
}

ObjectRef Store::Get(const std::string& gr, const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(gr);
  if (it == objects_.end()) return nullptr;
  auto o = it->second.find(ObjectKey(ns, name));
  return o == it->second.end() ? nullptr : o->second;
}

EventPtr Store::Commit(const std::string& gr, const std::string& ns, const std::string& name,
                       const ObjectRef& expected, std::optional<nlohmann::json> object) {
  const std::string key = ObjectKey(ns, name);
  auto event = std::make_shared<Event>();
  event->gr = gr;
  event->ns = ns;
  event->name = name;
  {
    std::lock_guard lock(mu_);
    Objects& objects = objects_[gr];
    auto it = objects.find(key);
    const ObjectRef current = it == objects.end() ? nullptr : it->second;
    if (current != expected) return nullptr;
    if (!object && !current) return nullptr;
    const uint64_t rv = ++rv_;
    const std::string rv_text = std::to_string(rv);
    event->rv = rv;
    event->old = current;
    if (object) {
      (*object)["metadata"]["resourceVersion"] = rv_text;
      auto stored = std::make_shared<const nlohmann::json>(std::move(*object));
      event->type = current ? EventType::kModified : EventType::kAdded;
      event->object = stored;
      if (it == objects.end()) {
        objects.emplace(key, stored);
      } else {
        it->second = stored;
      }
    } else {
      // Stamping the delete's RV needs a copy; only deletes pay for it.
      auto last = std::make_shared<nlohmann::json>(*current);
      (*last)["metadata"]["resourceVersion"] = rv_text;
      event->type = EventType::kDeleted;
      event->object = std::move(last);
      objects.erase(it);
    }
    history_.push_back(event);
    while (history_.size() > history_limit_) {
      history_.pop_front();
      ++history_start_rv_;
    }
  }
  cv_.notify_all();
  return event;
}

std::variant<ApiError, ListResult> Store::List(
    const std::string& gr, const std::string& ns, uint64_t at_rv, const std::string& after_key, size_t limit,
    const std::function<bool(const nlohmann::json&)>& filter) const {
  const std::string prefix = ns.empty() ? std::string() : ns + "/";
  ListResult result;
  std::lock_guard lock(mu_);
  if (at_rv == 0 || at_rv > rv_) at_rv = rv_;
  if (at_rv < history_start_rv_) {
    return Expired(
        "The provided continue parameter is too old to display a consistent list result. You can start "
        "a new list without the continue parameter, or use the continue token in this response to "
        "retrieve the remainder of the results. Continuing with the provided token results in an "
        "inconsistent list - objects that were created, modified, or deleted between the time the first "
        "chunk was returned and now may show up in the list.");
  }
  result.rv = at_rv;
  // State at at_rv = current state with every later event undone (first later event per key
  // carries the state at at_rv in `old`).
  std::map<std::string, ObjectRef> overlay;
  if (at_rv < rv_) {
    for (size_t i = at_rv - history_start_rv_; i < history_.size(); ++i) {
      const Event& e = *history_[i];
      if (e.gr != gr) continue;
      const std::string key = ObjectKey(e.ns, e.name);
      if (!prefix.empty() && key.compare(0, prefix.size(), prefix) != 0) continue;
      overlay.emplace(key, e.old);
    }
  }
  static const Objects kEmpty;
  auto git = objects_.find(gr);
  const Objects& objects = git == objects_.end() ? kEmpty : git->second;
  auto it = after_key.empty() ? objects.lower_bound(prefix) : objects.upper_bound(after_key);
  auto ov = after_key.empty() ? overlay.lower_bound(prefix) : overlay.upper_bound(after_key);
  auto in_range = [&](const std::string& key) {
    return prefix.empty() || key.compare(0, prefix.size(), prefix) == 0;
  };
  while (true) {
    const bool obj_ok = it != objects.end() && in_range(it->first);
    const bool ov_ok = ov != overlay.end();
    if (!obj_ok && !ov_ok) break;
    std::string key;
    ObjectRef candidate;
    if (ov_ok && (!obj_ok || ov->first <= it->first)) {
      key = ov->first;
      candidate = ov->second;
      if (obj_ok && it->first == ov->first) ++it;
      ++ov;
    } else {
      key = it->first;
      candidate = it->second;
      ++it;
    }
    if (!candidate || (filter && !filter(*candidate))) continue;
    if (limit > 0 && result.items.size() == limit) {
      result.next_key = ObjectKey((*result.items.back())["metadata"].value("namespace", ""),
                                  (*result.items.back())["metadata"].value("name", ""));
      break;
    }
    result.items.push_back(std::move(candidate));
  }
  return result;
}

WatchBatch Store::WaitEvents(uint64_t after, std::chrono::milliseconds timeout, size_t max) const {
  WatchBatch batch;
  std::unique_lock lock(mu_);
  const uint64_t generation = wake_generation_;
  if (rv_ <= after) {
    cv_.wait_for(lock, timeout, [&] { return rv_ > after || wake_generation_ != generation; });
  }
  if (after < history_start_rv_) {
    batch.fell_behind = true;
    batch.scanned_rv = after;
    return batch;
  }
  const uint64_t end = std::min<uint64_t>(rv_, after + max);
  for (uint64_t rv = after + 1; rv <= end; ++rv) batch.events.push_back(history_[rv - history_start_rv_ - 1]);
  batch.scanned_rv = std::max(after, end);
  return batch;
}

void Store::WakeAll() {
  {
    std::lock_guard lock(mu_);
    ++wake_generation_;
  }
  cv_.notify_all();
}

void Store::Compact() {
  {
    std::lock_guard lock(mu_);
    history_.clear();
    history_start_rv_ = rv_;
    compacted_rv_ = rv_;
  }
  cv_.notify_all();
}

void Store::Load(uint64_t rv, std::vector<std::pair<std::string, nlohmann::json>> objects_by_gr) {
  std::lock_guard lock(mu_);
  objects_.clear();
  history_.clear();
  rv_ = rv;
  history_start_rv_ = rv;
  for (auto& [gr, obj] : objects_by_gr) {
    const auto& md = obj["metadata"];
    std::string key = ObjectKey(md.value("namespace", ""), md.value("name", ""));
    objects_[gr][key] = std::make_shared<const nlohmann::json>(std::move(obj));
  }
}

std::pair<uint64_t, std::vector<std::pair<std::string, ObjectRef>>> Store::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, ObjectRef>> all;
  for (const auto& [gr, objects] : objects_) {
    for (const auto& [k, o] : objects) all.emplace_back(gr, o);
  }
  return {rv_, std::move(all)};
}

}  // namespace kubesync::emulator
