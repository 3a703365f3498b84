// The webhook server over real TLS: a certificate made by the openssl CLI for 127.0.0.1,
// AdmissionReviews posted with libcurl that verifies the server against that certificate.
#include "kubesync/admission/server.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kubesync/admission/audit.h"
#include "kubesync/core/base64.h"
#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::admission {
namespace {

using nlohmann::json;
using testsupport::TempDir;

const WallTime kNow(std::chrono::nanoseconds(1'707'487'530'675'205'250));

// Runs a command to completion; fails the test with its output when it does not exit 0.
void RunToCompletion(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  auto process = testsupport::Process::Start({.argv = argv, .stdout_path = log, .stderr_path = log});
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  const std::optional<int> code = process->Wait(std::chrono::seconds(30));
  ASSERT_EQ(code, 0) << argv[0] << " failed: " << testsupport::ReadFile(log);
}

struct HttpReply {
  CURLcode curl = CURLE_OK;
  long status = 0;
  std::string body;
};

size_t Collect(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// One HTTPS request; `ca_file` empty means the system trust store.
HttpReply Call(const std::string& url, const std::string& ca_file, const std::string* post_body = nullptr,
               const std::string& content_type = "application/json") {
  HttpReply reply;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  curl_slist* headers = curl_slist_append(nullptr, ("Content-Type: " + content_type).c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  if (!ca_file.empty()) {
    curl_easy_setopt(curl.get(), CURLOPT_CAINFO, ca_file.c_str());
  }
  curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  if (post_body != nullptr) {
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, post_body->c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
  }
  reply.curl = curl_easy_perform(curl.get());
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  return reply;
}

json LiveSyncReview(const std::string& uid, const std::string& operation, json object, json old_object,
                    const std::string& sub_resource = "") {
  json request = {
      {"uid", uid},
      {"kind",
       {{"group", "automation.astronetes.io"}, {"version", "v1alpha1"}, {"kind", "LiveSynchronization"}}},
      {"resource",
       {{"group", "automation.astronetes.io"},
        {"version", "v1alpha1"},
        {"resource", "livesynchronizations"}}},
      {"name", "ls1"},
      {"namespace", "dr"},
      {"operation", operation},
      {"userInfo", {{"username", "alice"}, {"groups", {"system:authenticated"}}}},
      {"object", object},
      {"oldObject", old_object}};
  if (!sub_resource.empty()) {
    request["subResource"] = sub_resource;
  }
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

class AuditWebhookServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    dir_ = new TempDir();
    const std::string d = dir_->path().string();
    RunToCompletion({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", d + "/key.pem", "-out", d + "/cert.pem", "-days", "1", "-subj",
                     "/CN=kubesync-webhook", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"},
                    dir_->path() / "openssl.log");
    RunToCompletion({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                     d + "/other_key.pem"},
                    dir_->path() / "openssl.log");
    testsupport::WriteFile(dir_->path() / "garbage.pem", "not a certificate\n");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    curl_global_cleanup();
  }

  static std::string File(const std::string& name) { return (dir_->path() / name).string(); }

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(File("cert.pem")));
    auto port = server_.Start(
        {.bind_address = "127.0.0.1", .port = 0, .cert_file = File("cert.pem"), .key_file = File("key.pem")});
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
  }

  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }

  HttpReply Post(const json& review) {
    const std::string body = review.dump();
    return Call(Url("/mutate"), File("cert.pem"), &body);
  }

  static inline TempDir* dir_ = nullptr;
  testing::FakeClock clock_{kNow};
  std::shared_ptr<log::MemorySink> sink_ = std::make_shared<log::MemorySink>();
  AuditWebhookServer server_{clock_,
                             log::Logger({.process_id = "controller", .level = log::Level::kDebug}, sink_)};
  int port_ = 0;
};

TEST_F(AuditWebhookServerTest, HealthzOverVerifiedTls) {
  EXPECT_GT(port_, 0);
  EXPECT_EQ(server_.port(), port_);
  const HttpReply reply = Call(Url("/healthz"), File("cert.pem"));
  ASSERT_EQ(reply.curl, CURLE_OK) << curl_easy_strerror(reply.curl);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok");
  // The server really speaks TLS with that certificate: a client that does not trust it fails.
  const HttpReply untrusted = Call(Url("/healthz"), /*ca_file=*/"");
  EXPECT_EQ(untrusted.curl, CURLE_PEER_FAILED_VERIFICATION) << curl_easy_strerror(untrusted.curl);
}

TEST_F(AuditWebhookServerTest, CreatePatchGivesExactlyTheThreeAnnotations) {
  const json object = {{"apiVersion", "automation.astronetes.io/v1alpha1"},
                       {"kind", "LiveSynchronization"},
                       {"metadata", {{"name", "ls1"}, {"namespace", "dr"}}},
                       {"spec", {{"suspend", false}}}};
  const HttpReply reply = Post(LiveSyncReview("uid-1", "CREATE", object, nullptr));
  ASSERT_EQ(reply.curl, CURLE_OK) << curl_easy_strerror(reply.curl);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json answer = json::parse(reply.body);
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  EXPECT_EQ(answer["response"]["uid"], "uid-1");
  EXPECT_EQ(answer["response"]["allowed"], true);
  ASSERT_EQ(answer["response"]["patchType"], "JSONPatch");
  const auto patch = Base64Decode(answer["response"]["patch"].get<std::string>());
  ASSERT_TRUE(patch.has_value());
  const json patched = object.patch(json::parse(*patch));
  EXPECT_EQ(patched["metadata"]["annotations"],
            json({{"audit.astronetes.io/last-update-time", "2024-02-09T14:05:30.67520525Z"},
                  {"audit.astronetes.io/last-update-user-uid", "f98dc9b3-7d1e-57fe-95e5-f09db93c91f0"},
                  {"audit.astronetes.io/last-update-username", "alice"}}));
  json rest = patched;
  rest["metadata"].erase("annotations");
  EXPECT_EQ(rest, object);  // nothing else touched
}

TEST_F(AuditWebhookServerTest, StatusWriteIsAllowedWithoutPatch) {
  const json old_object = {{"metadata", {{"name", "ls1"}}}, {"spec", {{"suspend", false}}}};
  json object = old_object;
  object["status"] = {{"phase", "Running"}};
  const HttpReply reply = Post(LiveSyncReview("uid-2", "UPDATE", object, old_object, "status"));
  ASSERT_EQ(reply.curl, CURLE_OK);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(json::parse(reply.body)["response"], json({{"uid", "uid-2"}, {"allowed", true}}));
}

TEST_F(AuditWebhookServerTest, BadRequestsAreRefusedWithAStatus) {
  const std::string not_json = "{\"request\":";
  HttpReply reply = Call(Url("/mutate"), File("cert.pem"), &not_json);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(json::parse(reply.body)["message"], "the request body is not a JSON AdmissionReview");

  const std::string no_uid = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}})";
  reply = Call(Url("/mutate"), File("cert.pem"), &no_uid);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(json::parse(reply.body)["message"], "the AdmissionReview has no request.uid");
  EXPECT_EQ(json::parse(reply.body)["reason"], "BadRequest");

  const std::string body = LiveSyncReview("uid-3", "CREATE", json::object(), nullptr).dump();
  reply = Call(Url("/mutate"), File("cert.pem"), &body, "text/plain");
  EXPECT_EQ(reply.status, 415);
  EXPECT_EQ(json::parse(reply.body)["reason"], "UnsupportedMediaType");

  reply = Call(Url("/other"), File("cert.pem"), &body);
  EXPECT_EQ(reply.status, 404);

  // A review with a uid but a broken request: allowed, unchanged, with a warning.
  const std::string broken =
      R"({"apiVersion":"admission.k8s.io/v1","request":{"uid":"uid-4","operation":"CREATE"}})";
  reply = Call(Url("/mutate"), File("cert.pem"), &broken);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(
      json::parse(reply.body)["response"],
      json({{"uid", "uid-4"},
            {"allowed", true},
            {"warnings", {"kubesync audit webhook: request.kind.group is missing; object left unchanged"}}}));
  bool logged = false;
  for (const std::string& line : sink_->Lines()) {
    logged = logged || line.find("\"admission review malformed\"") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

// A review (as text: nlohmann would recurse to build it) whose object.spec and
// oldObject.spec nest `depth` objects deep and differ at the bottom, so comparing them
// walks the whole depth.
std::string DeepUpdateReview(const std::string& uid, std::size_t depth) {
  std::string open;
  std::string close;
  for (std::size_t i = 0; i < depth; ++i) {
    open += "{\"a\":";
    close += "}";
  }
  json review = LiveSyncReview(uid, "UPDATE", {{"spec", "@OBJECT@"}}, {{"spec", "@OLD@"}});
  std::string text = review.dump();
  text.replace(text.find("\"@OBJECT@\""), 10, open + "1" + close);
  text.replace(text.find("\"@OLD@\""), 7, open + "2" + close);
  return text;
}

TEST_F(AuditWebhookServerTest, DeeplyNestedObjectIsDeniedAndTheServerSurvives) {
  // 200000 levels: far past what a recursive walk survives on a thread's 8 MiB stack.
  const std::string body = DeepUpdateReview("uid-deep", 200'000);
  const HttpReply reply = Call(Url("/mutate"), File("cert.pem"), &body);
  ASSERT_EQ(reply.curl, CURLE_OK) << curl_easy_strerror(reply.curl);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json answer = json::parse(reply.body);
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  EXPECT_EQ(answer["response"]["uid"], "uid-deep");
  EXPECT_EQ(answer["response"]["allowed"], false);
  EXPECT_EQ(answer["response"]["status"]["code"], 400);
  EXPECT_EQ(answer["response"]["status"]["reason"], "BadRequest");
  const std::string message = answer["response"]["status"]["message"].get<std::string>();
  EXPECT_EQ(message.rfind("request.object.spec.a.a.a", 0), 0u) << message;
  EXPECT_NE(message.find("nested more than " + std::to_string(kMaxReviewDepth) + " levels deep"),
            std::string::npos)
      << message;
  EXPECT_FALSE(answer["response"].contains("patch"));
  EXPECT_EQ(Call(Url("/healthz"), File("cert.pem")).status, 200);
}

TEST_F(AuditWebhookServerTest, OversizedReviewIsDeniedWith413) {
  json object = {{"metadata", {{"name", "ls1"}}}, {"spec", {{"blob", std::string(kMaxReviewBytes, 'x')}}}};
  const HttpReply reply = Post(LiveSyncReview("uid-big", "CREATE", object, nullptr));
  ASSERT_EQ(reply.curl, CURLE_OK) << curl_easy_strerror(reply.curl);
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 200);
  const json answer = json::parse(reply.body);
  EXPECT_EQ(answer["response"]["uid"], "uid-big");
  EXPECT_EQ(answer["response"]["allowed"], false);
  EXPECT_EQ(answer["response"]["status"]["code"], 413);
  EXPECT_EQ(answer["response"]["status"]["reason"], "RequestEntityTooLarge");
  EXPECT_NE(answer["response"]["status"]["message"].get<std::string>().find(
                "is larger than the limit of " + std::to_string(kMaxReviewBytes) + " bytes"),
            std::string::npos)
      << answer.dump();
}

// The listening sockets of /proc/net/tcp on `port`, as "ADDRESS" in the kernel's hex form
// (0100007F is 127.0.0.1, 00000000 is 0.0.0.0).
std::vector<std::string> ListeningAddresses(int port) {
  std::vector<std::string> out;
  std::istringstream lines(testsupport::ReadFile("/proc/net/tcp"));
  std::string line;
  char want[8];
  std::snprintf(want, sizeof(want), "%04X", port);
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "0A" && local.size() > 5 && local.substr(local.size() - 4) == want) {
      out.push_back(local.substr(0, local.find(':')));
    }
  }
  return out;
}

TEST_F(AuditWebhookServerTest, DefaultBindAddressIsLoopback) {
  EXPECT_EQ(AuditWebhookOptions{}.bind_address, "127.0.0.1");
  AuditWebhookServer other(clock_, log::Logger({.process_id = "controller"}, sink_));
  AuditWebhookOptions options;
  options.port = 0;
  options.cert_file = File("cert.pem");
  options.key_file = File("key.pem");
  auto port = other.Start(options);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  EXPECT_EQ(ListeningAddresses(*port), std::vector<std::string>{"0100007F"});
}

TEST_F(AuditWebhookServerTest, StopClosesThePortAndStartWorksAgain) {
  EXPECT_EQ(server_
                .Start({.bind_address = "127.0.0.1",
                        .port = 0,
                        .cert_file = File("cert.pem"),
                        .key_file = File("key.pem")})
                .status()
                .code(),
            Code::kFailedPrecondition);
  server_.Stop();
  EXPECT_EQ(server_.port(), 0);
  EXPECT_TRUE(testsupport::WaitFor([&] { return !testsupport::PortAcceptsConnections(port_); }));
  server_.Stop();  // idempotent

  auto again = server_.Start({.bind_address = "127.0.0.1",
                              .port = port_,
                              .cert_file = File("cert.pem"),
                              .key_file = File("key.pem")});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, port_);
  EXPECT_EQ(Call(Url("/healthz"), File("cert.pem")).status, 200);
}

TEST_F(AuditWebhookServerTest, PortInUseIsUnavailable) {
  AuditWebhookServer other(clock_, log::Logger({.process_id = "controller"}, sink_));
  auto result = other.Start({.bind_address = "127.0.0.1",
                             .port = port_,
                             .cert_file = File("cert.pem"),
                             .key_file = File("key.pem")});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnavailable);
  EXPECT_EQ(result.status().message(), "cannot bind the audit webhook to 127.0.0.1:" + std::to_string(port_));
}

TEST_F(AuditWebhookServerTest, BadCertificateOrKeyFilesAreNamed) {
  AuditWebhookServer other(clock_, log::Logger({.process_id = "controller"}, sink_));
  const auto start = [&](const std::string& cert, const std::string& key) {
    return other.Start({.bind_address = "127.0.0.1", .port = 0, .cert_file = cert, .key_file = key}).status();
  };
  Status st = start(File("missing.pem"), File("key.pem"));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "the webhook certificate file \"" + File("missing.pem") + "\" does not exist");

  st = start(File("cert.pem"), File("missing.pem"));
  EXPECT_EQ(st.message(), "the webhook private key file \"" + File("missing.pem") + "\" does not exist");

  st = start("", File("key.pem"));
  EXPECT_EQ(st.message(), "the webhook certificate file is not set");

  st = start(File("garbage.pem"), File("key.pem"));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "the webhook certificate file \"" + File("garbage.pem") + "\" holds no PEM certificate");

  st = start(File("cert.pem"), File("cert.pem"));
  EXPECT_EQ(st.message(),
            "the webhook private key file \"" + File("cert.pem") + "\" holds no unencrypted PEM private key");

  st = start(File("cert.pem"), File("other_key.pem"));
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "the webhook private key file \"" + File("other_key.pem") +
                              "\" does not match the certificate in \"" + File("cert.pem") + "\"");
  EXPECT_EQ(other.port(), 0);
}

}  // namespace
}  // namespace kubesync::admission
