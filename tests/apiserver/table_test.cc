#include "apiserver/table.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace setpoint::apiserver {
namespace {

namespace json = boost::json;

TEST(JsonPathTest, EvaluatesFieldsIndexesAndFilters) {
  json::value v = json::parse(R"({"spec":{"size":3,"items":[{"n":"a"},{"n":"b"}]},
    "status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Synced","status":"False"}]}})");
  auto size = EvalJsonPath(v, ".spec.size");
  ASSERT_EQ(size.size(), 1u);
  EXPECT_EQ(*size[0], 3);
  auto second = EvalJsonPath(v, ".spec.items[1].n");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(*second[0], "b");
  auto all = EvalJsonPath(v, ".spec.items[*].n");
  EXPECT_EQ(all.size(), 2u);
  auto ready = EvalJsonPath(v, R"(.status.conditions[?(@.type=="Ready")].status)");
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(*ready[0], "True");
  EXPECT_TRUE(EvalJsonPath(v, ".spec.missing").empty());
  EXPECT_TRUE(EvalJsonPath(v, ".spec.items[").empty());
  EXPECT_TRUE(EvalJsonPath(v, ".spec.items[x]").empty());
}

TEST(TableTest, RendersDatesAsHumanAges) {
  PrinterColumn age{"Age", "date", "", "", ".metadata.creationTimestamp", 0};
  json::value obj = json::parse(R"({"metadata":{"name":"a","creationTimestamp":"2026-01-01T00:00:00Z"}})");
  auto now = *ParseRfc3339("2026-01-01T00:03:20Z");
  EXPECT_EQ(CellFor(age, obj, now), "3m20s");
  PrinterColumn size{"Size", "integer", "", "", ".spec.size", 0};
  EXPECT_TRUE(CellFor(size, obj, now).is_null());
}

TEST(TableTest, RowCarriesNameCellsAndPartialMetadata) {
  std::vector<PrinterColumn> cols{{"Color", "string", "", "", ".spec.color", 0}};
  json::object obj = json::parse(R"({"metadata":{"name":"w","namespace":"ns"},"spec":{"color":"red"}})").as_object();
  auto row = TableRow(cols, obj, WallTime{}, true);
  EXPECT_EQ(row["cells"].as_array()[0], "w");
  EXPECT_EQ(row["cells"].as_array()[1], "red");
  EXPECT_EQ(row["object"].as_object()["kind"], "PartialObjectMetadata");
  EXPECT_EQ(TableColumns(cols).size(), 2u);
}

TEST(TableTest, CountColumnsCountDataKeys) {
  Registry reg;
  auto snap = reg.snapshot();
  const auto& cm_cols = snap->find("", "configmaps")->versions[0].columns;
  const auto& secret_cols = snap->find("", "secrets")->versions[0].columns;
  json::object cm = json::parse(R"({"metadata":{"name":"c","creationTimestamp":"2026-01-01T00:00:00Z"},
    "data":{"a":"1","b":"2"},"binaryData":{"c":"AA=="}})")
                        .as_object();
  auto now = *ParseRfc3339("2026-01-01T00:00:05Z");
  auto row = TableRow(cm_cols, cm, now, false);
  EXPECT_EQ(row["cells"], json::parse(R"(["c",3,"5s"])"));
  json::object empty =
      json::parse(R"({"metadata":{"name":"e","creationTimestamp":"2026-01-01T00:00:00Z"}})").as_object();
  EXPECT_EQ(TableRow(cm_cols, empty, now, false)["cells"], json::parse(R"(["e",0,"5s"])"));
  json::object secret = json::parse(R"({"metadata":{"name":"s","creationTimestamp":"2026-01-01T00:00:00Z"},
    "type":"kubernetes.io/tls","data":{"tls.crt":"","tls.key":""}})")
                            .as_object();
  EXPECT_EQ(TableRow(secret_cols, secret, now, false)["cells"], json::parse(R"(["s","kubernetes.io/tls",2,"5s"])"));
  auto defs = TableColumns(secret_cols);
  ASSERT_EQ(defs.size(), 4u);
  EXPECT_EQ(defs[2].as_object()["name"], "Data");
  EXPECT_EQ(defs[2].as_object()["type"], "integer");
  // Arrays count their items, and absent paths count nothing.
  PrinterColumn items{"Items", "integer", "", "", "", 0, {".spec.items", ".spec.missing"}};
  EXPECT_EQ(CellFor(items, json::parse(R"({"spec":{"items":[1,2,3,4]}})"), now), 4);
}

}  // namespace
}  // namespace setpoint::apiserver
