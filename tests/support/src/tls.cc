#include "kubesync/testsupport/tls.h"

#include <chrono>
#include <string>
#include <vector>

#include "kubesync/testsupport/process.h"

namespace kubesync::testsupport {
namespace {

Status Openssl(const std::filesystem::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const std::filesystem::path log = dir / "openssl.log";
  KS_ASSIGN_OR_RETURN(Process p, Process::Start({.argv = args, .stdout_path = log, .stderr_path = log}));
  std::optional<int> code = p.Wait(std::chrono::milliseconds(60'000));
  if (!code || *code != 0) {
    return InternalError("openssl " + args[1] + " failed: " + ReadFile(log));
  }
  return OkStatus();
}

}  // namespace

Result<TestCerts> MakeTestCerts(const std::filesystem::path& dir) {
  TestCerts certs{dir / "ca.pem", dir / "server.pem", dir / "server.key", dir / "other-ca.pem"};
  for (const auto& [cert, key] :
       {std::pair{certs.ca, dir / "ca.key"}, std::pair{certs.other_ca, dir / "other-ca.key"}}) {
    KS_RETURN_IF_ERROR(
        Openssl(dir, {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                      "/CN=kubesync test CA", "-keyout", key.string(), "-out", cert.string()}));
  }
  const std::filesystem::path csr = dir / "server.csr";
  const std::filesystem::path ext = dir / "server.ext";
  WriteFile(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  KS_RETURN_IF_ERROR(Openssl(dir, {"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                                   "-keyout", certs.key.string(), "-out", csr.string()}));
  KS_RETURN_IF_ERROR(Openssl(dir, {"x509", "-req", "-in", csr.string(), "-CA", certs.ca.string(), "-CAkey",
                                   (dir / "ca.key").string(), "-CAcreateserial", "-days", "2", "-extfile",
                                   ext.string(), "-out", certs.cert.string()}));
  return certs;
}

}  // namespace kubesync::testsupport
