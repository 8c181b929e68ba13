// Node labels: what a node offers (--labels) and what a task requires
// ("node_labels"), checked when given and matched when a claim is made.
#include <catch2/catch.hpp>

#include "runtime/core/node_labels.hpp"
#include "runtime/core/submission.hpp"

using namespace orch;

TEST_CASE("node labels: a node satisfies a task when it has every label with the same value",
          "[node-labels]") {
  label_map node{{"gpu", "yes"}, {"zone", "eu-1"}};
  CHECK(labels_satisfied({}, node));
  CHECK(labels_satisfied({}, {}));
  CHECK(labels_satisfied({{"gpu", "yes"}}, node));
  CHECK(labels_satisfied(node, node));
  CHECK_FALSE(labels_satisfied({{"gpu", "no"}}, node));
  CHECK_FALSE(labels_satisfied({{"gpu", "yes"}, {"arch", "arm64"}}, node));
  CHECK_FALSE(labels_satisfied({{"gpu", "yes"}}, {}));
}

TEST_CASE("node labels: --labels is parsed once and refused with the bad item named",
          "[node-labels]") {
  auto ok = parse_label_list("gpu=yes,zone=eu-1,path=a/b.c_d", "--labels");
  REQUIRE(ok);
  CHECK(*ok == label_map{{"gpu", "yes"}, {"zone", "eu-1"}, {"path", "a/b.c_d"}});
  auto none = parse_label_list("", "--labels");
  REQUIRE(none);
  CHECK(none->empty());
  for (const char* bad : {"gpu", "gpu=", "=yes", "gpu=y es", "a=b,,c=d", "k=v;rm"}) {
    auto r = parse_label_list(bad, "--labels");
    INFO(bad);
    REQUIRE_FALSE(r);
    CHECK(r.code() == errc::invalid);
    CHECK(r.message().find("--labels: '") == 0);
    CHECK(r.message().find("is not key=value") != std::string::npos);
  }
  CHECK_FALSE(parse_label_list("k=" + std::string(65, 'v'), "--labels"));
  std::string many;
  for (int i = 0; i <= static_cast<int>(max_node_labels); ++i)
    many += (i ? "," : "") + std::string{"k"} + std::to_string(i) + "=v";
  auto too_many = parse_label_list(many, "--labels");
  REQUIRE_FALSE(too_many);
  CHECK(too_many.message().find("more than 32 labels") != std::string::npos);
}

TEST_CASE("node labels: a submission's node_labels are stored, or refused with the reason",
          "[node-labels]") {
  auto t = parse_submission(R"({"command": "true", "node_labels": {"gpu": "yes", "zone": "a"}})");
  REQUIRE(t);
  CHECK(t->node_labels == label_map{{"gpu", "yes"}, {"zone", "a"}});
  auto bad = parse_submission(R"({"command": "true", "node_labels": {"gpu": "yes please"}})");
  REQUIRE_FALSE(bad);
  CHECK(bad.message().find("field 'node_labels' has 'gpu': 'yes please'") != std::string::npos);
  auto wrong_type = parse_submission(R"({"command": "true", "node_labels": ["gpu"]})");
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.message().find("node_labels") != std::string::npos);
  // Which node ran it is the orchestrator's to say.
  auto node = parse_submission(R"({"command": "true", "node": "w1"})");
  REQUIRE_FALSE(node);
  CHECK(node.message().find("field 'node' is set by the orchestrator") != std::string::npos);
}
