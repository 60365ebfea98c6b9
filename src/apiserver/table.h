// Server-side Table rendering (meta.k8s.io/v1 Table) for `kubectl get`, with the subset of
// JSONPath that additionalPrinterColumns use, and dates rendered as human ages the way
// kube-apiserver does. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "apiserver/resources.h"
#include "setpoint/common/clock.h"

namespace setpoint::apiserver {

// Evaluates ".a.b[0].c", ".a[*].b" and ".conditions[?(@.type==\"Ready\")].status"; returns the
// matches (empty when nothing matches or the path is not understood).
std::vector<const boost::json::value*> EvalJsonPath(const boost::json::value& root, std::string_view path);

// One cell value for a printer column, as upstream renders it.
boost::json::value CellFor(const PrinterColumn& column, const boost::json::value& object, WallTime now);

// Column definitions: Name first, then the version's printer columns.
boost::json::array TableColumns(const std::vector<PrinterColumn>& columns);

// One row: {"cells":[...],"object":PartialObjectMetadata}.
boost::json::object TableRow(const std::vector<PrinterColumn>& columns, const boost::json::object& object, WallTime now,
                             bool include_object);

}  // namespace setpoint::apiserver
