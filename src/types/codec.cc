#include "setpoint/types/codec.h"

namespace setpoint::types::codec_detail {

std::string JoinPath(const DecodeError& e) {
  std::string path;
  for (auto it = e.path.rbegin(); it != e.path.rend(); ++it) path += *it;
  if (path.starts_with('.')) path.erase(0, 1);
  return path.empty() ? e.what : path + ": " + e.what;
}

std::string_view JsonKind(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "integer";
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "list";
    case boost::json::kind::object:
      return "object";
  }
  return "value";
}

}  // namespace setpoint::types::codec_detail
