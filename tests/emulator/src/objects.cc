#include "objects.h"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <random>

#include "kubesync/labels/selector.h"
#include "util.h"

namespace kubesync::emulator {
namespace {

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

bool IsDnsLabel(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && i > 0 && i + 1 < s.size())) return false;
  }
  return true;
}

bool IsDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    if (!IsDnsLabel(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start), 253))
      return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

std::string Pointer(const std::string& dotted) {
  std::string p = dotted;
  for (auto& c : p) {
    if (c == '.') c = '/';
  }
  return p;
}

nlohmann::json WithoutVolatile(const nlohmann::json& o) {
  nlohmann::json c = o;
  if (c.contains("metadata") && c["metadata"].is_object()) {
    c["metadata"].erase("resourceVersion");
    c["metadata"].erase("managedFields");
  }
  return c;
}

// Everything outside metadata (and status when it is a subresource): a change here bumps
// metadata.generation.
bool SpecChanged(const ResourceType& type, const nlohmann::json& a, const nlohmann::json& b) {
  for (const auto& [k, v] : b.items()) {
    if (k == "metadata" || (k == "status" && type.status_sub)) continue;
    if (!a.contains(k) || a[k] != v) return true;
  }
  for (const auto& [k, v] : a.items()) {
    if (k == "metadata" || (k == "status" && type.status_sub)) continue;
    if (!b.contains(k)) return true;
  }
  return false;
}

void DefaultService(nlohmann::json& svc) {
  auto& spec = svc["spec"];
  if (!spec.is_object()) spec = nlohmann::json::object();
  if (!spec.contains("type")) spec["type"] = "ClusterIP";
  if (spec["type"] != "ExternalName") {
    if (!spec.contains("clusterIP") || spec["clusterIP"] == "") {
      static std::atomic<uint32_t> next{10};
      const uint32_t n = next++;
      char ip[32];
      std::snprintf(ip, sizeof(ip), "10.96.%u.%u", (n / 250) % 250, n % 250 + 1);
      spec["clusterIP"] = ip;
    }
    if (!spec.contains("clusterIPs")) spec["clusterIPs"] = {spec["clusterIP"]};
    if (!spec.contains("ipFamilies")) spec["ipFamilies"] = {"IPv4"};
    if (!spec.contains("ipFamilyPolicy")) spec["ipFamilyPolicy"] = "SingleStack";
    if (!spec.contains("internalTrafficPolicy")) spec["internalTrafficPolicy"] = "Cluster";
  }
  if (!spec.contains("sessionAffinity")) spec["sessionAffinity"] = "None";
  if (spec.contains("ports") && spec["ports"].is_array()) {
    for (auto& p : spec["ports"]) {
      if (!p.contains("protocol")) p["protocol"] = "TCP";
      if (!p.contains("targetPort") && p.contains("port")) p["targetPort"] = p["port"];
    }
  }
}

void ApplyDefaults(const ResourceType& type, nlohmann::json& obj, const std::string& name) {
  if (type.custom) return;
  if (type.group.empty() && type.resource == "namespaces") {
    obj["spec"]["finalizers"] = {"kubernetes"};
    obj["status"] = {{"phase", "Active"}};
    obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
  } else if (type.group.empty() && type.resource == "services") {
    DefaultService(obj);
  } else if (type.group == "apps" && type.resource != "daemonsets") {
    if (!obj.contains("spec") || !obj["spec"].is_object()) obj["spec"] = nlohmann::json::object();
    if (!obj["spec"].contains("replicas")) obj["spec"]["replicas"] = 1;
  }
}

// The decode step of the real server: metadata fields must have their Go types.
std::optional<ApiError> CheckMetadataShape(const nlohmann::json& md) {
  auto bad = [](const std::string& field, const std::string& want) {
    return BadRequest("json: cannot unmarshal into Go struct field ObjectMeta.metadata." + field +
                      " of type " + want);
  };
  for (const char* key : {"name", "generateName", "namespace", "resourceVersion", "uid"}) {
    if (md.contains(key) && !md[key].is_string() && !md[key].is_null()) return bad(key, "string");
  }
  for (const char* key : {"labels", "annotations"}) {
    if (!md.contains(key) || md[key].is_null()) continue;
    if (!md[key].is_object()) return bad(key, "map[string]string");
    for (const auto& [k, v] : md[key].items()) {
      if (!v.is_string()) return bad(std::string(key), "string");
    }
  }
  if (md.contains("finalizers") && !md["finalizers"].is_null()) {
    if (!md["finalizers"].is_array()) return bad("finalizers", "[]string");
    for (const auto& f : md["finalizers"]) {
      if (!f.is_string()) return bad("finalizers", "string");
    }
  }
  return std::nullopt;
}

// Explicit nulls in metadata mean "unset", as when Go decodes them.
void DropNulls(nlohmann::json& md) {
  for (auto it = md.begin(); it != md.end();) {
    if (it->is_null()) {
      it = md.erase(it);
    } else {
      ++it;
    }
  }
}

// Secrets: stringData is write-only; the server folds it into data (base64) and defaults
// the type (core/v1 Secret conversion and defaulting).
void NormalizeSecret(nlohmann::json& secret) {
  if (secret.contains("stringData") && secret["stringData"].is_object()) {
    for (const auto& [k, v] : secret["stringData"].items()) {
      if (v.is_string()) secret["data"][k] = Base64Encode(v.get<std::string>());
    }
  }
  secret.erase("stringData");
  if (!secret.contains("type")) secret["type"] = "Opaque";
}

}  // namespace

std::string NewUid() {
  auto& rng = Rng();
  const uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string RandomSuffix(size_t n) {
  // The alphabet of apimachinery's rand.String (no vowels, no confusable characters).
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kAlphabet[Rng()() % (sizeof(kAlphabet) - 1)];
  return s;
}

std::string ValidateName(const ResourceType& type, const std::string& name) {
  if (type.group.empty() && type.resource == "namespaces") {
    if (!IsDnsLabel(name, 63)) {
      return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    }
    return "";
  }
  if (type.group.empty() && (type.resource == "configmaps" || type.resource == "secrets")) {
    // ConfigMap and Secret keys-like names also allow dots; the rule is DNS subdomain.
  }
  if (name.find('/') != std::string::npos || name == "." || name == "..") return "may not contain '/'";
  if (!IsDnsSubdomain(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
           "and must "
           "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return "";
}

ObjectOrError PrepareCreate(const ResourceType& type, nlohmann::json body, const std::string& url_ns,
                            const std::string& now) {
  if (!body.is_object()) return BadRequest("the object provided is not a JSON object");
  if (body.contains("apiVersion") && body["apiVersion"] != type.api_version()) {
    return BadRequest("the API version in the data (" + body["apiVersion"].dump() +
                      ") does not match the expected API version (" + type.api_version() + ")");
  }
  if (body.contains("kind") && body["kind"] != type.kind) {
    return BadRequest("the kind in the data (" + body["kind"].dump() +
                      ") does not match the expected kind (" + type.kind + ")");
  }
  body["apiVersion"] = type.api_version();
  body["kind"] = type.kind;
  if (!body.contains("metadata") || !body["metadata"].is_object())
    body["metadata"] = nlohmann::json::object();
  auto& md = body["metadata"];
  if (auto e = CheckMetadataShape(md)) return *e;
  DropNulls(md);
  if (type.group.empty() && type.resource == "secrets") NormalizeSecret(body);
  if (type.namespaced) {
    const std::string ns = md.value("namespace", "");
    if (!ns.empty() && ns != url_ns) {
      return BadRequest(
          "the namespace of the provided object does not match the namespace sent on the request");
    }
    md["namespace"] = url_ns;
  } else {
    md.erase("namespace");
  }
  std::string name = md.value("name", "");
  if (name.empty()) {
    const std::string gen = md.value("generateName", "");
    if (gen.empty()) {
      return Invalid(
          type.group, type.kind, "",
          {{"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"}});
    }
    name = gen + RandomSuffix(5);
    md["name"] = name;
  }
  if (const std::string why = ValidateName(type, name); !why.empty()) {
    return Invalid(type.group, type.kind, name,
                   {{"FieldValueInvalid", "Invalid value: \"" + name + "\": " + why, "metadata.name"}});
  }
  if (!md.value("resourceVersion", "").empty()) {
    return Internal("resourceVersion should not be set on objects to be created");
  }
  md.erase("resourceVersion");
  md.erase("deletionTimestamp");
  md.erase("deletionGracePeriodSeconds");
  md.erase("managedFields");
  md.erase("selfLink");
  md["uid"] = NewUid();
  md["creationTimestamp"] = now;
  if (type.has_generation) {
    md["generation"] = 1;
  } else {
    md.erase("generation");
  }
  if (type.status_sub) {
    if (type.custom) {
      body.erase("status");
    } else {
      body["status"] = nlohmann::json::object();
    }
  }
  ApplyDefaults(type, body, name);
  if (type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions") {
    return PrepareCrd(std::move(body), now);
  }
  return body;
}

ObjectOrError PrepareUpdate(const ResourceType& type, const nlohmann::json& current, nlohmann::json incoming,
                            const std::string& sub, const std::string& url_name, bool strict_rv) {
  if (!incoming.is_object()) return BadRequest("the object provided is not a JSON object");
  if (!incoming.contains("metadata") || !incoming["metadata"].is_object()) {
    incoming["metadata"] = nlohmann::json::object();
  }
  auto& md = incoming["metadata"];
  if (auto e = CheckMetadataShape(md)) return *e;
  DropNulls(md);
  if (type.group.empty() && type.resource == "secrets") NormalizeSecret(incoming);
  const auto& cmd = current["metadata"];
  const std::string name = md.value("name", "");
  if (!name.empty() && name != url_name) {
    return BadRequest("the name of the object (" + name + ") does not match the name on the URL (" +
                      url_name + ")");
  }
  if (incoming.contains("apiVersion") && incoming["apiVersion"] != type.api_version()) {
    return BadRequest("the API version in the data (" + incoming["apiVersion"].dump() +
                      ") does not match the expected API version (" + type.api_version() + ")");
  }
  if (incoming.contains("kind") && incoming["kind"] != type.kind) {
    return BadRequest("the kind in the data (" + incoming["kind"].dump() +
                      ") does not match the expected kind (" + type.kind + ")");
  }
  const std::string rv = md.value("resourceVersion", "");
  if (rv.empty() && strict_rv) {
    return Invalid(type.group, type.kind, url_name,
                   {{"FieldValueInvalid", "Invalid value: 0x0: must be specified for an update",
                     "metadata.resourceVersion"}});
  }
  if (!rv.empty() && rv != cmd.value("resourceVersion", "")) {
    return Conflict(
        type.group, type.resource, url_name,
        "the object has been modified; please apply your changes to the latest version and try again");
  }
  if (sub == "status") {
    nlohmann::json out = current;
    if (incoming.contains("status")) {
      out["status"] = incoming["status"];
    } else {
      out.erase("status");
    }
    return out;
  }
  incoming["apiVersion"] = type.api_version();
  incoming["kind"] = type.kind;
  md["name"] = url_name;
  for (const char* key : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "namespace", "generation", "resourceVersion"}) {
    if (cmd.contains(key)) {
      md[key] = cmd[key];
    } else {
      md.erase(key);
    }
  }
  md.erase("selfLink");
  if (type.status_sub) {
    if (current.contains("status")) {
      incoming["status"] = current["status"];
    } else {
      incoming.erase("status");
    }
  }
  if (!type.custom && type.group.empty() && type.resource == "services" && current.contains("spec")) {
    // Like the service REST storage: an update that omits the allocated IPs keeps them.
    auto& spec = incoming["spec"];
    if (spec.is_object()) {
      for (const char* key : {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"}) {
        if ((!spec.contains(key) || spec[key] == "") && current["spec"].contains(key))
          spec[key] = current["spec"][key];
      }
    }
  }
  if (type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions") {
    auto prepared = PrepareCrd(std::move(incoming), cmd.value("creationTimestamp", ""));
    if (std::holds_alternative<ApiError>(prepared)) return prepared;
    incoming = std::move(std::get<nlohmann::json>(prepared));
  }
  if (type.has_generation && SpecChanged(type, current, incoming)) {
    incoming["metadata"]["generation"] = cmd.value("generation", int64_t{0}) + 1;
  }
  return incoming;
}

bool SameContent(const nlohmann::json& a, const nlohmann::json& b) {
  return WithoutVolatile(a) == WithoutVolatile(b);
}

nlohmann::json ToScale(const ResourceType& type, const nlohmann::json& object) {
  const auto& md = object["metadata"];
  nlohmann::json scale_md = nlohmann::json::object();
  for (const char* key : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    if (md.contains(key)) scale_md[key] = md[key];
  }
  const nlohmann::json::json_pointer spec_ptr(Pointer(type.spec_replicas_path));
  const nlohmann::json::json_pointer status_ptr(Pointer(type.status_replicas_path));
  nlohmann::json scale = {
      {"kind", "Scale"},
      {"apiVersion", "autoscaling/v1"},
      {"metadata", scale_md},
      {"spec", {{"replicas", object.contains(spec_ptr) ? object[spec_ptr] : nlohmann::json(0)}}},
      {"status", {{"replicas", object.contains(status_ptr) ? object[status_ptr] : nlohmann::json(0)}}}};
  std::string selector;
  if (type.custom) {
    const nlohmann::json::json_pointer sel_ptr(Pointer(type.label_selector_path));
    if (!type.label_selector_path.empty() && object.contains(sel_ptr) && object[sel_ptr].is_string()) {
      selector = object[sel_ptr].get<std::string>();
    }
  } else if (object.contains("spec") && object["spec"].contains("selector")) {
    auto parsed = labels::Selector::FromLabelSelector(object["spec"]["selector"], "spec.selector");
    if (parsed.ok()) selector = parsed->String();
  }
  if (!selector.empty()) scale["status"]["selector"] = selector;
  return scale;
}

ObjectOrError FromScale(const ResourceType& type, const nlohmann::json& object, const nlohmann::json& scale) {
  const std::string name = object["metadata"].value("name", "");
  if (!scale.is_object() || !scale.contains("spec") || !scale["spec"].contains("replicas") ||
      !scale["spec"]["replicas"].is_number_integer() || scale["spec"]["replicas"].get<int64_t>() < 0) {
    return Invalid(
        "autoscaling", "Scale", name,
        {{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"}});
  }
  const std::string rv = scale.contains("metadata") ? scale["metadata"].value("resourceVersion", "") : "";
  if (!rv.empty() && rv != object["metadata"].value("resourceVersion", "")) {
    return Conflict(
        type.group, type.resource, name,
        "the object has been modified; please apply your changes to the latest version and try again");
  }
  nlohmann::json out = object;
  out[nlohmann::json::json_pointer(Pointer(type.spec_replicas_path))] = scale["spec"]["replicas"];
  if (type.has_generation && out != object) {
    out["metadata"]["generation"] = object["metadata"].value("generation", int64_t{0}) + 1;
  }
  return out;
}

ObjectOrError PrepareCrd(nlohmann::json crd, const std::string& now) {
  const std::string name = crd["metadata"].value("name", "");
  std::vector<Cause> causes;
  if (!crd.contains("spec") || !crd["spec"].is_object()) crd["spec"] = nlohmann::json::object();
  auto& spec = crd["spec"];
  const std::string group = spec.value("group", "");
  if (!spec.contains("names") || !spec["names"].is_object()) spec["names"] = nlohmann::json::object();
  auto& names = spec["names"];
  const std::string plural = names.value("plural", "");
  const std::string kind = names.value("kind", "");
  if (group.empty()) causes.push_back({"FieldValueRequired", "Required value", "spec.group"});
  if (plural.empty()) causes.push_back({"FieldValueRequired", "Required value", "spec.names.plural"});
  if (kind.empty()) causes.push_back({"FieldValueRequired", "Required value", "spec.names.kind"});
  if (name != plural + "." + group) {
    causes.push_back({"FieldValueInvalid",
                      "Invalid value: \"" + name + "\": must be spec.names.plural+\".\"+spec.group",
                      "metadata.name"});
  }
  const std::string scope = spec.value("scope", "");
  if (scope != "Namespaced" && scope != "Cluster") {
    causes.push_back({"FieldValueNotSupported",
                      "Unsupported value: \"" + scope + "\": supported values: \"Cluster\", \"Namespaced\"",
                      "spec.scope"});
  }
  int storage = 0;
  std::string storage_version;
  if (!spec.contains("versions") || !spec["versions"].is_array() || spec["versions"].empty()) {
    causes.push_back({"FieldValueInvalid",
                      "Invalid value: must have exactly one version marked as storage version",
                      "spec.versions"});
  } else {
    for (const auto& v : spec["versions"]) {
      if (v.value("storage", false)) {
        ++storage;
        storage_version = v.value("name", "");
      }
    }
    if (storage != 1) {
      causes.push_back({"FieldValueInvalid",
                        "Invalid value: must have exactly one version marked as storage version",
                        "spec.versions"});
    }
  }
  if (!causes.empty())
    return Invalid("apiextensions.k8s.io", "CustomResourceDefinition", name, std::move(causes));
  std::string singular = kind;
  for (auto& c : singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!names.contains("singular")) names["singular"] = singular;
  if (!names.contains("listKind")) names["listKind"] = kind + "List";
  nlohmann::json stored = nlohmann::json::array({storage_version});
  if (crd.contains("status") && crd["status"].contains("storedVersions")) {
    for (const auto& v : crd["status"]["storedVersions"]) {
      if (v != storage_version) stored.push_back(v);
    }
  }
  crd["status"] = {{"acceptedNames", names},
                   {"conditions",
                    {{{"type", "NamesAccepted"},
                      {"status", "True"},
                      {"lastTransitionTime", now},
                      {"reason", "NoConflicts"},
                      {"message", "no conflicts found"}},
                     {{"type", "Established"},
                      {"status", "True"},
                      {"lastTransitionTime", now},
                      {"reason", "InitialNamesAccepted"},
                      {"message", "the initial names have been accepted"}}}},
                   {"storedVersions", stored}};
  return crd;
}

}  // namespace kubesync::emulator
