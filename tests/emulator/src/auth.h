// Who is calling: bearer tokens from --token-file ("token,user,role" lines) and client
// certificates verified against --client-ca-file (CN = user, O = groups). A client-cert
// user is an admin unless the token file has a line naming that user with role reader
// (any token, e.g. ",alice,reader" with an empty token that never matches a bearer).
// Without any auth flag every request is the anonymous admin.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "kubesync/core/status.h"

typedef struct ssl_st SSL;

namespace kubesync::emulator {

struct Identity {
  std::string user;
  std::vector<std::string> groups;
  bool admin = false;
};

class Authenticator {
 public:
  // `token_file` may be empty. `client_certs` enables certificate users.
  static Result<Authenticator> Create(const std::string& token_file, bool client_certs);

  bool enabled() const { return enabled_; }
  // Token users (name, role), in file order: for --write-kubeconfig.
  struct TokenUser {
    std::string token, user, role;
  };
  const std::vector<TokenUser>& token_users() const { return token_users_; }

  // nullopt: bad or missing credentials (401).
  std::optional<Identity> Authenticate(const std::string& authorization_header, const SSL* ssl) const;

 private:
  bool enabled_ = false;
  bool client_certs_ = false;
  std::vector<TokenUser> token_users_;
  std::map<std::string, TokenUser> by_token_;
  std::set<std::string> readers_;
};

}  // namespace kubesync::emulator
