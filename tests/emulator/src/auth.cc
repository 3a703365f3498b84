#include "auth.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace kubesync::emulator {
namespace {

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> NameEntries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  int idx = -1;
  while ((idx = X509_NAME_get_index_by_NID(name, nid, idx)) >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len >= 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  return out;
}

}  // namespace

Result<Authenticator> Authenticator::Create(const std::string& token_file, bool client_certs) {
  Authenticator a;
  a.client_certs_ = client_certs;
  a.enabled_ = client_certs || !token_file.empty();
  if (token_file.empty()) return a;
  std::ifstream in(token_file);
  if (!in) return InvalidArgumentError("cannot read --token-file " + token_file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts;
    std::stringstream ss(line);
    std::string part;
    while (std::getline(ss, part, ',')) parts.push_back(Trim(part));
    if (parts.size() < 2 || parts[1].empty()) {
      return InvalidArgumentError("--token-file line " + std::to_string(n) + ": want token,user,role");
    }
    TokenUser u{parts[0], parts[1], parts.size() > 2 && !parts[2].empty() ? parts[2] : "admin"};
    if (u.role != "admin" && u.role != "reader") {
      return InvalidArgumentError("--token-file line " + std::to_string(n) +
                                  ": role must be admin or reader");
    }
    if (u.role == "reader") a.readers_.insert(u.user);
    if (!u.token.empty()) {
      a.by_token_[u.token] = u;
      a.token_users_.push_back(u);
    }
  }
  return a;
}

std::optional<Identity> Authenticator::Authenticate(const std::string& authorization_header,
                                                    const SSL* ssl) const {
  if (!enabled_) return Identity{"admin", {"system:masters"}, true};
  if (!authorization_header.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization_header.size() <= kBearer.size() ||
        authorization_header.compare(0, kBearer.size(), kBearer) != 0) {
      return std::nullopt;
    }
    auto it = by_token_.find(Trim(authorization_header.substr(kBearer.size())));
    if (it == by_token_.end()) return std::nullopt;
    return Identity{it->second.user, {"system:authenticated"}, it->second.role == "admin"};
  }
  if (client_certs_ && ssl != nullptr) {
    SSL* s = const_cast<SSL*>(ssl);
    if (SSL_get_verify_result(s) != X509_V_OK) return std::nullopt;
    std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(s), X509_free);
    if (!cert) return std::nullopt;
    X509_NAME* subject = X509_get_subject_name(cert.get());
    auto cn = NameEntries(subject, NID_commonName);
    if (cn.empty() || cn[0].empty()) return std::nullopt;
    Identity id{cn[0], NameEntries(subject, NID_organizationName), readers_.count(cn[0]) == 0};
    id.groups.push_back("system:authenticated");
    return id;
  }
  return std::nullopt;
}

}  // namespace kubesync::emulator
