// Marking: the labels and annotations every object kubesync writes to a destination
// carries, and the content hash that lets an unchanged object go unwritten.
//
// Pruning and deletion touch only objects IsManagedBy the same LiveSynchronization.
// Pure and thread-safe; never throws.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "kubesync/transform/patch.h"

namespace kubesync::transform {

inline constexpr std::string_view kManagedByLabel = "kubesync.io/managed-by";
inline constexpr std::string_view kLiveSynchronizationAnnotation = "kubesync.io/live-synchronization";
inline constexpr std::string_view kSourceUidAnnotation = "kubesync.io/source-uid";
inline constexpr std::string_view kSourceResourceVersionAnnotation = "kubesync.io/source-resource-version";
inline constexpr std::string_view kContentHashAnnotation = "kubesync.io/content-hash";
inline constexpr std::string_view kOriginalValuesAnnotation = "kubesync.io/original-values";
// The source cluster's epoch a copy was written from (the synchronizer adds it after the
// content hash: the same content from a rebuilt source is the same content).
inline constexpr std::string_view kSourceEpochAnnotation = "kubesync.io/source-epoch";

// "<namespace>.<name>" (just "<name>" without a namespace): the LiveSynchronization id used
// in subjects and Redis keys.
std::string LiveSynchronizationId(std::string_view ls_namespace, std::string_view ls_name);

// `id` as a valid label value (at most 63 characters of [A-Za-z0-9._-], alphanumeric at
// both ends). Ids that fit are returned unchanged; others become a prefix + '-' + the first
// 8 hex digits of the SHA-256 of the id.
std::string LabelValueForId(std::string_view id);

struct MarkInfo {
  std::string ls_namespace;  // the LiveSynchronization's metadata.namespace
  std::string ls_name;
  std::string source_uid;
  std::string source_resource_version;
};

// Sets the managed-by label and the live-synchronization, source-uid and
// source-resource-version annotations; sets kubesync.io/original-values to `originals`
// (removes it when empty); then sets kubesync.io/content-hash to ContentHash(obj).
// A non-object `obj` is left alone.
void Mark(nlohmann::json& obj, const MarkInfo& info, const Originals& originals = {});

// True only when both the managed-by label and the live-synchronization annotation name
// the LiveSynchronization `id` ("<namespace>.<name>").
bool IsManagedBy(const nlohmann::json& obj, std::string_view id);

// SHA-256 hex of the canonical serialization (keys sorted, compact) of `obj` without the
// annotations that change on every source write (source-resource-version, content-hash).
std::string ContentHash(const nlohmann::json& obj);

// The hash recorded on an object by Mark, "" when none.
std::string RecordedContentHash(const nlohmann::json& obj);

// Reads and removes kubesync.io/original-values from `obj`, then Restores them. OK and
// nothing changed when the annotation is absent; InvalidArgument when it is malformed.
Status RestoreFromAnnotation(nlohmann::json& obj);

}  // namespace kubesync::transform
