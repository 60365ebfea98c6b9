// JSON helpers shared by every layer: bounded parsing and small accessors over Boost.JSON.
//
// Parsing is the first line of defence against hostile input: ParseJson enforces a nesting
// limit and turns every syntax error into a BadRequest Status instead of an exception.
// Stateless free functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "setpoint/common/status.h"

namespace setpoint {

inline constexpr int kMaxJsonDepth = 100;

// Parses one JSON document; trailing garbage, depth > max_depth, invalid UTF-8, syntax errors and
// numbers a 64-bit float cannot hold (1e400, which Boost.JSON reads as infinity and would write
// back as the non-JSON token `Infinity`) are BadRequest.
Result<boost::json::value> ParseJson(std::string_view text, int max_depth = kMaxJsonDepth);

// The dotted path ("spec.items[2].x", "" for the root) of the first infinite or NaN number in `v`,
// or nullopt. Such a value has no JSON form: nothing holding one may be stored or served.
std::optional<std::string> FindNonFiniteNumber(const boost::json::value& v);

std::string ToJson(const boost::json::value& v);

// The dotted path of the first duplicated object key in an already valid JSON text ("spec.size"),
// or nullopt. Boost.JSON keeps the last duplicate silently; strict field validation needs to know.
std::optional<std::string> FindDuplicateKey(std::string_view json_text);

// The byte range {offset, size} of the value of top-level member `key` in an already valid JSON
// object text, or nullopt (not an object, or no such member). Keys are compared as written, so a
// key spelled with escapes does not match. One pass, no allocation: for serving a slice of cached
// bytes (PartialObjectMetadata) without parsing them.
std::optional<std::pair<std::size_t, std::size_t>> FindTopLevelMember(std::string_view json_text, std::string_view key);

// Accessors that never throw: nullptr / nullopt / fallback when absent or of another type.
const boost::json::object* GetObject(const boost::json::object& o, std::string_view key);
boost::json::object* GetObject(boost::json::object& o, std::string_view key);
const boost::json::array* GetArray(const boost::json::object& o, std::string_view key);
std::optional<std::string_view> GetString(const boost::json::object& o, std::string_view key);
std::string_view GetStringOr(const boost::json::object& o, std::string_view key, std::string_view fallback);
std::optional<std::int64_t> GetInt(const boost::json::object& o, std::string_view key);

// Returns `o[key]` as an object, creating (or replacing a non-object) as needed.
boost::json::object& EnsureObject(boost::json::object& o, std::string_view key);

}  // namespace setpoint
