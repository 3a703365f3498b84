// Streams: one per LiveSynchronization, created or brought up to date idempotently.
#include <nats/nats.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "nats_util.h"

namespace kubesync::bus {

using internal::Nanos;
using internal::ToStatus;

namespace {

bool SameConfig(const jsStreamConfig& have, const jsStreamConfig& want) {
  std::set<std::string> a;
  std::set<std::string> b;
  for (int i = 0; i < have.SubjectsLen; ++i) a.insert(have.Subjects[i]);
  for (int i = 0; i < want.SubjectsLen; ++i) b.insert(want.Subjects[i]);
  return a == b && have.MaxMsgs == want.MaxMsgs && have.MaxBytes == want.MaxBytes &&
         have.MaxAge == want.MaxAge && have.Duplicates == want.Duplicates &&
         have.MaxMsgSize == want.MaxMsgSize;
}

}  // namespace

Result<std::string> Connection::EnsureStream(const StreamOptions& options) {
  KS_ASSIGN_OR_RETURN(const std::string name, StreamName(options.id));
  KS_ASSIGN_OR_RETURN(const std::string events, EventsSubject(options.id));
  KS_ASSIGN_OR_RETURN(const std::string sync, SyncWildcard(options.id));
  const char* subjects[] = {events.c_str(), sync.c_str()};

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name.c_str();
  cfg.Description = "kubesync events and sync subjects of one LiveSynchronization";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 2;
  // Limits retention: the processor's and the synchronizers' consumers read the same stream
  // independently; messages leave by age/size, not by being acked.
  cfg.Retention = js_LimitsPolicy;
  cfg.Discard = js_DiscardOld;
  cfg.Storage = options.memory_storage ? js_MemoryStorage : js_FileStorage;
  cfg.MaxMsgs = options.max_msgs;
  cfg.MaxBytes = options.max_bytes;
  cfg.MaxAge = Nanos(options.max_age);
  cfg.Duplicates = Nanos(options.duplicate_window);
  cfg.MaxMsgSize = options.max_msg_size;
  cfg.Replicas = 1;

  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  natsStatus s = js_GetStreamInfo(&si, js_, name.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) {
      // Another replica created it between our lookup and add: fall through to compare.
      jerr = static_cast<jsErrCode>(0);
      s = js_GetStreamInfo(&si, js_, name.c_str(), nullptr, &jerr);
    } else {
      if (si != nullptr) {
        jsStreamInfo_Destroy(si);
      }
      if (s != NATS_OK) {
        return ToStatus(s, "create stream " + name, jerr);
      }
      return name;
    }
  }
  if (s != NATS_OK) {
    return ToStatus(s, "stream info " + name, jerr);
  }
  const bool same = SameConfig(*si->Config, cfg);
  const bool storage_differs = si->Config->Storage != cfg.Storage;
  jsStreamInfo_Destroy(si);
  if (storage_differs) {
    return FailedPreconditionError("stream " + name +
                                   " exists with another storage type; delete it to change");
  }
  if (same) {
    return name;
  }
  si = nullptr;
  s = js_UpdateStream(&si, js_, &cfg, nullptr, &jerr);
  if (si != nullptr) {
    jsStreamInfo_Destroy(si);
  }
  if (s != NATS_OK) {
    return ToStatus(s, "update stream " + name, jerr);
  }
  return name;
}

Status Connection::DeleteStream(std::string_view stream) {
  const std::string name(stream);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  return ToStatus(js_DeleteStream(js_, name.c_str(), nullptr, &jerr), "delete stream " + name, jerr);
}

Result<StreamStats> Connection::GetStreamStats(std::string_view stream) {
  const std::string name(stream);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  const natsStatus s = js_GetStreamInfo(&si, js_, name.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    return ToStatus(s, "stream info " + name, jerr);
  }
  StreamStats out{si->State.Msgs,    si->State.Bytes,     si->State.FirstSeq,
                  si->State.LastSeq, si->State.Consumers, si->Created};
  jsStreamInfo_Destroy(si);
  return out;
}

}  // namespace kubesync::bus
