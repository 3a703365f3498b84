#include "journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

namespace kubesync::emulator {
namespace {

constexpr char kSnapshot[] = "snapshot.jsonl";
constexpr char kJournal[] = "journal.jsonl";

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Journal::Journal(std::filesystem::path dir) : dir_(std::move(dir)) {}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Journal::Open(Store& store) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return InternalError("create " + dir_.string() + ": " + ec.message());
  uint64_t rv = 0;
  // group_resource + key -> object
  std::map<std::pair<std::string, std::string>, nlohmann::json> objects;
  {
    std::ifstream in(dir_ / kSnapshot);
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      if (first) {
        rv = j.value("rv", uint64_t{0});
        first = false;
        continue;
      }
      const auto& md = j["object"]["metadata"];
      objects[{j.value("gr", ""), ObjectKey(md.value("namespace", ""), md.value("name", ""))}] = j["object"];
    }
  }
  {
    std::ifstream in(dir_ / kJournal);
    std::string line;
    std::vector<nlohmann::json> records;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);  // a torn last line is skipped
      if (!j.is_discarded() && j.is_object()) records.push_back(std::move(j));
    }
    std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
      return a.value("rv", uint64_t{0}) < b.value("rv", uint64_t{0});
    });
    for (auto& r : records) {
      const uint64_t r_rv = r.value("rv", uint64_t{0});
      if (r_rv <= rv) continue;
      rv = r_rv;
      std::pair<std::string, std::string> key{r.value("gr", ""),
                                              ObjectKey(r.value("ns", ""), r.value("name", ""))};
      if (r["object"].is_null() || r.value("deleted", false)) {
        objects.erase(key);
      } else {
        objects[key] = std::move(r["object"]);
      }
    }
  }
  std::vector<std::pair<std::string, nlohmann::json>> loaded;
  loaded.reserve(objects.size());
  for (auto& [k, o] : objects) loaded.emplace_back(k.first, std::move(o));
  store.Load(rv, std::move(loaded));
  return Checkpoint(store);
}

Status Journal::WriteSnapshot(const Store& store) {
  auto [rv, objects] = store.Snapshot();
  const auto tmp = dir_ / (std::string(kSnapshot) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << nlohmann::json{{"rv", rv}}.dump() << '\n';
    for (const auto& [gr, o] : objects) {
      out << "{\"gr\":" << nlohmann::json(gr).dump() << ",\"object\":" << o->dump() << "}\n";
    }
    if (!out) return InternalError("write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, dir_ / kSnapshot, ec);
  if (ec) return InternalError("rename snapshot: " + ec.message());
  return OkStatus();
}

Status Journal::Checkpoint(const Store& store) {
  std::lock_guard lock(mu_);
  KS_RETURN_IF_ERROR(WriteSnapshot(store));
  if (fd_ >= 0) ::close(fd_);
  const auto path = dir_ / kJournal;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return InternalError("open " + path.string() + ": " + std::strerror(errno));
  return OkStatus();
}

void Journal::Append(const Event& event) {
  std::string line = "{\"rv\":" + std::to_string(event.rv) + ",\"gr\":" + nlohmann::json(event.gr).dump() +
                     ",\"ns\":" + nlohmann::json(event.ns).dump() +
                     ",\"name\":" + nlohmann::json(event.name).dump();
  if (event.type == EventType::kDeleted) {
    line += ",\"deleted\":true}\n";
  } else {
    line += ",\"object\":" + event.ObjectBytes() + "}\n";
  }
  std::lock_guard lock(mu_);
  if (fd_ >= 0) WriteAll(fd_, line);
}

}  // namespace kubesync::emulator
