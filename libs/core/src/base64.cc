#include "kubesync/core/base64.h"

#include <array>

namespace kubesync {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> MakeTable() {
  std::array<int, 256> table{};
  for (auto& v : table) {
    v = -1;
  }
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  return table;
}

constexpr std::array<int, 256> kTable = MakeTable();

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (!IsSpace(c)) {
      clean.push_back(c);
    }
  }
  if (clean.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  for (size_t i = 0; i < clean.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = clean[i + j];
      if (c == '=') {
        // Padding only in the last group, only in the last two places, and nothing after.
        if (i + 4 != clean.size() || j < 2) {
          return std::nullopt;
        }
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad > 0) {
        return std::nullopt;
      }
      v[j] = kTable[static_cast<unsigned char>(c)];
      if (v[j] < 0) {
        return std::nullopt;
      }
    }
    unsigned triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>((triple >> 16) & 0xff));
    if (pad < 2) {
      out.push_back(static_cast<char>((triple >> 8) & 0xff));
    }
    if (pad < 1) {
      out.push_back(static_cast<char>(triple & 0xff));
    }
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned t = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(t >> 18) & 63]);
    out.push_back(kAlphabet[(t >> 12) & 63]);
    out.push_back(kAlphabet[(t >> 6) & 63]);
    out.push_back(kAlphabet[t & 63]);
  }
  if (i < bytes.size()) {
    unsigned t = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) {
      t |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    }
    out.push_back(kAlphabet[(t >> 18) & 63]);
    out.push_back(kAlphabet[(t >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(t >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace kubesync
