// Private helpers shared by the api module: JSON comparison and the Go-style formatting that
// upstream Kubernetes error messages use (strconv.Quote, %v of float64, json.Marshal).
//
// Free functions over values; no state; thread-safe.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace setpoint::api::internal {

// Deep equality where numbers compare by mathematical value (1 == 1.0) and object key order
// does not matter.
bool JsonEqual(const boost::json::value& a, const boost::json::value& b);

// A string that is equal for two values iff JsonEqual holds; used to detect duplicates in
// O(n log n) instead of comparing every pair.
std::string CanonicalKey(const boost::json::value& v);

// Go's strconv.Quote: double-quoted, with escapes for control characters, quotes, backslashes
// and invalid UTF-8.
std::string GoQuote(std::string_view s);

// Go's fmt "%v" of a float64 (shortest round-trip digits; exponent form below 1e-4 or from 1e21).
std::string GoFloat(double d);

// Go's encoding/json rendering of a value (compact, object keys sorted).
std::string GoJson(const boost::json::value& v);

// How field.Error renders a bad value: strings quoted, numbers and booleans bare, everything
// else as JSON.
std::string GoValue(const boost::json::value& v);

// The JSON type name of a value as the OpenAPI validator names it: "object", "array",
// "string", "boolean", "integer", "number" or "null".
std::string_view JsonTypeName(const boost::json::value& v);

// Number of Unicode code points in a UTF-8 string (invalid bytes count one each).
std::size_t CountCodePoints(std::string_view s);

// True if v is an integer kind, or a double with no fractional part.
bool IsIntegral(const boost::json::value& v);

// The numeric value of an int64/uint64/double as double; 0 for anything else.
double AsDouble(const boost::json::value& v);

// Joins strings with a separator.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Nodes in `v` (itself included), counting no further than just past `limit`: bounds the cost
// of copies that a hostile document could make explode (JSON patch "copy", YAML aliases).
std::size_t CountNodes(const boost::json::value& v, std::size_t limit);

}  // namespace setpoint::api::internal
