#include "kubesync/transform/pipeline.h"

#include <utility>

namespace kubesync::transform {

Result<Prepared> PrepareForDestination(const nlohmann::json& source_obj, const plan::Gvr& gvr,
                                       const plan::Patch& transformation, const MarkInfo& info,
                                       const CleanOptions& options) {
  Prepared out;
  out.object = Clean(source_obj, gvr, options);
  KS_RETURN_IF_ERROR(ApplyTransformationInPlace(out.object, transformation.operations,
                                                transformation.skip_if_not_found_on_delete, out.originals));
  Mark(out.object, info, out.originals);
  out.content_hash = RecordedContentHash(out.object);
  return out;
}

}  // namespace kubesync::transform
