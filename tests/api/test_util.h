// Helpers shared by the api tests.
#pragma once

#include <boost/json.hpp>
#include <string_view>

namespace setpoint::api::testing {

// Parses JSON test fixtures; fixtures are trusted, so a parse error is a test bug.
inline boost::json::value J(std::string_view text) { return boost::json::parse(text); }

}  // namespace setpoint::api::testing
