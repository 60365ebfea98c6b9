// The JSON codec of typed API objects: structs described with Boost.Describe convert to and from
// the JSON the API serves, with no conversion code per type.
//
//   struct MemcachedSpec {
//     std::int32_t size = 1;
//     std::optional<std::string> image;
//   };
//   BOOST_DESCRIBE_STRUCT(MemcachedSpec, (), (size, image))
//
// Field names: a member is named as its JSON field ("memoryMB", "readyReplicas"), with one
// trailing '_' dropped so that C++ keywords can be fields ("namespace_", "template_"). The names
// are the API's contract, read beside its YAML and upstream's documentation, so they are spelled
// as the wire spells them rather than in this project's snake_case.
//
// Encoding (Go's omitempty, for every field): an empty string, list, map or object and an unset
// std::optional are left out; numbers and bools are always written, except an OmitZero at 0. A std::optional holding an
// empty value is written ("" stays ""). Members of these types convert:
//   bool, integers, double, std::string, std::optional<T>, std::vector<T>,
//   std::map<std::string, T>, boost::json::value / object (verbatim), described structs, and any
//   type with `boost::json::value to_json() const` and `static Result<T> from_json(const value&)`.
//
// Decoding is by the schema the server enforces: an absent or null field keeps its default, a
// field of the wrong type is an error naming its path ("spec.size: expected an integer"), fields
// the type does not model are skipped. EncodeOnto() writes a value over the JSON it was decoded
// from, so those fields survive a read-modify-write (meta.h's Object keeps that JSON).
//
// Stateless templates; thread-compatible.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/describe/class.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include "setpoint/common/status.h"

namespace setpoint::types {

// A number left out of the JSON when it is zero: Go's `json:",omitempty"` on a number, for the
// fields upstream writes that way (metav1.Condition's observedGeneration: kubectl wait takes a 0
// there for a condition behind the object's generation). Reads and assigns as the number.
template <class T>
requires std::is_arithmetic_v<T>
struct OmitZero {
  using value_type = T;
  T value{};
  OmitZero() = default;
  OmitZero(T v) : value(v) {}           // NOLINT(google-explicit-constructor): it stands for the number
  operator T() const { return value; }  // NOLINT(google-explicit-constructor)
};

namespace codec_detail {

template <class T>
struct IsOmitZero : std::false_type {};
template <class T>
struct IsOmitZero<OmitZero<T>> : std::true_type {};
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {};
template <class T>
struct IsStringMap : std::false_type {};
template <class T, class C, class A>
struct IsStringMap<std::map<std::string, T, C, A>> : std::true_type {};

template <class T>
using Members = boost::describe::describe_members<T, boost::describe::mod_public | boost::describe::mod_inherited>;

constexpr std::string_view WireName(std::string_view name) {
  return name.ends_with('_') ? name.substr(0, name.size() - 1) : name;
}

// Where a decode failed, innermost segment first, and why.
struct DecodeError {
  std::vector<std::string> path;
  std::string what;
};

std::string JoinPath(const DecodeError& e);
std::string_view JsonKind(const boost::json::value& v);

template <class T>
concept SelfCoded = requires(const T& t, const boost::json::value& v) {
  { t.to_json() } -> std::convertible_to<boost::json::value>;
  { T::from_json(v) } -> std::same_as<Result<T>>;
};

}  // namespace codec_detail

template <class T>
concept Described = boost::describe::has_describe_members<T>::value;

// Writes `v` into `slot`, which holds what the object had there (null when nothing): objects are
// merged member by member, so what `v`'s type does not model stays. Returns false when `v` is to
// be left out of its parent (empty and `omit_empty`); `slot` is then unspecified.
namespace codec_detail {
// What a member decoded from stays as it was: an empty string, list or map the JSON held (for a
// member that is not optional, empty and absent read alike, and the server may default an absent
// field to something else: an empty address is not the default one), and a null where a number
// or bool still has the value null decoded to. So a read-modify-write writes back what it read.
template <class M>
bool KeptAsRead(const M& m, const boost::json::value& old) {
  if constexpr (std::is_arithmetic_v<M>) {
    return old.is_null() && m == M{};
  } else if constexpr (std::is_same_v<M, std::string>) {
    return m.empty() && old.is_string() && old.get_string().empty();
  } else if constexpr (IsVector<M>::value) {
    return m.empty() && old.is_array() && old.get_array().empty();
  } else if constexpr (IsStringMap<M>::value) {
    return m.empty() && old.is_object() && old.get_object().empty();
  } else {
    return false;
  }
}
}  // namespace codec_detail

template <class T>
bool EncodeOnto(const T& v, boost::json::value& slot, bool omit_empty = true) {
  namespace json = boost::json;
  using namespace codec_detail;
  if constexpr (std::is_same_v<T, bool>) {
    slot = v;
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_signed_v<T>)
      slot = static_cast<std::int64_t>(v);
    else
      slot = static_cast<std::uint64_t>(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    slot = static_cast<double>(v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (omit_empty && v.empty()) return false;
    if (!slot.is_string() || slot.get_string() != v) slot.emplace_string().assign(v.data(), v.size());
  } else if constexpr (std::is_same_v<T, json::value>) {
    if (omit_empty && v.is_null()) return false;
    if (slot != v) slot = v;
  } else if constexpr (std::is_same_v<T, json::object>) {
    if (omit_empty && v.empty()) return false;
    if (!slot.is_object() || slot.get_object() != v) slot = v;
  } else if constexpr (SelfCoded<T>) {
    slot = v.to_json();
    if (omit_empty && (slot.is_null() || (slot.is_string() && slot.as_string().empty()))) return false;
  } else if constexpr (IsOptional<T>::value) {
    if (!v) return false;
    return EncodeOnto(*v, slot, false);
  } else if constexpr (IsOmitZero<T>::value) {
    if (omit_empty && v.value == 0) return false;  // a member; in a list or map a 0 is written
    return EncodeOnto(v.value, slot, false);
  } else if constexpr (IsVector<T>::value) {
    if (omit_empty && v.empty()) return false;
    // Element i merges with what was at i only while the list kept its length.
    if (!slot.is_array() || slot.get_array().size() != v.size()) {
      json::array& fresh = slot.emplace_array();
      fresh.resize(v.size());
    }
    json::array& out = slot.get_array();
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!EncodeOnto(v[i], out[i], false)) out[i] = nullptr;
  } else if constexpr (IsStringMap<T>::value) {
    if (omit_empty && v.empty()) return false;
    json::object& out = slot.is_object() ? slot.get_object() : slot.emplace_object();
    for (auto it = out.begin(); it != out.end();) it = v.count(std::string(it->key())) ? it + 1 : out.erase(it);
    for (const auto& [key, item] : v) {
      json::value& field = out[key];
      if (!EncodeOnto(item, field, false)) field = nullptr;
    }
  } else if constexpr (Described<T>) {
    json::object& out = slot.is_object() ? slot.get_object() : slot.emplace_object();
    boost::mp11::mp_for_each<Members<T>>([&](auto d) {
      const std::string_view name = WireName(d.name);
      if (json::value* old = out.if_contains(name)) {
        if (KeptAsRead(v.*d.pointer, *old)) return;
        if (!EncodeOnto(v.*d.pointer, *old, true)) out.erase(name);
      } else {
        json::value field = nullptr;
        if (EncodeOnto(v.*d.pointer, field, true)) out.emplace(name, std::move(field));
      }
    });
    if (omit_empty && out.empty()) return false;
  } else {
    static_assert(sizeof(T) == 0, "no JSON encoding for this member type; describe it or give it to_json/from_json");
  }
  return true;
}

// The JSON of `v` alone (no earlier JSON to merge with); an empty value is `{}`, "", [] as typed.
template <class T>
boost::json::value ToJson(const T& v) {
  boost::json::value out = nullptr;
  EncodeOnto(v, out, false);
  return out;
}

template <class T>
bool DecodeInto(const boost::json::value& in, T& out, codec_detail::DecodeError& error);

// The members of a described `out` from the fields of `in`.
template <Described T>
bool DecodeMembers(const boost::json::object& in, T& out, codec_detail::DecodeError& error) {
  bool ok = true;
  boost::mp11::mp_for_each<codec_detail::Members<T>>([&](auto d) {
    if (!ok) return;
    const std::string_view name = codec_detail::WireName(d.name);
    if (const boost::json::value* field = in.if_contains(name); field && !DecodeInto(*field, out.*d.pointer, error)) {
      error.path.push_back("." + std::string(name));
      ok = false;
    }
  });
  return ok;
}

// Reads `in` into `out`; false with `error` filled (path innermost first) when a field has the
// wrong type. Absent and null fields leave `out`'s members as they were.
template <class T>
bool DecodeInto(const boost::json::value& in, T& out, codec_detail::DecodeError& error) {
  namespace json = boost::json;
  using namespace codec_detail;
  if (in.is_null() && !std::is_same_v<T, json::value>) return true;
  auto fail = [&](std::string_view expected) {
    error.what = "expected " + std::string(expected) + ", got " + std::string(JsonKind(in));
    return false;
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!in.is_bool()) return fail("a boolean");
    out = in.as_bool();
  } else if constexpr (std::is_integral_v<T>) {
    std::int64_t i = 0;
    if (in.is_int64()) {
      i = in.as_int64();
    } else if (in.is_uint64() &&
               in.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      i = static_cast<std::int64_t>(in.as_uint64());
    } else if (in.is_uint64() && std::is_unsigned_v<T> && sizeof(T) == 8) {
      out = static_cast<T>(in.as_uint64());
      return true;
    } else if (in.is_double() && in.as_double() == static_cast<double>(static_cast<std::int64_t>(in.as_double()))) {
      i = static_cast<std::int64_t>(in.as_double());
    } else {
      return fail("an integer");
    }
    if constexpr (std::is_signed_v<T>) {
      if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) return fail("a smaller integer");
    } else {
      if (i < 0 || static_cast<std::uint64_t>(i) > std::numeric_limits<T>::max()) return fail("a smaller integer");
    }
    out = static_cast<T>(i);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!in.is_number()) return fail("a number");
    out = static_cast<T>(in.to_number<double>());
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!in.is_string()) return fail("a string");
    out.assign(in.as_string().data(), in.as_string().size());
  } else if constexpr (std::is_same_v<T, json::value>) {
    out = in;
  } else if constexpr (std::is_same_v<T, json::object>) {
    if (!in.is_object()) return fail("an object");
    out = in.as_object();
  } else if constexpr (SelfCoded<T>) {
    auto r = T::from_json(in);
    if (!r) {
      error.what = r.error().message();
      return false;
    }
    out = std::move(*r);
  } else if constexpr (IsOmitZero<T>::value) {
    return DecodeInto(in, out.value, error);
  } else if constexpr (IsOptional<T>::value) {
    out.emplace();
    return DecodeInto(in, *out, error);
  } else if constexpr (IsVector<T>::value) {
    if (!in.is_array()) return fail("a list");
    const json::array& a = in.as_array();
    out.clear();
    out.resize(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!DecodeInto(a[i], out[i], error)) {
        error.path.push_back("[" + std::to_string(i) + "]");
        return false;
      }
    }
  } else if constexpr (IsStringMap<T>::value) {
    if (!in.is_object()) return fail("an object");
    out.clear();
    for (const auto& [key, item] : in.as_object()) {
      if (!DecodeInto(item, out[std::string(key)], error)) {
        error.path.push_back("[" + std::string(key) + "]");
        return false;
      }
    }
  } else if constexpr (Described<T>) {
    if (!in.is_object()) return fail("an object");
    return DecodeMembers(in.as_object(), out, error);
  } else {
    static_assert(sizeof(T) == 0, "no JSON decoding for this member type; describe it or give it to_json/from_json");
  }
  return true;
}

// `in` as a T; Invalid naming the field at fault ("spec.size: expected an integer, got string").
template <class T>
Result<T> FromJson(const boost::json::value& in) {
  T out{};
  codec_detail::DecodeError error;
  if (!DecodeInto(in, out, error)) return Err(Status::Invalid(codec_detail::JoinPath(error)));
  return out;
}

}  // namespace setpoint::types
