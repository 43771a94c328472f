// k-means model files (`ecps segment`): the payload is loaded and, when it loads, segments a
// small feature CSV (the columns of the seed models). The input is the payload.
#include "fuzz/model_payload.h"
#include "models/kmeans/model.h"

using namespace ecps;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("model_kmeans"), users("model_kmeans-users"), out("model_kmeans-out");
  static const bool written = [] {
    users.Write("user_id,age,gender,spend\nu1,31,F,10.5\nu2,45,M,0\nu3,22,X,100\n");
    return true;
  }();
  (void)written;
  const auto& path = fuzz::WriteModel(&file, models::kmeans::KMeansModel::kKind,
                                      models::kmeans::KMeansModel::kFormatVersion, fuzz::Bytes(data, size));
  auto model = models::kmeans::LoadKMeansModel(path);
  if (!model.ok()) return 0;
  models::kmeans::SegmentOptions o;
  o.model_dir = path;
  o.data = users.path();
  o.out = out.path();
  o.skip_bad_rows = true;
  o.threads = 1;
  (void)models::kmeans::Segment(o);
  return 0;
}
