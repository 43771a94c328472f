#include "models/mf/mf_model.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "models/common/model_file.h"

namespace ecps::models::mf {
namespace {

// Reads or writes a model in format 1.
struct V1 {
  MfModel* m;
  template <class A>
  void serialize(A& ar) {
    m->SerializeV1(ar);
  }
};

}  // namespace

Status CheckMfModel(const MfModel& m, const std::string& path) {
  auto bad = [&](const std::string& what) {
    return DataError(fmt::format("{}: inconsistent model: {}", path, what));
  };
  const std::size_t users = m.user_ids.size(), items = m.item_ids.size(), f = m.factors;
  if (f == 0 || f > 4096) return bad(fmt::format("{} factors", f));
  if (users >= cf::NeighborLists::kNone || items >= cf::NeighborLists::kNone) {
    return bad("too many users or items");
  }
  if (m.user_factors.size() != users * f) return bad("user factors");
  if (m.item_factors.size() != items * f) return bad("item factors");
  if (m.train_ptr.size() != users + 1 || m.train_ptr.front() != 0 ||
      m.train_ptr.back() != m.train_item.size()) {
    return bad("the training pointer");
  }
  for (std::size_t u = 0; u < users; ++u) {
    if (m.train_ptr[u + 1] < m.train_ptr[u]) return bad("the training pointer decreases");
  }
  for (auto j : m.train_item) {
    if (j >= items) return bad(fmt::format("training item index {} is not below {}", j, items));
  }
  if (m.item_count.size() != items) return bad("item counts");
  if (m.task != MfTask::kRanking && m.task != MfTask::kRating) return bad("unknown task");
  const bool rating = m.rating();
  if (m.user_bias.size() != (rating ? users : 0) || m.item_bias.size() != (rating ? items : 0)) {
    return bad("biases");
  }
  if (rating && !(std::isfinite(m.global_mean) && std::isfinite(m.rating_min) &&
                  std::isfinite(m.rating_max) && m.rating_min <= m.rating_max)) {
    return bad("the rating range");
  }
  for (const auto* v : {&m.user_factors, &m.item_factors, &m.user_bias, &m.item_bias}) {
    for (double x : *v) {
      if (!std::isfinite(x)) return bad("a factor is not finite");
    }
  }
  return Status::Ok();
}

double PredictRating(const MfModel& m, std::int64_t u, std::int64_t j) {
  double r = m.global_mean;
  if (u >= 0) r += m.user_bias[static_cast<std::size_t>(u)];
  if (j >= 0) r += m.item_bias[static_cast<std::size_t>(j)];
  if (u >= 0 && j >= 0) {
    const std::size_t f = m.factors;
    const double* x = m.user_factors.data() + static_cast<std::size_t>(u) * f;
    const double* y = m.item_factors.data() + static_cast<std::size_t>(j) * f;
    for (std::size_t k = 0; k < f; ++k) r += x[k] * y[k];
  }
  return std::clamp(r, m.rating_min, m.rating_max);
}

Status SaveMfModel(const std::string& path, const MfModel& m, const privacy::EncryptionKey* key) {
  return SaveModel(path, MfModel::kKind, MfModel::kVersion, m, key);
}

Result<MfModel> LoadMfModel(const std::string& dir_or_file, const privacy::EncryptionKey* key) {
  ECPS_ASSIGN_OR_RETURN(const std::string path, ModelFileIn(dir_or_file, "model.ecps"));
  MfModel m;
  if (Status s = LoadModel(path, MfModel::kKind, MfModel::kVersion, &m, key); !s.ok()) {
    // Format 1: a ranking model without the rating fields.
    m = MfModel();
    V1 v1{&m};
    if (!LoadModel(path, MfModel::kKind, 1, &v1, key).ok()) return s;
  }
  ECPS_RETURN_IF_ERROR(CheckMfModel(m, path));
  return m;
}

Result<bool> IsMfModel(const std::string& dir_or_file, const privacy::EncryptionKey* key) {
  ECPS_ASSIGN_OR_RETURN(const std::string path, ModelFileIn(dir_or_file, "model.ecps"));
  Result<std::string> kind = ModelFileKind(path, key);
  if (!kind.ok()) return kind.status();
  return kind.value().compare(MfModel::kKind) == 0;
}

void ScoreAllItems(std::span<const double> y, std::span<const double> x,
                   std::span<const double> item_bias, double offset, cf::ItemScores* scores) {
  const std::size_t f = x.size();
  const std::size_t items = f == 0 ? 0 : y.size() / f;
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const RowMajor> ym(y.data(), static_cast<Eigen::Index>(items),
                                      static_cast<Eigen::Index>(f));
  const Eigen::Map<const Eigen::VectorXd> xv(x.data(), static_cast<Eigen::Index>(f));
  thread_local Eigen::VectorXd s;
  s.noalias() = ym * xv;
  scores->Clear();
  for (std::size_t j = 0; j < items; ++j) {
    const double bias = item_bias.empty() ? 0.0 : item_bias[j];
    scores->Add(static_cast<std::uint32_t>(j), 1.0, s(static_cast<Eigen::Index>(j)) + bias + offset);
  }
  scores->Finish(cf::Scoring::kSum);
}

MfRecommender::MfRecommender(const MfModel& model)
    : model_(model),
      users_(model.user_ids),
      pop_(cf::Popularity::From(model.item_count)),
      scores_(static_cast<std::uint32_t>(model.item_ids.size())) {}

bool MfRecommender::Recommend(std::string_view user, std::size_t n, bool fill,
                              std::vector<cf::Scored>* out) {
  const std::int64_t u = users_.Find(user);
  if (u < 0) {
    cf::PopularTop(n, {}, pop_, out);
    return true;
  }
  const auto uu = static_cast<std::uint32_t>(u);
  const double offset = model_.rating() ? model_.global_mean + model_.user_bias[uu] : 0.0;
  ScoreAllItems(model_.item_factors, model_.User(uu), model_.item_bias, offset, &scores_);
  scores_.Top(n, model_.Items(uu), pop_, fill, out);
  return false;
}

std::vector<cf::Scored> SimilarItems(const MfModel& model, std::uint32_t item, std::size_t n) {
  const std::size_t f = model.factors, items = model.item_ids.size();
  auto norm = [&](std::size_t j) {
    double s = 0;
    for (std::size_t k = 0; k < f; ++k) s += model.item_factors[j * f + k] * model.item_factors[j * f + k];
    return std::sqrt(s);
  };
  const double* a = model.item_factors.data() + std::size_t{item} * f;
  const double na = norm(item);
  std::vector<cf::Scored> all;
  all.reserve(items);
  for (std::size_t j = 0; j < items; ++j) {
    if (j == item) continue;
    const double* b = model.item_factors.data() + j * f;
    double dot = 0;
    for (std::size_t k = 0; k < f; ++k) dot += a[k] * b[k];
    const double d = na * norm(j);
    all.push_back({static_cast<std::uint32_t>(j), d > 0 ? dot / d : 0.0});
  }
  auto better = [](const cf::Scored& x, const cf::Scored& y) {
    return x.score != y.score ? x.score > y.score : x.item < y.item;
  };
  const std::size_t keep = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), better);
  all.resize(keep);
  return all;
}

}  // namespace ecps::models::mf
