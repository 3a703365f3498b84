#include "kubesync/labels/selector.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "kubesync/core/names.h"

namespace kubesync::labels {
namespace {

// ---- lexer -------------------------------------------------------------------------

enum class Tok { kEnd, kIdent, kComma, kOpen, kClose, kEq, kDoubleEq, kNotEq, kBang, kGt, kLt };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
};

bool IsSpecial(char c) {
  return c == ',' || c == '(' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>' ||
         std::isspace(static_cast<unsigned char>(c));
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Token Next() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ >= s_.size()) return {Tok::kEnd, ""};
    const char c = s_[pos_];
    auto two = [&](char second) { return pos_ + 1 < s_.size() && s_[pos_ + 1] == second; };
    switch (c) {
      case ',': ++pos_; return {Tok::kComma, ","};
      case '(': ++pos_; return {Tok::kOpen, "("};
      case ')': ++pos_; return {Tok::kClose, ")"};
      case '>': ++pos_; return {Tok::kGt, ">"};
      case '<': ++pos_; return {Tok::kLt, "<"};
      case '=':
        if (two('=')) { pos_ += 2; return {Tok::kDoubleEq, "=="}; }
        ++pos_;
        return {Tok::kEq, "="};
      case '!':
        if (two('=')) { pos_ += 2; return {Tok::kNotEq, "!="}; }
        ++pos_;
        return {Tok::kBang, "!"};
      default: break;
    }
    const std::size_t start = pos_;
    while (pos_ < s_.size() && !IsSpecial(s_[pos_])) ++pos_;
    return {Tok::kIdent, std::string(s_.substr(start, pos_ - start))};
  }

  Token Peek() {
    const std::size_t saved = pos_;
    Token t = Next();
    pos_ = saved;
    return t;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

Status ParseError(std::string_view text, const std::string& what) {
  return InvalidArgumentError("unable to parse requirement: " + what + " in label selector \"" +
                              std::string(text) + "\"");
}

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most 63 characters.
bool IsQualifiedNamePart(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::optional<long long> ParseInt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return std::nullopt;
  return v;
}

std::string_view OpName(Operator op) {
  switch (op) {
    case Operator::kEquals: return "=";
    case Operator::kNotEquals: return "!=";
    case Operator::kIn: return "in";
    case Operator::kNotIn: return "notin";
    case Operator::kExists: return "exists";
    case Operator::kDoesNotExist: return "!";
    case Operator::kGreaterThan: return ">";
    case Operator::kLessThan: return "<";
  }
  return "?";
}

Result<Requirement> MakeRequirement(std::string key, Operator op, std::vector<std::string> values) {
  KS_RETURN_IF_ERROR(ValidateLabelKey(key));
  switch (op) {
    case Operator::kIn:
    case Operator::kNotIn:
      if (values.empty()) return InvalidArgumentError("for 'in', 'notin' operators, values set can't be empty");
      break;
    case Operator::kEquals:
    case Operator::kNotEquals:
      if (values.size() != 1) return InvalidArgumentError("exact-match compatibility requires one single value");
      break;
    case Operator::kExists:
    case Operator::kDoesNotExist:
      if (!values.empty()) return InvalidArgumentError("values set must be empty for exists and does not exist");
      break;
    case Operator::kGreaterThan:
    case Operator::kLessThan:
      if (values.size() != 1 || !ParseInt(values[0])) {
        return InvalidArgumentError("for 'Gt', 'Lt' operators, exactly one value is required and it must be an integer");
      }
      break;
  }
  if (op != Operator::kGreaterThan && op != Operator::kLessThan) {
    for (const auto& v : values) KS_RETURN_IF_ERROR(ValidateLabelValue(v));
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return Requirement{std::move(key), op, std::move(values)};
}

void SortRequirements(std::vector<Requirement>& reqs) {
  std::stable_sort(reqs.begin(), reqs.end(), [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
}

}  // namespace

Status ValidateLabelKey(std::string_view key) {
  std::string_view name = key;
  const std::size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!names::IsDns1123Subdomain(prefix)) {
      return InvalidArgumentError("invalid label key \"" + std::string(key) +
                                  "\": prefix part must be a lowercase RFC 1123 subdomain");
    }
  }
  if (!IsQualifiedNamePart(name)) {
    return InvalidArgumentError("invalid label key \"" + std::string(key) +
                                "\": name part must consist of alphanumeric characters, '-', '_' or '.', "
                                "start and end with an alphanumeric character, and be at most 63 characters");
  }
  return OkStatus();
}

Status ValidateLabelValue(std::string_view value) {
  if (value.empty() || IsQualifiedNamePart(value)) return OkStatus();
  return InvalidArgumentError("invalid label value \"" + std::string(value) +
                              "\": must be 63 characters or less and consist of alphanumeric characters, "
                              "'-', '_' or '.', starting and ending with an alphanumeric character");
}

bool Requirement::Matches(const std::map<std::string, std::string>& labels) const {
  auto it = labels.find(key);
  const bool has = it != labels.end();
  switch (op) {
    case Operator::kExists: return has;
    case Operator::kDoesNotExist: return !has;
    case Operator::kEquals:
    case Operator::kIn: return has && std::binary_search(values.begin(), values.end(), it->second);
    case Operator::kNotEquals:
    case Operator::kNotIn: return !has || !std::binary_search(values.begin(), values.end(), it->second);
    case Operator::kGreaterThan:
    case Operator::kLessThan: {
      if (!has) return false;
      auto lhs = ParseInt(it->second);
      auto rhs = ParseInt(values.front());
      if (!lhs || !rhs) return false;
      return op == Operator::kGreaterThan ? *lhs > *rhs : *lhs < *rhs;
    }
  }
  return false;
}

std::string Requirement::String() const {
  switch (op) {
    case Operator::kExists: return key;
    case Operator::kDoesNotExist: return "!" + key;
    case Operator::kEquals:
    case Operator::kNotEquals:
    case Operator::kGreaterThan:
    case Operator::kLessThan: return key + std::string(OpName(op)) + values.front();
    case Operator::kIn:
    case Operator::kNotIn: {
      std::string out = key + " " + std::string(OpName(op)) + " (";
      for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
      return out + ")";
    }
  }
  return key;
}

Result<Selector> Selector::Parse(std::string_view text) {
  Selector sel;
  Lexer lex(text);
  if (lex.Peek().kind == Tok::kEnd) return sel;
  while (true) {
    Token t = lex.Next();
    Operator op;
    std::string key;
    std::vector<std::string> values;
    if (t.kind == Tok::kBang) {
      Token k = lex.Next();
      if (k.kind != Tok::kIdent) return ParseError(text, "found '" + k.text + "', expected: identifier after '!'");
      key = k.text;
      op = Operator::kDoesNotExist;
    } else if (t.kind == Tok::kIdent) {
      key = t.text;
      Token o = lex.Peek();
      if (o.kind == Tok::kEnd || o.kind == Tok::kComma) {
        op = Operator::kExists;
      } else {
        lex.Next();
        if (o.kind == Tok::kEq || o.kind == Tok::kDoubleEq || o.kind == Tok::kNotEq || o.kind == Tok::kGt ||
            o.kind == Tok::kLt) {
          op = o.kind == Tok::kNotEq ? Operator::kNotEquals
               : o.kind == Tok::kGt  ? Operator::kGreaterThan
               : o.kind == Tok::kLt  ? Operator::kLessThan
                                     : Operator::kEquals;
          Token v = lex.Peek();
          if (v.kind == Tok::kIdent) {
            values.push_back(lex.Next().text);
          } else if (v.kind == Tok::kEnd || v.kind == Tok::kComma) {
            values.emplace_back();  // "a=" selects an empty value
          } else {
            return ParseError(text, "found '" + v.text + "', expected: identifier");
          }
        } else if (o.kind == Tok::kIdent && (o.text == "in" || o.text == "notin")) {
          op = o.text == "in" ? Operator::kIn : Operator::kNotIn;
          if (lex.Next().kind != Tok::kOpen) return ParseError(text, "found '" + o.text + "', expected: '('");
          while (true) {
            Token v = lex.Next();
            if (v.kind == Tok::kIdent) {
              values.push_back(v.text);
              v = lex.Next();
            } else if (v.kind == Tok::kComma || v.kind == Tok::kClose) {
              if (v.kind == Tok::kClose && values.empty()) break;
              values.emplace_back();
            } else {
              return ParseError(text, "found '" + v.text + "', expected: ',', ')' or identifier");
            }
            if (v.kind == Tok::kClose) break;
            if (v.kind != Tok::kComma) return ParseError(text, "found '" + v.text + "', expected: ',' or ')'");
          }
        } else {
          return ParseError(text, "found '" + o.text + "', expected: in, notin, =, ==, !=, gt, lt");
        }
      }
    } else {
      return ParseError(text, "found '" + t.text + "', expected: !, identifier, or 'end of string'");
    }
    auto req = MakeRequirement(std::move(key), op, std::move(values));
    if (!req.ok()) return req.status().Annotate("invalid label selector \"" + std::string(text) + "\"");
    sel.requirements_.push_back(std::move(*req));
    Token sep = lex.Next();
    if (sep.kind == Tok::kEnd) break;
    if (sep.kind != Tok::kComma) return ParseError(text, "found '" + sep.text + "', expected: ',' or 'end of string'");
  }
  SortRequirements(sel.requirements_);
  return sel;
}

Result<Selector> Selector::FromLabelSelector(const nlohmann::json& ls, std::string_view field_path) {
  Selector sel;
  const std::string path(field_path);
  if (ls.is_null()) return sel;
  if (!ls.is_object()) return InvalidArgumentError(path + ": must be an object with matchLabels and/or matchExpressions");
  for (const auto& [k, v] : ls.items()) {
    if (k != "matchLabels" && k != "matchExpressions") {
      return InvalidArgumentError(path + "." + k + ": unknown field (want matchLabels or matchExpressions)");
    }
  }
  if (auto it = ls.find("matchLabels"); it != ls.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgumentError(path + ".matchLabels: must be a map of strings");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return InvalidArgumentError(path + ".matchLabels." + k + ": must be a string");
      auto req = MakeRequirement(k, Operator::kEquals, {v.get<std::string>()});
      if (!req.ok()) return req.status().Annotate(path + ".matchLabels." + k);
      sel.requirements_.push_back(std::move(*req));
    }
  }
  if (auto it = ls.find("matchExpressions"); it != ls.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgumentError(path + ".matchExpressions: must be a list");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& e = (*it)[i];
      const std::string at = path + ".matchExpressions[" + std::to_string(i) + "]";
      if (!e.is_object()) return InvalidArgumentError(at + ": must be an object with key, operator, values");
      auto key = e.find("key");
      if (key == e.end() || !key->is_string()) return InvalidArgumentError(at + ".key: required string");
      auto oper = e.find("operator");
      if (oper == e.end() || !oper->is_string()) return InvalidArgumentError(at + ".operator: required string");
      const std::string& o = oper->get_ref<const std::string&>();
      Operator op;
      if (o == "In") op = Operator::kIn;
      else if (o == "NotIn") op = Operator::kNotIn;
      else if (o == "Exists") op = Operator::kExists;
      else if (o == "DoesNotExist") op = Operator::kDoesNotExist;
      else return InvalidArgumentError(at + ".operator: unsupported value \"" + o + "\": want In, NotIn, Exists or DoesNotExist");
      std::vector<std::string> values;
      if (auto vs = e.find("values"); vs != e.end() && !vs->is_null()) {
        if (!vs->is_array()) return InvalidArgumentError(at + ".values: must be a list of strings");
        for (std::size_t j = 0; j < vs->size(); ++j) {
          if (!(*vs)[j].is_string()) {
            return InvalidArgumentError(at + ".values[" + std::to_string(j) + "]: must be a string");
          }
          values.push_back((*vs)[j].get<std::string>());
        }
      }
      auto req = MakeRequirement(key->get<std::string>(), op, std::move(values));
      if (!req.ok()) return req.status().Annotate(at);
      sel.requirements_.push_back(std::move(*req));
    }
  }
  SortRequirements(sel.requirements_);
  return sel;
}

bool Selector::Matches(const std::map<std::string, std::string>& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& r) { return r.Matches(labels); });
}

bool Selector::Matches(const nlohmann::json& labels) const {
  if (requirements_.empty()) return true;
  std::map<std::string, std::string> m;
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) m.emplace(k, v.get<std::string>());
    }
  }
  return Matches(m);
}

std::string Selector::String() const {
  std::string out;
  for (std::size_t i = 0; i < requirements_.size(); ++i) out += (i ? "," : "") + requirements_[i].String();
  return out;
}

Result<FieldSelector> FieldSelector::Parse(std::string_view text) {
  FieldSelector sel;
  std::size_t i = 0;
  const auto bad = [&](const std::string& why) {
    return InvalidArgumentError("invalid field selector \"" + std::string(text) + "\": " + why);
  };
  while (i < text.size()) {
    // One term: unescaped text up to an unescaped ','.
    std::string lhs, rhs;
    std::string* cur = &lhs;
    Operator op = Operator::kEquals;
    bool have_op = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '\\' && i + 1 < text.size()) {
        cur->push_back(text[++i]);
        continue;
      }
      if (c == ',') {
        ++i;
        break;
      }
      if (!have_op && (c == '=' || c == '!')) {
        if (c == '!' && (i + 1 >= text.size() || text[i + 1] != '=')) return bad("'!' must be followed by '='");
        op = c == '!' ? Operator::kNotEquals : Operator::kEquals;
        if (c == '!' || (i + 1 < text.size() && text[i + 1] == '=')) ++i;
        have_op = true;
        cur = &rhs;
        continue;
      }
      cur->push_back(c);
    }
    auto trim = [](std::string& s) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
      std::size_t b = 0;
      while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
      s.erase(0, b);
    };
    trim(lhs);
    if (lhs.empty() && !have_op) continue;  // tolerate empty terms like trailing commas
    if (!have_op) return bad("invalid selector: '" + lhs + "'; can't understand '" + lhs + "'");
    if (lhs.empty()) return bad("a field name is required before the operator");
    sel.requirements_.push_back({std::move(lhs), op, std::move(rhs)});
  }
  return sel;
}

}  // namespace kubesync::labels
