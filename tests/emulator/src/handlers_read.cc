// GET, LIST and WATCH.
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "kubesync/core/clock.h"
#include "objects.h"
#include "server.h"
#include "table.h"
#include "util.h"

namespace kubesync::emulator {
namespace {

std::string Param(const httplib::Request& req, const char* key) {
  return req.has_param(key) ? req.get_param_value(key) : std::string();
}

// Go clients encode spaces in query values as '+' (url.Values.Encode); cpp-httplib leaves
// them. Selector syntax has no literal '+', so it is safe to map back.
std::string SelectorParam(const httplib::Request& req, const char* key) {
  std::string v = Param(req, key);
  for (auto& c : v) {
    if (c == '+') c = ' ';
  }
  return v;
}

std::optional<uint64_t> ParseRv(const std::string& s) {
  if (s.empty()) return uint64_t{0};
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::optional<std::string> WantsTable(const httplib::Request& req) {
  return TableVersionFromAccept(req.get_header_value("Accept"));
}

ApiError InvalidRv(const std::string& rv) { return BadRequest("invalid resource version \"" + rv + "\""); }

std::string EventLine(const char* type, const std::string& object_bytes) {
  std::string line;
  line.reserve(object_bytes.size() + 32);
  line += "{\"type\":\"";
  line += type;
  line += "\",\"object\":";
  line += object_bytes;
  line += "}\n";
  return line;
}

// Per-stream state of one watch, owned by the chunked content provider.
struct WatchState {
  ResourceTypePtr type;
  std::string gr;
  std::string ns;
  Filter filter;
  uint64_t cursor = 0;
  std::vector<ObjectRef> initial;
  size_t initial_sent = 0;
  std::optional<std::string> error_event;
  bool bookmarks = false;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point next_bookmark;
  std::chrono::seconds bookmark_interval{60};
  uint64_t drop_generation = 0;
  bool busy = false;  // the last wait returned events
  int socket = -1;
  std::unique_ptr<struct ActiveWatch> active;
  // Set when the client asked for Tables: each event then carries a one-row Table.
  std::optional<std::string> table_version;
  std::string include_object;

  std::string ObjectBytes(const nlohmann::json& object, const std::function<std::string()>& plain) const {
    if (!table_version) return plain();
    return BuildTable(*type, {&object}, *table_version, include_object, nlohmann::json::object(),
                      SystemClock::Get().Now())
        .dump();
  }
};

// After a batch, a watcher waits a little before taking the next one, so that under
// write load one wake-up carries many events: with hundreds of watchers, waking each of
// them per commit would starve the writers (measured: 500 watches, 5 ms -> ~200 writes/s,
// 20 ms -> ~760 writes/s on 2 cores). Few watchers keep a short window, for low latency.
std::chrono::milliseconds CoalesceWindow(int active_watches) {
  return std::chrono::milliseconds(active_watches > 64 ? 20 : 2);
}

// Counts a watch stream for as long as its provider lives.
struct ActiveWatch {
  explicit ActiveWatch(std::atomic<int>& n) : n_(n) { ++n_; }
  ~ActiveWatch() { --n_; }
  ActiveWatch(const ActiveWatch&) = delete;
  ActiveWatch& operator=(const ActiveWatch&) = delete;
  std::atomic<int>& n_;
};

}  // namespace

void ApiServer::Get(Call& call) {
  const ResourceType& type = *call.type;
  auto obj = store_.Get(type.group_resource(), call.ns, call.name);
  if (!obj) return ReplyError(call.res, NotFound(type.group, type.resource, call.name));
  if (call.sub == "scale") return ReplyJson(call.res, 200, ToScale(type, *obj));
  if (auto table = WantsTable(call.req); table && call.sub.empty()) {
    nlohmann::json md = {{"resourceVersion", (*obj)["metadata"].value("resourceVersion", "")}};
    return ReplyJson(call.res, 200,
                     BuildTable(type, {obj.get()}, *table, Param(call.req, "includeObject"), std::move(md),
                                SystemClock::Get().Now()));
  }
  ReplyBytes(call.res, 200, obj->dump());
}

void ApiServer::List(Call& call) {
  const ResourceType& type = *call.type;
  const auto& req = call.req;
  auto filter = ParseFilter(SelectorParam(req, "labelSelector"), SelectorParam(req, "fieldSelector"),
                            type.group_resource());
  if (std::holds_alternative<ApiError>(filter)) return ReplyError(call.res, std::get<ApiError>(filter));
  const Filter& f = std::get<Filter>(filter);
  size_t limit = 0;
  if (const std::string l = Param(req, "limit"); !l.empty()) {
    auto parsed = ParseRv(l);
    if (!parsed) return ReplyError(call.res, BadRequest("invalid limit \"" + l + "\""));
    limit = static_cast<size_t>(*parsed);
  }
  uint64_t at_rv = 0;
  std::string after;
  if (const std::string token = Param(req, "continue"); !token.empty()) {
    auto point = DecodeContinue(token);
    if (!point) return ReplyError(call.res, BadRequest("continue key is not valid: illegal base64 data"));
    at_rv = point->rv;
    after = point->last_key;
    // A snapshot at the compaction revision itself is still whole (etcd keeps revision R
    // when compacting at R); only older ones are gone.
    if (at_rv < store_.HistoryStartRv() || at_rv < store_.CompactedRv()) {
      return ReplyError(call.res,
                        Expired("The provided continue parameter is too old to display a consistent list "
                                "result. You can start a new list without the continue parameter."));
    }
  } else {
    const std::string rv = Param(req, "resourceVersion");
    auto parsed = ParseRv(rv);
    if (!parsed) return ReplyError(call.res, InvalidRv(rv));
    // Like the watch cache: resourceVersion=0 is served whole, ignoring limit.
    if (rv == "0" && Param(req, "resourceVersionMatch").empty()) limit = 0;
    if (Param(req, "resourceVersionMatch") == "Exact") {
      if (*parsed < store_.HistoryStartRv()) {
        return ReplyError(call.res, Expired("too old resource version: " + rv + " (" +
                                            std::to_string(store_.HistoryStartRv()) + ")"));
      }
      at_rv = *parsed;
    }
  }
  auto listed = store_.List(
      type.group_resource(), call.ns, at_rv, after, limit,
      f.Empty() ? std::function<bool(const nlohmann::json&)>()
                : [&f](const nlohmann::json& o) { return f.Matches(o); });
  if (std::holds_alternative<ApiError>(listed)) return ReplyError(call.res, std::get<ApiError>(listed));
  const ListResult& result = std::get<ListResult>(listed);
  if (auto table = WantsTable(req)) {
    nlohmann::json md = {{"resourceVersion", std::to_string(result.rv)}};
    if (!result.next_key.empty()) md["continue"] = EncodeContinue(result.rv, result.next_key);
    std::vector<const nlohmann::json*> objects;
    for (const auto& item : result.items) objects.push_back(item.get());
    return ReplyJson(call.res, 200,
                     BuildTable(type, objects, *table, Param(req, "includeObject"), std::move(md),
                                SystemClock::Get().Now()));
  }
  std::string out = "{\"kind\":\"" + type.list_kind + "\",\"apiVersion\":\"" + type.api_version() +
                    "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(result.rv) + "\"";
  if (!result.next_key.empty()) out += ",\"continue\":\"" + EncodeContinue(result.rv, result.next_key) + "\"";
  out += "},\"items\":[";
  bool first = true;
  for (const auto& item : result.items) {
    if (!first) out += ',';
    first = false;
    if (type.custom) {
      out += item->dump();
    } else {
      AppendWithoutTypeMeta(out, *item);
    }
  }
  out += "]}";
  ReplyBytes(call.res, 200, std::move(out));
}

void ApiServer::Watch(Call& call) {
  const ResourceType& type = *call.type;
  const auto& req = call.req;
  auto filter = ParseFilter(SelectorParam(req, "labelSelector"), SelectorParam(req, "fieldSelector"),
                            type.group_resource());
  if (std::holds_alternative<ApiError>(filter)) return ReplyError(call.res, std::get<ApiError>(filter));
  const std::string rv_text = Param(req, "resourceVersion");
  auto rv = ParseRv(rv_text);
  if (!rv) return ReplyError(call.res, InvalidRv(rv_text));

  auto state = std::make_shared<WatchState>();
  state->type = call.type;
  state->gr = type.group_resource();
  state->ns = call.ns;
  state->filter = std::get<Filter>(std::move(filter));
  state->bookmarks = QueryBool(req, "allowWatchBookmarks");
  state->bookmark_interval = std::chrono::seconds(std::max(options_.bookmark_interval_seconds, 1));
  state->drop_generation = drop_generation_.load();
  // Like the real server, a watch may ask for Tables too (`kubectl get -w`); every event
  // then carries the column definitions, which kubectl prints only when they change.
  state->table_version = WantsTable(req);
  state->include_object = Param(req, "includeObject");
  int timeout_s = 1800;
  if (const std::string t = Param(req, "timeoutSeconds"); !t.empty()) {
    auto parsed = ParseRv(t);
    if (parsed && *parsed > 0) timeout_s = static_cast<int>(std::min<uint64_t>(*parsed, 86400));
  }
  const auto now = std::chrono::steady_clock::now();
  state->deadline = now + std::chrono::seconds(timeout_s);
  state->next_bookmark = now + state->bookmark_interval;

  if (*rv == 0) {
    // Synthetic ADDED for every current match, then live events after the snapshot's RV.
    auto listed = store_.List(state->gr, call.ns, 0, "", 0,
                              [&](const nlohmann::json& o) { return state->filter.Matches(o); });
    const auto& result = std::get<ListResult>(listed);
    state->cursor = result.rv;
    state->initial = result.items;
  } else if (*rv < store_.HistoryStartRv()) {
    // The real server answers 200 and sends the 410 as an ERROR event (watch cache).
    ApiError e = Expired("too old resource version: " + rv_text + " (" +
                         std::to_string(store_.HistoryStartRv()) + ")");
    state->error_event = "{\"type\":\"ERROR\",\"object\":" + e.ToJson().dump() + "}\n";
  } else {
    state->cursor = *rv;
  }

  state->active = std::make_unique<ActiveWatch>(active_watches_);
  state->socket = ConnectionSocket(req);
  call.res.status = 200;
  call.res.set_header("Cache-Control", "no-cache, private");
  call.res.set_chunked_content_provider(
      "application/json", [this, state](size_t, httplib::DataSink& sink) -> bool {
        std::string out;
        if (state->error_event) {
          const bool ok = sink.write(state->error_event->data(), state->error_event->size());
          sink.done();
          return ok;
        }
        if (state->initial_sent < state->initial.size()) {
          const size_t end = std::min(state->initial.size(), state->initial_sent + 500);
          for (; state->initial_sent < end; ++state->initial_sent) {
            const auto& object = *state->initial[state->initial_sent];
            out += EventLine("ADDED", state->ObjectBytes(object, [&] { return object.dump(); }));
          }
          if (state->initial_sent == state->initial.size()) state->initial.clear();
          return sink.write(out.data(), out.size());
        }
        const auto now = std::chrono::steady_clock::now();
        if (PeerClosed(state->socket)) return false;
        if (stopping_ || drop_generation_.load() != state->drop_generation) {
          sink.done();
          return true;
        }
        if (state->busy) std::this_thread::sleep_for(CoalesceWindow(active_watches_.load()));
        const auto wait = std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(250), std::max<std::chrono::steady_clock::duration>(
                                                std::chrono::milliseconds(1), state->deadline - now));
        WatchBatch batch = store_.WaitEvents(
            state->cursor, std::chrono::duration_cast<std::chrono::milliseconds>(wait), 1000);
        state->busy = !batch.events.empty();
        if (batch.fell_behind) {
          // Too slow for the retained history: end the stream as the real watch cache does
          // with a blocked watcher; the client resumes (and gets 410 if needed).
          sink.done();
          return true;
        }
        for (const auto& ev : batch.events) {
          if (ev->gr != state->gr || (!state->ns.empty() && ev->ns != state->ns)) continue;
          const bool now_matches = ev->type != EventType::kDeleted && state->filter.Matches(*ev->object);
          const bool was_matching = ev->old && state->filter.Matches(*ev->old);
          const char* type = nullptr;
          switch (ev->type) {
            case EventType::kAdded:
              if (now_matches) type = "ADDED";
              break;
            case EventType::kModified:
              type =
                  now_matches ? (was_matching ? "MODIFIED" : "ADDED") : (was_matching ? "DELETED" : nullptr);
              break;
            case EventType::kDeleted:
              if (was_matching) type = "DELETED";
              break;
          }
          if (type != nullptr) {
            out += EventLine(type, state->ObjectBytes(*ev->object, [&] { return ev->ObjectBytes(); }));
          }
        }
        state->cursor = batch.scanned_rv;
        const auto after = std::chrono::steady_clock::now();
        const bool timed_out = after >= state->deadline;
        if (state->bookmarks && (after >= state->next_bookmark || timed_out)) {
          out += "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" + state->type->kind +
                 "\",\"apiVersion\":\"" + state->type->api_version() +
                 "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(state->cursor) + "\"}}}\n";
          state->next_bookmark = after + state->bookmark_interval;
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (timed_out) sink.done();
        return true;
      });
}

}  // namespace kubesync::emulator
