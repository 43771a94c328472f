#include "datagen/synthetic_shop.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "datagen/item_text.h"
#include "util/files.h"
#include "util/output_folder.h"

namespace ecps::datagen {
namespace {

// Latent user segments: means of the observable columns and preferred item categories.
struct Segment {
  const char* name;
  double share;
  double age_mean, age_sd;
  double female_share;
  double freq_mean;     // orders per month
  double rating_mean;   // average rating given, 1..5
  double duration_mean; // minutes per session
  double order_value;   // average order value
  std::array<int, 2> preferred;  // categories
};

constexpr std::array<Segment, 4> kSegments{{
    {"young bargain hunters", 0.30, 23, 3, 0.55, 2.0, 3.6, 6, 25, {0, 1}},
    {"loyal families", 0.25, 39, 5, 0.60, 8.0, 4.3, 14, 70, {2, 3}},
    {"premium professionals", 0.20, 47, 6, 0.40, 4.0, 4.7, 9, 180, {4, 5}},
    {"window shoppers", 0.25, 31, 8, 0.50, 0.5, 3.0, 24, 40, {6, 7}},
}};

constexpr std::array<const char*, 8> kCategories{"phones",  "gaming",  "toys",   "grocery",
                                                 "watches", "fashion", "books", "home"};
constexpr std::array<const char*, 3> kDevices{"mobile", "desktop", "app"};
constexpr std::array<const char*, 4> kPriceBands{"budget", "mid", "upper", "luxury"};

struct User {
  std::string id;
  int segment;
  int age;
  bool female;
  double freq, rating, duration, order_value;
};

struct Item {
  std::string id;
  int category;
  int brand;
  int price_band;
  double price;
};

std::string AgeBand(int age) {
  if (age < 25) return "18-24";
  if (age < 35) return "25-34";
  if (age < 45) return "35-44";
  if (age < 55) return "45-54";
  return "55+";
}

// Field:value -> index, in order of first use (index 0 is never used, as in iPinYou's files).
class FeatureIndex {
 public:
  std::uint32_t Get(const std::string& field, const std::string& value) {
    auto [it, fresh] = index_.emplace(field + ":" + value, next_);
    if (fresh) {
      order_.push_back(it->first);
      ++next_;
    }
    return it->second;
  }
  std::string Dump() const {
    std::string s;
    for (std::size_t i = 0; i < order_.size(); ++i) s += fmt::format("{}\t{}\n", order_[i], i + 1);
    return s;
  }

 private:
  std::map<std::string, std::uint32_t> index_;
  std::vector<std::string> order_;
  std::uint32_t next_ = 1;
};

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

Status ShopOptions::Validate() const {
  if (users < 10) return InvalidArgument(fmt::format("--users must be >= 10, got {}", users));
  if (items < 20) return InvalidArgument(fmt::format("--items must be >= 20, got {}", items));
  if (impressions_per_user < 1) return InvalidArgument("--impressions-per-user must be >= 1");
  if (test_fraction <= 0 || test_fraction >= 1) return InvalidArgument("--test-fraction must be in (0, 1)");
  return Status::Ok();
}

Result<ShopSummary> GenerateShop(const std::string& dir, const ShopOptions& o) {
  ECPS_RETURN_IF_ERROR(o.Validate());
  ECPS_RETURN_IF_ERROR(util::PrepareOutputDir(dir));
  ECPS_RETURN_IF_ERROR(util::PrepareOutputDir(dir + "/truth"));
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  auto normal = [&](double mean, double sd) { return std::normal_distribution<double>(mean, sd)(rng); };
  ShopSummary sum;
  std::uint64_t steps = 0;
  auto checkpoint = [&]() -> Status {
    if (++steps % 4096 != 0) return Status::Ok();
    if (o.progress) o.progress(steps, 3 * o.users);
    return o.interrupt ? o.interrupt() : Status::Ok();
  };

  // Items: categories with a Zipf-like popularity inside each category.
  std::vector<Item> items;
  std::vector<std::vector<std::size_t>> by_category(kCategories.size());
  for (std::uint64_t i = 0; i < o.items; ++i) {
    Item it;
    it.id = fmt::format("i{:05d}", i + 1);
    it.category = static_cast<int>(i % kCategories.size());
    it.brand = static_cast<int>(rng() % 6);
    it.price_band = static_cast<int>(rng() % kPriceBands.size());
    it.price = std::round(std::exp(normal(2.5 + it.price_band * 0.9, 0.3)) * 100) / 100;
    by_category[static_cast<std::size_t>(it.category)].push_back(items.size());
    items.push_back(it);
  }
  auto zipf_pick = [&](const std::vector<std::size_t>& pool) {
    // P(rank r) ~ 1/(r+1): inverse-CDF of a continuous approximation.
    const double n = static_cast<double>(pool.size());
    auto r = static_cast<std::size_t>(std::floor(std::exp(unif(rng) * std::log(n + 1.0)) - 1.0));
    return pool[std::min(r, pool.size() - 1)];
  };
  std::vector<std::size_t> all_items(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) all_items[i] = i;

  // Users from the latent segments.
  std::vector<User> users;
  for (std::uint64_t u = 0; u < o.users; ++u) {
    ECPS_RETURN_IF_ERROR(checkpoint());
    double x = unif(rng), acc = 0;
    int s = 0;
    for (; s < static_cast<int>(kSegments.size()) - 1; ++s) {
      acc += kSegments[static_cast<std::size_t>(s)].share;
      if (x < acc) break;
    }
    const Segment& g = kSegments[static_cast<std::size_t>(s)];
    User usr;
    usr.id = fmt::format("u{:06d}", u + 1);
    usr.segment = s;
    usr.age = std::clamp(static_cast<int>(std::lround(normal(g.age_mean, g.age_sd))), 18, 80);
    usr.female = unif(rng) < g.female_share;
    usr.freq = std::max(0.0, std::round(normal(g.freq_mean, g.freq_mean * 0.25 + 0.2) * 10) / 10);
    usr.rating = std::clamp(std::round(normal(g.rating_mean, 0.25) * 10) / 10, 1.0, 5.0);
    usr.duration = std::max(0.5, std::round(normal(g.duration_mean, g.duration_mean * 0.2) * 10) / 10);
    usr.order_value = std::max(1.0, std::round(normal(g.order_value, g.order_value * 0.2) * 100) / 100);
    users.push_back(usr);
  }

  std::string users_csv = "user_id,age,gender,purchase_frequency,rating,duration,avg_order_value\n";
  std::string truth_csv = "user_id,segment,segment_name\n";
  for (const auto& u : users) {
    users_csv += fmt::format("{},{},{},{},{},{},{}\n", u.id, u.age, u.female ? "F" : "M", u.freq, u.rating,
                             u.duration, u.order_value);
    truth_csv += fmt::format("{},{},{}\n", u.id, u.segment, kSegments[static_cast<std::size_t>(u.segment)].name);
  }
  std::string items_csv = "item_id,category,brand,price_band,price\n";
  for (const auto& it : items) {
    items_csv += fmt::format("{},{},{}_brand{},{},{}\n", it.id, kCategories[static_cast<std::size_t>(it.category)],
                             kCategories[static_cast<std::size_t>(it.category)], it.brand,
                             kPriceBands[static_cast<std::size_t>(it.price_band)], it.price);
  }

  // Interactions: mostly the segment's preferred categories, some globally popular items.
  const std::int64_t t0 = 1767225600;  // 2026-01-01T00:00:00Z
  std::string inter_csv = o.ratings ? "user_id,item_id,rating,timestamp\n" : "user_id,item_id,timestamp\n";
  std::mt19937_64 rating_rng(o.seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<double> quality(items.size());
  for (double& q : quality) q = std::normal_distribution<double>(0.0, 0.6)(rating_rng);
  auto rating = [&](const User& u, const Segment& g, std::size_t item) {
    const int c = items[item].category;
    const double affinity = c == g.preferred[0] || c == g.preferred[1] ? 0.3 : -0.5;
    const double r = u.rating + affinity + quality[item] + std::normal_distribution<double>(0.0, 0.8)(rating_rng);
    return std::clamp(static_cast<int>(std::lround(r)), 1, 5);
  };
  for (const auto& u : users) {
    ECPS_RETURN_IF_ERROR(checkpoint());
    const Segment& g = kSegments[static_cast<std::size_t>(u.segment)];
    const int n = std::clamp(3 + static_cast<int>(std::poisson_distribution<int>(2.0 + u.freq)(rng)), 3,
                             static_cast<int>(items.size() / 2));
    std::set<std::size_t> seen;
    std::vector<std::int64_t> times;
    for (int k = 0; k < n; ++k) times.push_back(t0 + static_cast<std::int64_t>(unif(rng) * 300 * 86400));
    std::sort(times.begin(), times.end());
    for (int k = 0; k < n; ++k) {
      std::size_t pick;
      int tries = 0;
      do {
        if (unif(rng) < 0.8) {
          pick = zipf_pick(by_category[static_cast<std::size_t>(g.preferred[rng() % 2])]);
        } else {
          pick = zipf_pick(all_items);
        }
      } while (seen.count(pick) && ++tries < 50);
      if (seen.count(pick)) continue;
      seen.insert(pick);
      if (o.ratings) {
        inter_csv += fmt::format("{},{},{},{}\n", u.id, items[pick].id, rating(u, g, pick),
                                 times[static_cast<std::size_t>(k)]);
      } else {
        inter_csv += fmt::format("{},{},{}\n", u.id, items[pick].id, times[static_cast<std::size_t>(k)]);
      }
      ++sum.interactions;
    }
  }

  // Impressions with clicks from a planted logistic model over one-hot fields and a cross of
  // age band and category (the way CTR pipelines expose user-item affinity to a linear model).
  FeatureIndex fi;
  std::map<std::string, double> weights;
  auto weight = [&](const std::string& field, const std::string& value, double w) {
    weights.emplace(field + ":" + value, w);
  };
  const double bias = -3.2;
  for (std::size_t d = 0; d < kDevices.size(); ++d) weight("device", kDevices[d], std::array{0.3, -0.4, 0.6}[d]);
  for (int p = 1; p <= 5; ++p) weight("position", std::to_string(p), 0.9 - 0.35 * p);
  for (std::size_t b = 0; b < kPriceBands.size(); ++b) weight("price_band", kPriceBands[b], 0.2 - 0.15 * static_cast<double>(b));
  for (std::size_t s = 0; s < kSegments.size(); ++s) {
    for (int c : kSegments[s].preferred) {
      for (int age = 18; age < 80; age += 5) {
        if (std::abs(age - kSegments[s].age_mean) <= kSegments[s].age_sd) {
          weight("age_x_category", AgeBand(age) + "|" + kCategories[static_cast<std::size_t>(c)], 1.4);
        }
      }
    }
  }
  struct Impression {
    std::int64_t time;
    int click;
    std::vector<std::uint32_t> idx;
  };
  std::vector<Impression> imps;
  for (const auto& u : users) {
    ECPS_RETURN_IF_ERROR(checkpoint());
    const Segment& g = kSegments[static_cast<std::size_t>(u.segment)];
    for (std::uint64_t k = 0; k < o.impressions_per_user; ++k) {
      const Item& it = items[unif(rng) < 0.5 ? zipf_pick(by_category[static_cast<std::size_t>(g.preferred[rng() % 2])])
                                             : zipf_pick(all_items)];
      const std::string device = kDevices[rng() % kDevices.size()];
      const std::string position = std::to_string(1 + rng() % 5);
      const std::string hour = std::to_string(rng() % 24);
      std::vector<std::pair<std::string, std::string>> f{
          {"age_band", AgeBand(u.age)},
          {"gender", u.female ? "F" : "M"},
          {"category", kCategories[static_cast<std::size_t>(it.category)]},
          {"price_band", kPriceBands[static_cast<std::size_t>(it.price_band)]},
          {"device", device},
          {"position", position},
          {"hour", hour},
          {"age_x_category", AgeBand(u.age) + "|" + kCategories[static_cast<std::size_t>(it.category)]},
      };
      double z = bias;
      Impression imp;
      for (const auto& [field, value] : f) {
        auto w = weights.find(field + ":" + value);
        if (w != weights.end()) z += w->second;
        imp.idx.push_back(fi.Get(field, value));
      }
      std::sort(imp.idx.begin(), imp.idx.end());
      imp.click = unif(rng) < Sigmoid(z) ? 1 : 0;
      imp.time = t0 + static_cast<std::int64_t>(unif(rng) * 300 * 86400);
      imps.push_back(std::move(imp));
    }
  }
  std::stable_sort(imps.begin(), imps.end(), [](const Impression& a, const Impression& b) { return a.time < b.time; });
  const auto n_test = static_cast<std::size_t>(std::llround(static_cast<double>(imps.size()) * o.test_fraction));
  std::string train_svm, test_svm;
  std::uint64_t clicks = 0;
  for (std::size_t i = 0; i < imps.size(); ++i) {
    std::string line = std::to_string(imps[i].click);
    for (auto x : imps[i].idx) line += fmt::format(" {}:1", x);
    line += "\n";
    (i + n_test < imps.size() ? train_svm : test_svm) += line;
    clicks += static_cast<std::uint64_t>(imps[i].click);
  }
  std::string model_csv = fmt::format("feature,weight\nbias,{}\n", bias);
  for (const auto& [name, w] : weights) model_csv += fmt::format("{},{}\n", name, w);

  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(dir + "/users.csv", users_csv));
  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(dir + "/items.csv", items_csv));
  std::vector<std::string> item_ids;
  std::vector<int> item_categories;
  for (const auto& it : items) {
    item_ids.push_back(it.id);
    item_categories.push_back(it.category);
  }
  static_assert(kCategories.size() == kTextCategories);
  ECPS_RETURN_IF_ERROR(
      util::WriteFileAtomic(dir + "/item_text.csv", ItemTextCsv(item_ids, item_categories, o.seed)));
  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(dir + "/interactions.csv", inter_csv));
  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(dir + "/impressions.libsvm", train_svm));
  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(dir + "/impressions_test.libsvm", test_svm));
  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(dir + "/featindex.txt", fi.Dump()));
  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(dir + "/truth/user_segments.csv", truth_csv));
  ECPS_RETURN_IF_ERROR(util::WriteFileAtomic(dir + "/truth/click_model.csv", model_csv));
  sum.users = users.size();
  sum.items = items.size();
  sum.test_impressions = n_test;
  sum.train_impressions = imps.size() - n_test;
  sum.click_rate = imps.empty() ? 0 : static_cast<double>(clicks) / static_cast<double>(imps.size());
  return sum;
}

}  // namespace ecps::datagen
