#include "typed.h"

#include <gtest/gtest.h>

#include "destinations.h"
#include "livesync.h"

namespace kubesync::controller {
namespace {

using nlohmann::json;

TEST(TypedReadTest, AFieldOfTheWrongTypeIsAnErrorNamingIt) {
  const json taskrun = {{"spec", {{"taskName", 1}, {"suspendLiveSynchronization", "yes"}}}};
  auto name = ReadString(taskrun, "spec.taskName");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(name.status().message(), "spec.taskName: must be a string, got number");
  auto suspend = ReadBool(taskrun, "spec.suspendLiveSynchronization");
  ASSERT_FALSE(suspend.ok());
  EXPECT_EQ(suspend.status().message(), "spec.suspendLiveSynchronization: must be a boolean, got string");
  auto generation = ReadInt(json{{"metadata", {{"generation", "2"}}}}, "metadata.generation");
  ASSERT_FALSE(generation.ok());
  EXPECT_EQ(generation.status().message(), "metadata.generation: must be an integer, got string");
}

TEST(TypedReadTest, MissingFieldsAndPartsAreNotErrors) {
  EXPECT_EQ(*ReadString(json::object(), "spec.taskName"), std::nullopt);
  EXPECT_EQ(*ReadString(json{{"spec", "not an object"}}, "spec.taskName"), std::nullopt);
  EXPECT_EQ(*ReadString(json{{"spec", {{"taskName", nullptr}}}}, "spec.taskName"), std::nullopt);
  EXPECT_EQ(**ReadString(json{{"spec", {{"taskName", "t"}}}}, "spec.taskName"), "t");
  EXPECT_EQ(StringOr(json{{"metadata", {{"uid", 5}}}}, "metadata.uid", "none"), "none");
  EXPECT_EQ(IntOr(json{{"metadata", {{"generation", 3}}}}, "metadata.generation"), 3);
}

TEST(UnusedFieldsTest, NamesEachFieldTheProcessRuntimeDoesNotActOn) {
  plan::Plan plan;
  plan.observability.enabled = true;
  plan.bucket = "originals";
  plan.components["processor"].image_pull_policy = "Always";
  plan.components["processor"].resources = json{{"limits", {{"cpu", "500m"}}}};
  plan.components["synchronizer"].replicas = 2;
  plan.components["metricsExporter"].replicas = 1;
  std::vector<std::string> paths;
  for (const auto& f : UnusedFields(plan, {"eventsListener", "processor", "synchronizer"}))
    paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"spec.config.observability", "spec.config.bucketName",
                                             "spec.config.components.metricsExporter",
                                             "spec.config.components.processor.imagePullPolicy",
                                             "spec.config.components.processor.resources"}));
  EXPECT_TRUE(UnusedFields(plan::Plan{}, {"processor"}).empty());
}

TEST(DestinationsTest, OneKeyPerClusterWhateverTheSpellingOfItsAddress) {
  EXPECT_EQ(Destinations::KeyFor("https://API.example.com"),
            Destinations::KeyFor("https://api.example.com:443/"));
  EXPECT_EQ(Destinations::KeyFor("https://127.0.0.1:6443"), Destinations::KeyFor("https://127.0.0.1:6443/"));
  EXPECT_NE(Destinations::KeyFor("https://127.0.0.1:6443"), Destinations::KeyFor("https://127.0.0.1:6444"));
  EXPECT_NE(Destinations::KeyFor("https://a.example.com/prefix"),
            Destinations::KeyFor("https://a.example.com"));
  EXPECT_EQ(Destinations::KeyFor("x").size(), 16u);
}

}  // namespace
}  // namespace kubesync::controller
