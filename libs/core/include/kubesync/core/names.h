// Kubernetes object names: the RFC 1123 forms the API server accepts, checked in one place
// (namespaces and most names are labels or subdomains; API groups are subdomains). See
// k8s.io/apimachinery/pkg/util/validation: IsDNS1123Label, IsDNS1123Subdomain.
#pragma once

#include <cstddef>
#include <string_view>

namespace kubesync::names {

inline constexpr std::size_t kMaxDns1123LabelLength = 63;
inline constexpr std::size_t kMaxDns1123SubdomainLength = 253;

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters: a namespace, a Service's name.
bool IsDns1123Label(std::string_view s);

// Dot-separated RFC 1123 labels, at most 253 characters: most object names, API groups,
// the prefix of a label key.
bool IsDns1123Subdomain(std::string_view s);

}  // namespace kubesync::names
