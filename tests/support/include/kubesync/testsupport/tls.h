// Test certificates made with the openssl command line: a CA, a server certificate it
// signed for 127.0.0.1 and localhost, and a second CA that signed nothing (a client that
// trusts only it must refuse the server). For TLS tests of nats-server and redis-server.
#pragma once

#include <filesystem>

#include "kubesync/core/status.h"

namespace kubesync::testsupport {

struct TestCerts {
  std::filesystem::path ca;        // PEM certificate of the CA
  std::filesystem::path cert;      // server certificate (SAN IP:127.0.0.1, DNS:localhost)
  std::filesystem::path key;       // its private key
  std::filesystem::path other_ca;  // a CA that did not sign `cert`
};

// Writes the files into `dir` (which must exist). Internal with openssl's output when a
// step fails.
Result<TestCerts> MakeTestCerts(const std::filesystem::path& dir);

}  // namespace kubesync::testsupport
