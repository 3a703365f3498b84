// Standard base64 (RFC 4648): kubeconfig *-data fields, Secret data, admission patches.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubesync {

// Strict decoding; ASCII whitespace is skipped (multi-line YAML values). nullopt when
// the text is not valid base64.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view bytes);

}  // namespace kubesync
