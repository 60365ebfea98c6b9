#include "api/validation_core.h"

#include <set>

#include "api/json_util.h"
#include "setpoint/common/base64.h"

namespace setpoint::api {
namespace json = boost::json;
using internal::GoQuote;

namespace {

constexpr std::size_t kConfigMapKeyMaxLength = 253;  // DNS1123SubdomainMaxLength
constexpr std::string_view kImmutableMsg = "Forbidden: field is immutable when `immutable` is set";

// The Go type each JSON field decodes into, for encoding/json's UnmarshalTypeError text.
struct FieldType {
  std::string_view name;
  std::string_view go_type;        // of the field
  std::string_view go_value_type;  // of a map value ("" when not a map)
  bool bytes_values = false;       // map of []byte: values are base64
};

constexpr FieldType kConfigMapFields[] = {
    {"data", "map[string]string", "string", false},
    {"binaryData", "map[string][]uint8", "[]uint8", true},
    {"immutable", "bool", "", false},
};
constexpr FieldType kSecretFields[] = {
    {"data", "map[string][]uint8", "[]uint8", true},
    {"stringData", "map[string]string", "string", false},
    {"type", "v1.SecretType", "", false},
    {"immutable", "bool", "", false},
};

// encoding/json's name for the JSON kind of a value in "cannot unmarshal <kind> into ...".
std::string_view JsonKind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return "object";
    case json::kind::array:
      return "array";
    case json::kind::string:
      return "string";
    case json::kind::bool_:
      return "bool";
    case json::kind::null:
      return "null";
    default:
      return "number";
  }
}

Status DecodeError(std::string_view kind, std::string_view detail) {
  std::string k(kind);
  return Status::BadRequest(k + " in version \"v1\" cannot be handled as a " + k + ": " + std::string(detail));
}

Status TypeError(std::string_view kind, std::string_view field, const json::value& v, std::string_view go_type) {
  return DecodeError(kind, "json: cannot unmarshal " + std::string(JsonKind(v)) + " into Go struct field " +
                               std::string(kind) + "." + std::string(field) + " of type " + std::string(go_type));
}

// Checks and normalizes the kind's own fields in document order (the first error wins, as in
// encoding/json); drops the fields the kind does not have.
template <std::size_t N>
Status NormalizeFields(std::string_view kind, const FieldType (&fields)[N], json::object& obj,
                       std::vector<std::string>* unknown) {
  std::vector<std::string> drop;
  for (auto& kv : obj) {
    std::string_view key = kv.key();
    if (key == "apiVersion" || key == "kind" || key == "metadata") continue;
    const FieldType* f = nullptr;
    for (const auto& candidate : fields)
      if (candidate.name == key) f = &candidate;
    if (f == nullptr) {
      drop.emplace_back(key);
      continue;
    }
    json::value& v = kv.value();
    if (v.is_null()) continue;  // leaves the Go field at its zero value
    if (f->go_value_type.empty()) {
      bool ok = f->go_type == "bool" ? v.is_bool() : v.is_string();
      if (!ok) return TypeError(kind, f->name, v, f->go_type);
      continue;
    }
    if (!v.is_object()) return TypeError(kind, f->name, v, f->go_type);
    for (auto& entry : v.get_object()) {
      json::value& ev = entry.value();
      if (ev.is_null()) {
        ev = json::string();  // a null map value decodes to the zero value
        continue;
      }
      if (!ev.is_string()) return TypeError(kind, f->name, ev, f->go_value_type);
      if (f->bytes_values) {
        auto decoded = DecodeGoBase64(ev.get_string());
        if (!decoded) return DecodeError(kind, decoded.error().message());
        ev = json::string(Base64Encode(*decoded));
      }
    }
  }
  for (const auto& k : drop) {
    if (unknown != nullptr) unknown->push_back(k);
    obj.erase(k);
  }
  // omitempty: null fields and empty maps are not part of the object.
  std::vector<std::string> empty;
  for (const auto& kv : obj) {
    if (kv.key() == "apiVersion" || kv.key() == "kind" || kv.key() == "metadata") continue;
    if (kv.value().is_null() || (kv.value().is_object() && kv.value().get_object().empty()))
      empty.emplace_back(kv.key());
  }
  for (const auto& k : empty) obj.erase(k);
  return Status::Ok();
}

bool BoolField(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

const json::object* MapField(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

std::string StringOf(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// reflect.DeepEqual of two maps after normalization (absent and empty are both "no map").
bool SameMap(const json::object& a, const json::object& b, std::string_view key) {
  static const json::value kEmpty = json::object();
  const auto* x = a.if_contains(key);
  const auto* y = b.if_contains(key);
  return internal::JsonEqual(x ? *x : kEmpty, y ? *y : kEmpty);
}

// Bytes a canonical base64 string decodes to.
std::size_t DecodedSize(std::string_view b64) {
  std::size_t n = b64.size() / 4 * 3;
  if (!b64.empty() && b64.back() == '=') --n;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') --n;
  return n;
}

void AddCause(std::vector<StatusCause>& causes, std::string reason, std::string message, std::string field) {
  causes.push_back(StatusCause{std::move(reason), std::move(message), std::move(field)});
}

void AddRequired(std::vector<StatusCause>& causes, std::string field) {
  AddCause(causes, "FieldValueRequired", "Required value", std::move(field));
}

// Validates the keys of data-like maps; returns the total size of their values in bytes.
std::size_t ValidateKeys(const json::object* map, std::string_view field, bool base64_values,
                         std::vector<StatusCause>& causes) {
  std::size_t total = 0;
  if (map == nullptr) return 0;
  for (const auto& kv : *map) {
    std::string path = std::string(field) + "[" + std::string(kv.key()) + "]";
    for (const auto& msg : IsConfigMapKey(kv.key()))
      AddCause(causes, "FieldValueInvalid", "Invalid value: " + GoQuote(kv.key()) + ": " + msg, path);
    if (kv.value().is_string()) {
      std::string_view s = kv.value().get_string();
      total += base64_values ? DecodedSize(s) : s.size();
    }
  }
  return total;
}

// encoding/json's answer for unmarshalling `text` into map[string]interface{}; empty if it works.
std::string JsonObjectError(std::string_view text) {
  json::stream_parser p;
  boost::system::error_code ec;
  std::size_t used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    std::size_t i = used < text.size() ? used : text.size();
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    if (i >= text.size()) return "unexpected end of JSON input";
    std::string c(1, text[i]);
    return "invalid character '" + c + "' looking for beginning of value";
  }
  json::value v = p.release();
  if (!v.is_object())
    return "json: cannot unmarshal " + std::string(JsonKind(v)) + " into Go value of type map[string]interface {}";
  return "";
}

void ValidateImmutable(const json::object& obj, const json::object* old, std::initializer_list<std::string_view> maps,
                       std::vector<StatusCause>& causes) {
  if (old == nullptr || !BoolField(*old, "immutable")) return;
  if (!BoolField(obj, "immutable")) AddCause(causes, "FieldValueForbidden", std::string(kImmutableMsg), "immutable");
  for (auto m : maps)
    if (!SameMap(obj, *old, m)) AddCause(causes, "FieldValueForbidden", std::string(kImmutableMsg), std::string(m));
}

}  // namespace

std::vector<std::string> IsConfigMapKey(std::string_view key) {
  std::vector<std::string> errs;
  if (key.size() > kConfigMapKeyMaxLength)
    errs.push_back("must be no more than " + std::to_string(kConfigMapKeyMaxLength) + " characters");
  bool matches = !key.empty();
  for (char c : key) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) matches = false;
  }
  if (!matches)
    errs.push_back(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
        "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  if (key == ".")
    errs.push_back("must not be '.'");
  else if (key == "..")
    errs.push_back("must not be '..'");
  else if (key.starts_with(".."))
    errs.push_back("must not start with '..'");
  return errs;
}

Result<std::string> DecodeGoBase64(std::string_view src) {
  // A port of Go's decodeQuantum (encoding/base64), so that the accepted inputs and the byte
  // offsets in errors are the same.
  auto bad = [](std::size_t at) {
    return Err(Status::BadRequest("illegal base64 data at input byte " + std::to_string(at)));
  };
  auto value_of = [](unsigned char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  auto newline = [&](std::size_t i) { return src[i] == '\n' || src[i] == '\r'; };
  std::string out;
  out.reserve(src.size() / 4 * 3 + 3);
  std::size_t si = 0;
  while (true) {
    int dbuf[4] = {0, 0, 0, 0};
    int dlen = 4;
    bool last = false;
    std::size_t trailing_garbage = std::string_view::npos;
    for (int j = 0; j < 4; ++j) {
      if (si == src.size()) {
        if (j == 0) return out;
        return bad(si - static_cast<std::size_t>(j));  // padding is required
      }
      unsigned char in = static_cast<unsigned char>(src[si++]);
      int v = value_of(in);
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (in == '\n' || in == '\r') {
        --j;
        continue;
      }
      if (in != '=') return bad(si - 1);
      // Padding: the end of the input.
      if (j == 0 || j == 1) return bad(si - 1);
      if (j == 2) {
        while (si < src.size() && newline(si)) ++si;
        if (si == src.size()) return bad(src.size());
        if (src[si] != '=') return bad(si - 1);
        ++si;
      }
      while (si < src.size() && newline(si)) ++si;
      if (si < src.size()) trailing_garbage = si;
      dlen = j;
      last = true;
      break;
    }
    unsigned val = static_cast<unsigned>(dbuf[0]) << 18 | static_cast<unsigned>(dbuf[1]) << 12 |
                   static_cast<unsigned>(dbuf[2]) << 6 | static_cast<unsigned>(dbuf[3]);
    char bytes[3] = {static_cast<char>((val >> 16) & 0xff), static_cast<char>((val >> 8) & 0xff),
                     static_cast<char>(val & 0xff)};
    out.append(bytes, static_cast<std::size_t>(dlen - 1));
    if (trailing_garbage != std::string_view::npos) return bad(trailing_garbage);
    if (last) return out;
  }
}

Status NormalizeConfigMap(json::object& obj, std::vector<std::string>* unknown_fields) {
  return NormalizeFields("ConfigMap", kConfigMapFields, obj, unknown_fields);
}

Status NormalizeSecret(json::object& obj, std::vector<std::string>* unknown_fields) {
  if (Status s = NormalizeFields("Secret", kSecretFields, obj, unknown_fields); !s.ok()) return s;
  // Conversion to the internal type: stringData overwrites data, and is gone afterwards.
  if (const json::object* string_data = MapField(obj, "stringData")) {
    json::object data;
    if (const json::object* d = MapField(obj, "data")) data = *d;
    for (const auto& kv : *string_data) data[kv.key()] = Base64Encode(std::string_view(kv.value().get_string()));
    obj.erase("stringData");
    obj["data"] = std::move(data);
  }
  // SetDefaults_Secret.
  if (StringOf(obj, "type").empty()) obj["type"] = "Opaque";
  return Status::Ok();
}

void ValidateConfigMap(const json::object& cm, const json::object* old, std::vector<StatusCause>& causes) {
  ValidateImmutable(cm, old, {"data", "binaryData"}, causes);
  const json::object* data = MapField(cm, "data");
  const json::object* binary = MapField(cm, "binaryData");
  std::size_t total = ValidateKeys(data, "data", false, causes);
  if (data != nullptr && binary != nullptr)
    for (const auto& kv : *data)
      if (binary->contains(kv.key()))
        AddCause(causes, "FieldValueInvalid",
                 "Invalid value: " + GoQuote(kv.key()) + ": duplicate of key present in binaryData",
                 "data[" + std::string(kv.key()) + "]");
  total += ValidateKeys(binary, "binaryData", true, causes);
  if (total > kMaxConfigDataSize)  // upstream reports it against the whole object: field ""
    AddCause(causes, "FieldValueTooLong",
             "Too long: must have at most " + std::to_string(kMaxConfigDataSize) + " bytes", "");
}

void ValidateSecret(const json::object& secret, const json::object* old, std::vector<StatusCause>& causes) {
  std::string type = StringOf(secret, "type");
  if (old != nullptr) {
    std::string old_type = StringOf(*old, "type");
    if (type != old_type)
      AddCause(causes, "FieldValueInvalid", "Invalid value: " + GoQuote(type) + ": field is immutable", "type");
  }
  ValidateImmutable(secret, old, {"data"}, causes);
  const json::object* data = MapField(secret, "data");
  std::size_t total = ValidateKeys(data, "data", true, causes);
  if (total > kMaxConfigDataSize)
    AddCause(causes, "FieldValueTooLong",
             "Too long: must have at most " + std::to_string(kMaxConfigDataSize) + " bytes", "data");

  auto has = [&](std::string_view key) { return data != nullptr && data->contains(key); };
  auto decoded = [&](std::string_view key) -> std::string {
    if (!has(key) || !data->at(key).is_string()) return "";
    auto d = DecodeGoBase64(data->at(key).get_string());
    return d ? *d : "";
  };
  auto require_json = [&](std::string_view key) {
    std::string path = "data[" + std::string(key) + "]";
    if (!has(key)) return AddRequired(causes, path);
    std::string err = JsonObjectError(decoded(key));
    if (!err.empty())
      AddCause(causes, "FieldValueInvalid", "Invalid value: \"<secret contents redacted>\": " + err, path);
  };
  if (type == "kubernetes.io/service-account-token") {
    std::string sa;
    if (const json::object* meta = MapField(secret, "metadata"))
      if (const json::object* ann = MapField(*meta, "annotations"))
        sa = StringOf(*ann, "kubernetes.io/service-account.name");
    if (sa.empty()) AddRequired(causes, "metadata.annotations[kubernetes.io/service-account.name]");
  } else if (type == "kubernetes.io/dockercfg") {
    require_json(".dockercfg");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    require_json(".dockerconfigjson");
  } else if (type == "kubernetes.io/basic-auth") {
    if (!has("username") && !has("password")) {
      AddRequired(causes, "data[username]");
      AddRequired(causes, "data[password]");
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    if (decoded("ssh-privatekey").empty()) AddRequired(causes, "data[ssh-privatekey]");
  } else if (type == "kubernetes.io/tls") {
    if (!has("tls.crt")) AddRequired(causes, "data[tls.crt]");
    if (!has("tls.key")) AddRequired(causes, "data[tls.key]");
  }
}

}  // namespace setpoint::api
