// A synthetic online shop with planted structure, for the demo pipeline and tests:
// users drawn from latent segments, items in categories that segments prefer, interactions
// that follow those preferences, and ad impressions whose clicks follow a planted logistic
// model. The planted truth is written beside the data so results can be checked.
//
// Same options and seed give byte-identical files.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ps/status.h"

namespace ecps::datagen {

struct ShopOptions {
  std::uint64_t users = 2000;           ///< rows of users.csv
  std::uint64_t items = 500;            ///< rows of items.csv
  std::uint64_t impressions_per_user = 12;  ///< ad impressions per user (train + test)
  std::uint64_t seed = 42;
  double test_fraction = 0.2;           ///< last share of impressions (by time) in the test file
  /// interactions.csv gets a rating column (1..5: the user's mean, the item's quality, +0.3
  /// in a preferred category, -0.5 outside, noise), drawn from a stream of its own: the
  /// other columns and files are the same as without it.
  bool ratings = false;
  /// Polled every few thousand users: a non-OK status (e.g. a signal) stops the generation
  /// with it before anything is written.
  std::function<Status()> interrupt;
  /// Called with the same rhythm: users handled so far over the three passes (segments,
  /// interactions, impressions) and their total, 3 x users.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;

  Status Validate() const;
};

/// What Generate wrote (counts, for the log and for tests).
struct ShopSummary {
  std::uint64_t users = 0, items = 0, interactions = 0, train_impressions = 0, test_impressions = 0;
  double click_rate = 0;
};

/// Writes into `dir` (created if needed), each file atomically:
///   users.csv            user_id,age,gender,purchase_frequency,rating,duration,avg_order_value
///   items.csv            item_id,category,brand,price_band,price
///   item_text.csv        item_id,title,description (item_text.h)
///   interactions.csv     user_id,item_id,timestamp   (per user in time order; with ratings
///                        user_id,item_id,rating,timestamp)
///   impressions.libsvm   click idx:1 ... (training impressions; fields listed in featindex.txt)
///   impressions_test.libsvm
///   featindex.txt        field:value<TAB>index (as the iPinYou featindex files)
///   truth/user_segments.csv   user_id,segment,segment_name
///   truth/click_model.csv     feature,weight (the planted logistic model, bias first)
Result<ShopSummary> GenerateShop(const std::string& dir, const ShopOptions& options);

}  // namespace ecps::datagen
