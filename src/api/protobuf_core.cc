#include "api/protobuf_core.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "setpoint/common/base64.h"
#include "setpoint/common/clock.h"

namespace setpoint::api {
namespace json = boost::json;

namespace {

constexpr std::string_view kMagic("k8s\0", 4);

Status Malformed(std::string_view what) {
  return Status::BadRequest("the body of the request could not be decoded as a protobuf message: " + std::string(what));
}

// One protobuf message: a sequence of (field number, wire type, value).
class Reader {
 public:
  explicit Reader(std::string_view buf) : buf_(buf) {}

  bool done() const { return pos_ >= buf_.size(); }

  // Reads the next field's key; false at the end or on malformed input (see error()).
  bool next(std::uint32_t& field, std::uint32_t& wire) {
    if (done() || failed_) return false;
    std::uint64_t key = 0;
    if (!varint(key)) return false;
    field = static_cast<std::uint32_t>(key >> 3);
    wire = static_cast<std::uint32_t>(key & 7);
    if (field == 0) return fail("field number 0");
    return true;
  }

  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= buf_.size()) return fail("unexpected end of message");
      auto b = static_cast<unsigned char>(buf_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return fail("varint too long");
  }

  bool bytes(std::string_view& out) {
    std::uint64_t n = 0;
    if (!varint(n)) return false;
    if (n > buf_.size() - pos_) return fail("unexpected end of message");
    out = buf_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }

  // Skips a value of the given wire type (fields this decoder does not use).
  bool skip(std::uint32_t wire) {
    std::uint64_t v;
    std::string_view s;
    switch (wire) {
      case 0:
        return varint(v);
      case 1:
        return advance(8);
      case 2:
        return bytes(s);
      case 5:
        return advance(4);
      default:
        return fail("unsupported wire type " + std::to_string(wire));
    }
  }

  // Reads a value that must be of `expected` wire type.
  bool expect(std::uint32_t wire, std::uint32_t expected) {
    if (wire != expected) return fail("wrong wire type " + std::to_string(wire));
    return true;
  }

  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

 private:
  bool advance(std::size_t n) {
    if (n > buf_.size() - pos_) return fail("unexpected end of message");
    pos_ += n;
    return true;
  }
  bool fail(std::string why) {
    if (!failed_) error_ = std::move(why);
    failed_ = true;
    return false;
  }

  std::string_view buf_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

// Reads a length-delimited field into `out`; on failure records the reader's error.
#define SP_READ_BYTES(reader, wire, out) \
  if (!(reader).expect((wire), 2) || !(reader).bytes(out)) return Err(Malformed((reader).error()))
#define SP_READ_VARINT(reader, wire, out) \
  if (!(reader).expect((wire), 0) || !(reader).varint(out)) return Err(Malformed((reader).error()))

// A map<string, string|bytes> entry: {1: key, 2: value}.
Result<std::pair<std::string, std::string>> MapEntry(std::string_view msg) {
  Reader r(msg);
  std::pair<std::string, std::string> out;
  std::uint32_t field, wire;
  while (r.next(field, wire)) {
    std::string_view s;
    if (field == 1 || field == 2) {
      SP_READ_BYTES(r, wire, s);
      (field == 1 ? out.first : out.second) = std::string(s);
    } else if (!r.skip(wire)) {
      break;
    }
  }
  if (r.failed()) return Err(Malformed(r.error()));
  return out;
}

// metav1.Time {1: seconds, 2: nanos} as metav1.Time marshals it (RFC 3339, seconds).
Result<json::value> Time(std::string_view msg) {
  Reader r(msg);
  std::int64_t seconds = 0;
  std::uint32_t field, wire;
  while (r.next(field, wire)) {
    std::uint64_t v = 0;
    if (field == 1) {
      SP_READ_VARINT(r, wire, v);
      seconds = static_cast<std::int64_t>(v);
    } else if (!r.skip(wire)) {
      break;
    }
  }
  if (r.failed()) return Err(Malformed(r.error()));
  return json::value(FormatRfc3339(WallTime(std::chrono::seconds(seconds))));
}

// metav1.OwnerReference {1 kind, 3 name, 4 uid, 5 apiVersion, 6 controller, 7 blockOwnerDeletion}.
Result<json::object> OwnerReference(std::string_view msg) {
  Reader r(msg);
  json::object out;
  std::uint32_t field, wire;
  while (r.next(field, wire)) {
    std::string_view s;
    std::uint64_t v = 0;
    switch (field) {
      case 1:
        SP_READ_BYTES(r, wire, s);
        out["kind"] = s;
        break;
      case 3:
        SP_READ_BYTES(r, wire, s);
        out["name"] = s;
        break;
      case 4:
        SP_READ_BYTES(r, wire, s);
        out["uid"] = s;
        break;
      case 5:
        SP_READ_BYTES(r, wire, s);
        out["apiVersion"] = s;
        break;
      case 6:
        SP_READ_VARINT(r, wire, v);
        out["controller"] = v != 0;
        break;
      case 7:
        SP_READ_VARINT(r, wire, v);
        out["blockOwnerDeletion"] = v != 0;
        break;
      default:
        if (!r.skip(wire)) return Err(Malformed(r.error()));
    }
  }
  if (r.failed()) return Err(Malformed(r.error()));
  return out;
}

// metav1.ObjectMeta.
Result<json::object> ObjectMeta(std::string_view msg) {
  Reader r(msg);
  json::object out;
  json::object labels, annotations;
  json::array finalizers, owners;
  std::uint32_t field, wire;
  auto set_string = [&](const char* key, std::string_view s) {
    if (!s.empty()) out[key] = s;
  };
  while (r.next(field, wire)) {
    std::string_view s;
    std::uint64_t v = 0;
    switch (field) {
      case 1:
        SP_READ_BYTES(r, wire, s);
        set_string("name", s);
        break;
      case 2:
        SP_READ_BYTES(r, wire, s);
        set_string("generateName", s);
        break;
      case 3:
        SP_READ_BYTES(r, wire, s);
        set_string("namespace", s);
        break;
      case 5:
        SP_READ_BYTES(r, wire, s);
        set_string("uid", s);
        break;
      case 6:
        SP_READ_BYTES(r, wire, s);
        set_string("resourceVersion", s);
        break;
      case 7:
        SP_READ_VARINT(r, wire, v);
        if (v != 0) out["generation"] = static_cast<std::int64_t>(v);
        break;
      case 8:
      case 9: {
        SP_READ_BYTES(r, wire, s);
        auto t = Time(s);
        if (!t) return Err(t.error());
        // An unset creationTimestamp (zero seconds) is omitted; deletionTimestamp is a pointer.
        if (field == 9 || !s.empty()) out[field == 8 ? "creationTimestamp" : "deletionTimestamp"] = *t;
        break;
      }
      case 10:
        SP_READ_VARINT(r, wire, v);
        out["deletionGracePeriodSeconds"] = static_cast<std::int64_t>(v);
        break;
      case 11:
      case 12: {
        SP_READ_BYTES(r, wire, s);
        auto e = MapEntry(s);
        if (!e) return Err(e.error());
        (field == 11 ? labels : annotations)[e->first] = e->second;
        break;
      }
      case 13: {
        SP_READ_BYTES(r, wire, s);
        auto o = OwnerReference(s);
        if (!o) return Err(o.error());
        owners.push_back(std::move(*o));
        break;
      }
      case 14:
        SP_READ_BYTES(r, wire, s);
        finalizers.emplace_back(s);
        break;
      default:  // selfLink (4), managedFields (17) and anything newer
        if (!r.skip(wire)) return Err(Malformed(r.error()));
    }
  }
  if (r.failed()) return Err(Malformed(r.error()));
  if (!labels.empty()) out["labels"] = std::move(labels);
  if (!annotations.empty()) out["annotations"] = std::move(annotations);
  if (!owners.empty()) out["ownerReferences"] = std::move(owners);
  if (!finalizers.empty()) out["finalizers"] = std::move(finalizers);
  return out;
}

// Field numbers of the object messages, from k8s.io/api/core/v1/generated.proto.
struct KindLayout {
  std::string_view kind;
  int string_map;  // map<string, string>: ConfigMap.data, Secret.stringData
  const char* string_map_name;
  int bytes_map;  // map<string, bytes>: ConfigMap.binaryData, Secret.data
  const char* bytes_map_name;
  int immutable;  // optional bool
  int type;       // Secret.type (string); 0 for none
};

constexpr KindLayout kConfigMap{"ConfigMap", 2, "data", 3, "binaryData", 4, 0};
constexpr KindLayout kSecret{"Secret", 4, "stringData", 2, "data", 5, 3};

Result<json::object> Object(const KindLayout& layout, std::string_view api_version, std::string_view msg) {
  Reader r(msg);
  json::object out;
  out["kind"] = layout.kind;
  out["apiVersion"] = api_version;
  json::object strings, bytes;
  std::uint32_t field, wire;
  while (r.next(field, wire)) {
    std::string_view s;
    std::uint64_t v = 0;
    if (field == 1) {
      SP_READ_BYTES(r, wire, s);
      auto meta = ObjectMeta(s);
      if (!meta) return Err(meta.error());
      out["metadata"] = std::move(*meta);
    } else if (static_cast<int>(field) == layout.string_map || static_cast<int>(field) == layout.bytes_map) {
      SP_READ_BYTES(r, wire, s);
      auto e = MapEntry(s);
      if (!e) return Err(e.error());
      if (static_cast<int>(field) == layout.string_map)
        strings[e->first] = e->second;
      else
        bytes[e->first] = Base64Encode(e->second);
    } else if (static_cast<int>(field) == layout.immutable) {
      SP_READ_VARINT(r, wire, v);
      out["immutable"] = v != 0;
    } else if (layout.type != 0 && static_cast<int>(field) == layout.type) {
      SP_READ_BYTES(r, wire, s);
      if (!s.empty()) out["type"] = s;
    } else if (!r.skip(wire)) {
      return Err(Malformed(r.error()));
    }
  }
  if (r.failed()) return Err(Malformed(r.error()));
  if (!strings.empty()) out[layout.string_map_name] = std::move(strings);
  if (!bytes.empty()) out[layout.bytes_map_name] = std::move(bytes);
  return out;
}

#undef SP_READ_BYTES
#undef SP_READ_VARINT

}  // namespace

Result<json::object> DecodeProtobufObject(std::string_view body) {
  if (!body.starts_with(kMagic))
    return Err(
        Status::BadRequest("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"));
  Reader r(body.substr(kMagic.size()));
  std::string api_version, kind;
  std::string_view raw;
  std::uint32_t field, wire;
  while (r.next(field, wire)) {
    std::string_view s;
    if (field == 1) {  // TypeMeta {1 apiVersion, 2 kind}
      if (!r.expect(wire, 2) || !r.bytes(s)) break;
      Reader t(s);
      std::uint32_t tf, tw;
      while (t.next(tf, tw)) {
        if (tf == 1 || tf == 2) {
          std::string_view ts;
          if (!t.expect(tw, 2) || !t.bytes(ts)) break;
          (tf == 1 ? api_version : kind) = std::string(ts);
        } else if (!t.skip(tw)) {
          break;
        }
      }
      if (t.failed()) return Err(Malformed(t.error()));
    } else if (field == 2) {
      if (!r.expect(wire, 2) || !r.bytes(raw)) break;
    } else if (!r.skip(wire)) {
      break;
    }
  }
  if (r.failed()) return Err(Malformed(r.error()));
  if (api_version != "v1" || (kind != kConfigMap.kind && kind != kSecret.kind))
    return Err(Status::UnsupportedMediaType("protobuf bodies are only accepted for v1 ConfigMap and Secret, not " +
                                            (api_version.empty() ? std::string() : api_version + " ") + kind));
  return Object(kind == kConfigMap.kind ? kConfigMap : kSecret, api_version, raw);
}

}  // namespace setpoint::api
