// Item- and user-based CF model files (`ecps recommend`, `ecps similar`): the payload is
// loaded and, when it loads, used as both commands use it for the first users and entities.
// The input is the payload.
#include <algorithm>

#include "fuzz/model_payload.h"
#include "models/cf/model.h"

using namespace ecps;
namespace cf = ecps::models::cf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::ScratchFile file("model_cf");
  const auto& path = fuzz::WriteModel(&file, cf::CfModel::kKind, cf::CfModel::kVersion, fuzz::Bytes(data, size));
  auto loaded = cf::LoadCfModel(path);
  if (!loaded.ok()) return 0;
  const cf::CfModel& m = *loaded;
  // ecps recommend --user U -n 5 --fill-popular
  const auto pop = cf::Popularity::From(m.item_count);
  cf::ItemScores scores(static_cast<std::uint32_t>(m.item_ids.size()));
  std::vector<cf::Scored> top;
  const auto users = static_cast<std::uint32_t>(std::min<std::size_t>(m.user_ids.size(), 4));
  for (std::uint32_t u = 0; u < users; ++u) {
    cf::RecommendForUser(m, pop, u, 5, true, &scores, &top);
    for (const auto& s : top) fuzz::Check(s.item < m.item_ids.size(), "recommended item exists");
  }
  // ecps similar --item/--user E
  const auto& ids = m.item_based() ? m.item_ids : m.user_ids;
  for (std::uint32_t e = 0; e < std::min<std::size_t>(ids.size(), 4); ++e) {
    const bool cold = m.item_based() && m.Mix().Cold(e);
    const auto& lists = cold ? m.content : m.neighbors;
    auto nb = lists.Ids(e);
    auto sc = lists.Scores(e);
    fuzz::Check(nb.size() == sc.size(), "one score per neighbour");
    for (std::uint32_t id : nb) {
      if (id == cf::NeighborLists::kNone) break;
      fuzz::Check(id < ids.size(), "neighbour exists");
    }
  }
  return 0;
}
