// kube-emulator's HTTP front: routes Kubernetes REST requests to the store, serves
// discovery and OpenAPI, authenticates and authorises, applies injected faults and counts
// requests, and runs the namespace-deletion loop. One instance per process, built by
// Run() from the command-line options.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "auth.h"
#include "errors.h"
#include "hooks.h"
#include "journal.h"
#include "kubesync/core/log.h"
#include "registry.h"
#include "store.h"

namespace kubesync::emulator {

struct Options {
  std::string bind = "127.0.0.1";
  int port = 0;
  std::string port_file;
  std::string data_dir;
  std::string token_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string client_ca_file;
  std::string write_kubeconfig_dir;
  std::string tls_ca_file;
  int watch_history = 10'000;
  int bookmark_interval_seconds = 60;
  std::string log_level = "info";
};

// One API request after routing and authentication.
struct Call {
  const httplib::Request& req;
  httplib::Response& res;
  Identity id;
  ResourceTypePtr type;
  std::string ns;
  std::string name;
  std::string sub;   // "", "status", "scale"
  std::string verb;  // get, list, watch, create, update, patch, delete, deletecollection
};

class ApiServer {
 public:
  ApiServer(Options options, log::Logger logger);
  ~ApiServer();

  // Loads the data dir, binds, writes the port file and kubeconfigs; then serves on a
  // background thread. Returns the bound port.
  Result<int> Start();
  // Persists state; safe to call from the signal-handling thread, then exit the process.
  void Shutdown();

 private:
  void Handle(const httplib::Request& req, httplib::Response& res);
  void HandleHook(const httplib::Request& req, httplib::Response& res, const Identity& id);
  bool HandleDiscovery(const httplib::Request& req, httplib::Response& res);
  void HandleResource(Call& call);

  // handlers_read.cc
  void Get(Call& call);
  void List(Call& call);
  void Watch(Call& call);
  // handlers_write.cc
  void Create(Call& call);
  void Update(Call& call);
  void Patch(Call& call);
  // handlers_delete.cc
  void Delete(Call& call);
  void DeleteCollection(Call& call);
  void NamespaceLoop();
  void FinishNamespace(const nlohmann::json& ns);

  // Shared by the write paths: stamps managedFields, commits (dry-run: does not), persists,
  // and runs the CRD side effects. Returns the event (null when a race lost: retry).
  struct WriteResult {
    bool raced = false;
    std::shared_ptr<const Event> event;
  };
  WriteResult CommitWrite(const ResourceType& type, const std::string& ns, const std::string& name,
                          const ObjectRef& expected, std::optional<nlohmann::json> object);
  // Deletes one object honouring finalizers; returns the object's resulting state (the
  // deletionTimestamp-stamped object when finalizers hold it, else the last state).
  std::variant<ApiError, std::pair<ObjectRef, bool /*deleted*/>> DeleteOne(const ResourceType& type,
                                                                           const std::string& ns,
                                                                           const std::string& name,
                                                                           const nlohmann::json& options,
                                                                           bool dry_run);
  // 404 for a missing namespace, 403 NamespaceTerminating for a deleting one.
  std::optional<ApiError> CheckNamespaceWritable(const std::string& ns) const;
  std::string Manager(const httplib::Request& req) const;
  std::string Now() const;

  void WriteKubeconfigs(int port) const;

  Options options_;
  log::Logger logger_;
  Registry registry_;
  Store store_;
  std::unique_ptr<Journal> journal_;
  std::optional<Authenticator> auth_;
  Faults faults_;
  Counters counters_;
  std::unique_ptr<httplib::Server> http_;
  std::thread serve_thread_;
  std::thread namespace_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> drop_generation_{0};
  std::atomic<int> active_watches_{0};
  std::string server_address_;
};

// Replies.
void ReplyJson(httplib::Response& res, int code, const nlohmann::json& body);
void ReplyBytes(httplib::Response& res, int code, std::string body);
void ReplyError(httplib::Response& res, const ApiError& error);
// Query parameter helpers: booleans follow the API ("0"/"false" are false, else true).
bool QueryBool(const httplib::Request& req, const std::string& key);
bool IsDryRun(const httplib::Request& req);
// The socket of the connection `req` came on (-1 if not found), and whether its client
// has closed it: a watch stream would otherwise only notice on its next write.
int ConnectionSocket(const httplib::Request& req);
bool PeerClosed(int fd);

}  // namespace kubesync::emulator
