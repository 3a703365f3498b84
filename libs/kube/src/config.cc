#include "kubesync/kube/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kubesync/core/base64.h"

namespace kubesync::kube {
namespace {

namespace fs = std::filesystem;

Status FieldError(const std::string& field, const std::string& what) {
  return InvalidArgumentError(field + ": " + what);
}

Result<std::string> ReadWholeFile(const fs::path& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return FieldError(field, "cannot read file " + path.string());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// yaml-cpp throws on type mismatches; everything below checks types itself so that each
// error names its field.
Result<std::string> OptString(const YAML::Node& parent, const char* key, const std::string& path) {
  YAML::Node node = parent[key];
  if (!node || node.IsNull()) {
    return std::string();
  }
  if (!node.IsScalar()) {
    return FieldError(path + "." + key, "must be a string");
  }
  return node.Scalar();
}

Result<bool> OptBool(const YAML::Node& parent, const char* key, const std::string& path) {
  YAML::Node node = parent[key];
  if (!node || node.IsNull()) {
    return false;
  }
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      return false;
    }
  }
  return FieldError(path + "." + key, "must be true or false");
}

Result<std::string> OptBase64(const YAML::Node& parent, const char* key, const std::string& path) {
  KS_ASSIGN_OR_RETURN(std::string text, OptString(parent, key, path));
  if (text.empty()) {
    return text;
  }
  std::optional<std::string> decoded = Base64Decode(text);
  if (!decoded) {
    return FieldError(path + "." + key, "not valid base64");
  }
  return *decoded;
}

std::string ResolvePath(const std::string& p, const fs::path& base_dir) {
  if (p.empty() || base_dir.empty() || fs::path(p).is_absolute()) {
    return p;
  }
  return (base_dir / p).lexically_normal().string();
}

Result<ExecConfig> ParseExec(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) {
    return FieldError(path, "must be a mapping");
  }
  ExecConfig exec;
  KS_ASSIGN_OR_RETURN(exec.api_version, OptString(node, "apiVersion", path));
  if (exec.api_version != "client.authentication.k8s.io/v1" &&
      exec.api_version != "client.authentication.k8s.io/v1beta1") {
    return FieldError(
        path + ".apiVersion",
        "must be client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1, got \"" +
            exec.api_version + "\"");
  }
  KS_ASSIGN_OR_RETURN(exec.command, OptString(node, "command", path));
  if (exec.command.empty()) {
    return FieldError(path + ".command", "required");
  }
  if (YAML::Node args = node["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) {
      return FieldError(path + ".args", "must be a list of strings");
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar()) {
        return FieldError(path + ".args[" + std::to_string(i) + "]", "must be a string");
      }
      exec.args.push_back(args[i].Scalar());
    }
  }
  if (YAML::Node env = node["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) {
      return FieldError(path + ".env", "must be a list of {name, value}");
    }
    for (size_t i = 0; i < env.size(); ++i) {
      std::string item = path + ".env[" + std::to_string(i) + "]";
      if (!env[i].IsMap()) {
        return FieldError(item, "must be a mapping with name and value");
      }
      ExecEnvVar var;
      KS_ASSIGN_OR_RETURN(var.name, OptString(env[i], "name", item));
      KS_ASSIGN_OR_RETURN(var.value, OptString(env[i], "value", item));
      if (var.name.empty()) {
        return FieldError(item + ".name", "required");
      }
      exec.env.push_back(std::move(var));
    }
  }
  KS_ASSIGN_OR_RETURN(exec.provide_cluster_info, OptBool(node, "provideClusterInfo", path));
  KS_ASSIGN_OR_RETURN(exec.interactive_mode, OptString(node, "interactiveMode", path));
  return exec;
}

// Iterates a top-level list of {name, <inner_key>: {...}} entries.
template <typename T, typename Fn>
Status ParseNamedList(const YAML::Node& root, const char* list_key, const char* inner_key,
                      std::vector<Named<T>>& out, Fn parse_inner) {
  YAML::Node list = root[list_key];
  if (!list || list.IsNull()) {
    return OkStatus();
  }
  if (!list.IsSequence()) {
    return FieldError(list_key, "must be a list");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = std::string(list_key) + "[" + std::to_string(i) + "]";
    if (!list[i].IsMap()) {
      return FieldError(path, "must be a mapping");
    }
    Named<T> named;
    KS_ASSIGN_OR_RETURN(named.name, OptString(list[i], "name", path));
    if (named.name.empty()) {
      return FieldError(path + ".name", "required");
    }
    YAML::Node inner = list[i][inner_key];
    std::string inner_path = path + "." + inner_key;
    if (!inner || inner.IsNull()) {
      inner = YAML::Node(YAML::NodeType::Map);
    } else if (!inner.IsMap()) {
      return FieldError(inner_path, "must be a mapping");
    }
    KS_ASSIGN_OR_RETURN(named.value, parse_inner(inner, inner_path));
    out.push_back(std::move(named));
  }
  return OkStatus();
}

}  // namespace

Result<Kubeconfig> Kubeconfig::Parse(std::string_view yaml, const fs::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("kubeconfig: not valid YAML: " + std::string(e.what()));
  }
  if (!root || root.IsNull()) {
    return InvalidArgumentError("kubeconfig: empty document");
  }
  if (!root.IsMap()) {
    return InvalidArgumentError("kubeconfig: must be a mapping");
  }
  Kubeconfig config;
  try {
    KS_ASSIGN_OR_RETURN(config.current_context_, OptString(root, "current-context", "kubeconfig"));
    KS_RETURN_IF_ERROR(ParseNamedList<ClusterInfo>(
        root, "clusters", "cluster", config.clusters_,
        [&](const YAML::Node& n, const std::string& p) -> Result<ClusterInfo> {
          ClusterInfo c;
          KS_ASSIGN_OR_RETURN(c.server, OptString(n, "server", p));
          if (c.server.empty()) {
            return FieldError(p + ".server", "required");
          }
          if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
            return FieldError(p + ".server", "must be an http:// or https:// URL, got \"" + c.server + "\"");
          }
          KS_ASSIGN_OR_RETURN(std::string ca, OptString(n, "certificate-authority", p));
          c.certificate_authority = ResolvePath(ca, base_dir);
          KS_ASSIGN_OR_RETURN(c.certificate_authority_data, OptBase64(n, "certificate-authority-data", p));
          KS_ASSIGN_OR_RETURN(c.insecure_skip_tls_verify, OptBool(n, "insecure-skip-tls-verify", p));
          KS_ASSIGN_OR_RETURN(c.tls_server_name, OptString(n, "tls-server-name", p));
          KS_ASSIGN_OR_RETURN(c.proxy_url, OptString(n, "proxy-url", p));
          return c;
        }));
    KS_RETURN_IF_ERROR(
        ParseNamedList<ContextInfo>(root, "contexts", "context", config.contexts_,
                                    [](const YAML::Node& n, const std::string& p) -> Result<ContextInfo> {
                                      ContextInfo c;
                                      KS_ASSIGN_OR_RETURN(c.cluster, OptString(n, "cluster", p));
                                      KS_ASSIGN_OR_RETURN(c.user, OptString(n, "user", p));
                                      KS_ASSIGN_OR_RETURN(c.namespace_, OptString(n, "namespace", p));
                                      if (c.cluster.empty()) {
                                        return FieldError(p + ".cluster", "required");
                                      }
                                      return c;
                                    }));
    KS_RETURN_IF_ERROR(ParseNamedList<AuthInfo>(
        root, "users", "user", config.users_,
        [&](const YAML::Node& n, const std::string& p) -> Result<AuthInfo> {
          AuthInfo u;
          KS_ASSIGN_OR_RETURN(u.token, OptString(n, "token", p));
          KS_ASSIGN_OR_RETURN(std::string token_file, OptString(n, "tokenFile", p));
          u.token_file = ResolvePath(token_file, base_dir);
          KS_ASSIGN_OR_RETURN(std::string cert, OptString(n, "client-certificate", p));
          u.client_certificate = ResolvePath(cert, base_dir);
          KS_ASSIGN_OR_RETURN(u.client_certificate_data, OptBase64(n, "client-certificate-data", p));
          KS_ASSIGN_OR_RETURN(std::string key, OptString(n, "client-key", p));
          u.client_key = ResolvePath(key, base_dir);
          KS_ASSIGN_OR_RETURN(u.client_key_data, OptBase64(n, "client-key-data", p));
          KS_ASSIGN_OR_RETURN(u.username, OptString(n, "username", p));
          KS_ASSIGN_OR_RETURN(u.password, OptString(n, "password", p));
          if (YAML::Node exec = n["exec"]; exec && !exec.IsNull()) {
            KS_ASSIGN_OR_RETURN(u.exec, ParseExec(exec, p + ".exec"));
            // client-go resolves a relative command that contains a separator against the
            // kubeconfig's directory; a bare name is looked up in PATH.
            if (u.exec->command.find('/') != std::string::npos) {
              u.exec->command = ResolvePath(u.exec->command, base_dir);
            }
          }
          bool has_cert = !u.client_certificate.empty() || !u.client_certificate_data.empty();
          bool has_key = !u.client_key.empty() || !u.client_key_data.empty();
          if (has_cert != has_key) {
            return FieldError(
                p + (has_cert ? ".client-key" : ".client-certificate"),
                "required together with " + std::string(has_cert ? "client-certificate" : "client-key"));
          }
          return u;
        }));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("kubeconfig: " + std::string(e.what()));
  }
  return config;
}

Result<Kubeconfig> Kubeconfig::LoadFile(const fs::path& path) {
  KS_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path, "kubeconfig"));
  Result<Kubeconfig> config = Parse(text, path.parent_path());
  if (!config.ok()) {
    return config.status().Annotate(path.string());
  }
  return config;
}

Result<RestConfig> Kubeconfig::ToRestConfig(std::string_view context) const {
  std::string name(context.empty() ? std::string_view(current_context_) : context);
  if (name.empty()) {
    return FailedPreconditionError("kubeconfig: current-context is not set and no context was given");
  }
  const Named<ContextInfo>* ctx = nullptr;
  for (const auto& c : contexts_) {
    if (c.name == name) {
      ctx = &c;
    }
  }
  if (ctx == nullptr) {
    return NotFoundError("kubeconfig: context \"" + name + "\" not found");
  }
  size_t cluster_index = clusters_.size();
  for (size_t i = 0; i < clusters_.size(); ++i) {
    if (clusters_[i].name == ctx->value.cluster) {
      cluster_index = i;
    }
  }
  if (cluster_index == clusters_.size()) {
    return NotFoundError("kubeconfig: cluster \"" + ctx->value.cluster + "\" of context \"" + name +
                         "\" not found");
  }
  RestConfig rc;
  rc.context_name = name;
  const ClusterInfo& cluster = clusters_[cluster_index].value;
  std::string cpath = "clusters[" + std::to_string(cluster_index) + "].cluster";
  rc.cluster = cluster;
  rc.server = cluster.server;
  while (rc.server.size() > 1 && rc.server.back() == '/') {
    rc.server.pop_back();
  }
  rc.proxy_url = cluster.proxy_url;
  rc.tls.insecure_skip_verify = cluster.insecure_skip_tls_verify;
  rc.tls.server_name = cluster.tls_server_name;
  if (!cluster.certificate_authority_data.empty()) {
    rc.tls.ca_pem = cluster.certificate_authority_data;
  } else if (!cluster.certificate_authority.empty()) {
    KS_ASSIGN_OR_RETURN(rc.tls.ca_pem,
                        ReadWholeFile(cluster.certificate_authority, cpath + ".certificate-authority"));
    rc.cluster.certificate_authority_data = rc.tls.ca_pem;
  }
  if (!ctx->value.namespace_.empty()) {
    rc.default_namespace = ctx->value.namespace_;
  }
  if (!ctx->value.user.empty()) {
    size_t user_index = users_.size();
    for (size_t i = 0; i < users_.size(); ++i) {
      if (users_[i].name == ctx->value.user) {
        user_index = i;
      }
    }
    if (user_index == users_.size()) {
      return NotFoundError("kubeconfig: user \"" + ctx->value.user + "\" of context \"" + name +
                           "\" not found");
    }
    const AuthInfo& user = users_[user_index].value;
    std::string upath = "users[" + std::to_string(user_index) + "].user";
    rc.auth.token = user.token;
    rc.auth.token_file = user.token_file;
    rc.auth.username = user.username;
    rc.auth.password = user.password;
    rc.auth.exec = user.exec;
    if (!user.client_certificate_data.empty()) {
      rc.tls.client_cert_pem = user.client_certificate_data;
    } else if (!user.client_certificate.empty()) {
      KS_ASSIGN_OR_RETURN(rc.tls.client_cert_pem,
                          ReadWholeFile(user.client_certificate, upath + ".client-certificate"));
    }
    if (!user.client_key_data.empty()) {
      rc.tls.client_key_pem = user.client_key_data;
    } else if (!user.client_key.empty()) {
      KS_ASSIGN_OR_RETURN(rc.tls.client_key_pem, ReadWholeFile(user.client_key, upath + ".client-key"));
    }
  }
  return rc;
}

Result<RestConfig> InClusterConfig(const InClusterOptions& options) {
  auto getenv = options.getenv ? options.getenv : [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    if (v == nullptr) {
      return std::nullopt;
    }
    return std::string(v);
  };
  std::optional<std::string> host = getenv("KUBERNETES_SERVICE_HOST");
  std::optional<std::string> port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return FailedPreconditionError(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
        "(not running in a pod?)");
  }
  RestConfig rc;
  rc.context_name = "in-cluster";
  std::string h = *host;
  if (h.find(':') != std::string::npos && h.front() != '[') {
    h = "[" + h + "]";  // IPv6 literal
  }
  rc.server = "https://" + h + ":" + *port;
  rc.cluster.server = rc.server;
  fs::path token = options.service_account_dir / "token";
  std::error_code ec;
  if (!fs::exists(token, ec)) {
    return FailedPreconditionError("in-cluster config: service account token " + token.string() +
                                   " not found");
  }
  rc.auth.token_file = token.string();
  fs::path ca = options.service_account_dir / "ca.crt";
  if (fs::exists(ca, ec)) {
    KS_ASSIGN_OR_RETURN(rc.tls.ca_pem, ReadWholeFile(ca, "in-cluster ca.crt"));
    rc.cluster.certificate_authority_data = rc.tls.ca_pem;
  }
  if (std::optional<std::string> ns = getenv("POD_NAMESPACE"); ns && !ns->empty()) {
    rc.default_namespace = *ns;
  } else if (fs::exists(options.service_account_dir / "namespace", ec)) {
    KS_ASSIGN_OR_RETURN(std::string text,
                        ReadWholeFile(options.service_account_dir / "namespace", "namespace"));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
      text.pop_back();
    }
    if (!text.empty()) {
      rc.default_namespace = text;
    }
  }
  return rc;
}

}  // namespace kubesync::kube
