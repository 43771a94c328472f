// Similarity blocks against a brute-force dense computation of each measure, and the same
// neighbour lists whatever the block layout (the property behind equal results for 1, 2
// and 4 workers).
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "models/cf/similarity.h"
#include "models/cf/topk.h"

namespace ecps::models::cf {
namespace {

// entities x contexts; 0 = no interaction. Integer ratings 1..5, or 1 when binary.
struct Dense {
  std::uint32_t entities = 0, contexts = 0;
  std::vector<float> x;
  float at(std::uint32_t e, std::uint32_t c) const { return x[static_cast<std::size_t>(e) * contexts + c]; }
};

Dense Random(std::uint32_t entities, std::uint32_t contexts, double density, bool binary, std::uint32_t seed) {
  Dense d{entities, contexts, std::vector<float>(static_cast<std::size_t>(entities) * contexts, 0.0f)};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& v : d.x) {
    if (u(rng) < density) v = binary ? 1.0f : static_cast<float>(1 + rng() % 5);
  }
  // A few exact duplicates of entity 0 make exact ties.
  for (std::uint32_t e = 1; e < entities; e += 9) {
    for (std::uint32_t c = 0; c < contexts; ++c) d.x[static_cast<std::size_t>(e) * contexts + c] = d.at(0, c);
  }
  return d;
}

std::vector<double> ContextMeans(const Dense& d) {
  std::vector<double> m(d.contexts, 0.0);
  for (std::uint32_t c = 0; c < d.contexts; ++c) {
    double s = 0, n = 0;
    for (std::uint32_t e = 0; e < d.entities; ++e) {
      if (d.at(e, c) != 0) {
        s += d.at(e, c);
        ++n;
      }
    }
    m[c] = n ? s / n : 0;
  }
  return m;
}

// The definitions, computed densely.
std::vector<std::vector<Neighbor>> BruteForce(const Dense& d, const SimilarityOptions& o) {
  const auto cmean = ContextMeans(d);
  std::vector<double> emean(d.entities, 0.0);
  for (std::uint32_t e = 0; e < d.entities; ++e) {
    double s = 0, n = 0;
    for (std::uint32_t c = 0; c < d.contexts; ++c) {
      if (d.at(e, c) != 0) {
        s += d.at(e, c);
        ++n;
      }
    }
    emean[e] = n ? s / n : 0;
  }
  std::vector<std::vector<Neighbor>> out(d.entities);
  for (std::uint32_t i = 0; i < d.entities; ++i) {
    std::vector<Neighbor> cand;
    for (std::uint32_t j = 0; j < d.entities; ++j) {
      if (i == j) continue;
      double co = 0, dot = 0, sa = 0, sb = 0, ni = 0, nj = 0, norm_i = 0, norm_j = 0;
      for (std::uint32_t c = 0; c < d.contexts; ++c) {
        const double a = d.at(i, c), b = d.at(j, c);
        if (a != 0) {
          ++ni;
          norm_i += a * a;
        }
        if (b != 0) {
          ++nj;
          norm_j += b * b;
        }
        if (a == 0 || b == 0) continue;
        ++co;
        double ca = a, cb = b;
        if (o.measure == Measure::kAdjustedCosine) {
          ca = a - cmean[c];
          cb = b - cmean[c];
        } else if (o.measure == Measure::kPearson) {
          ca = a - emean[i];
          cb = b - emean[j];
        }
        dot += ca * cb;
        sa += ca * ca;
        sb += cb * cb;
      }
      if (co == 0 || co < o.min_support) continue;
      double s = 0;
      switch (o.measure) {
        case Measure::kCosine: s = dot / (std::sqrt(norm_i) * std::sqrt(norm_j)); break;
        case Measure::kJaccard: s = co / (ni + nj - co); break;
        case Measure::kAdjustedCosine:
        case Measure::kPearson: s = sa * sb > 0 ? dot / std::sqrt(sa * sb) : 0; break;
      }
      s *= o.shrinkage > 0 ? co / (co + o.shrinkage) : 1.0;
      if (s > 0) cand.push_back({j, s});
    }
    SelectTopK(&cand, o.k + 1);  // one more: to see a tie across the cut
    out[i] = cand;
  }
  return out;
}

EntityBlock MakeBlock(const Dense& d, std::uint32_t begin, std::uint32_t end, const SimilarityOptions& o,
                      const std::vector<double>& cmean) {
  EntityBlock b;
  b.begin = begin;
  b.end = end;
  b.ptr.push_back(0);
  // Entries deliberately out of context order (as several workers' pushes arrive).
  for (std::uint32_t e = begin; e < end; ++e) {
    for (std::uint32_t c = d.contexts; c-- > 0;) {
      if (d.at(e, c) == 0) continue;
      b.ctx.push_back(c);
      b.val.push_back(d.at(e, c));
    }
    b.ptr.push_back(b.ctx.size());
  }
  b.SortEntities();
  b.Prepare(o, cmean, d.contexts);
  return b;
}

// Runs every block pair of a layout through ComputeBlock and the servers' merge rule.
std::vector<double> Blocked(const Dense& d, const SimilarityOptions& o, const std::vector<std::uint32_t>& bounds) {
  const auto cmean = ContextMeans(d);
  const std::size_t w = 2 * o.k;
  std::vector<double> table(d.entities * w, -1.0);
  TopKMergeRule rule;
  auto push = [&](std::uint32_t begin, std::uint32_t end, const std::vector<double>& rows) {
    rule.Apply(ps::RowSpan<double>{table.data(), nullptr, w, 0, 0, nullptr, begin, end - begin}, rows.data());
  };
  std::vector<EntityBlock> blocks;
  for (std::size_t b = 0; b + 1 < bounds.size(); ++b) blocks.push_back(MakeBlock(d, bounds[b], bounds[b + 1], o, cmean));
  for (std::size_t r = 0; r < blocks.size(); ++r) {
    for (std::size_t c = r; c < blocks.size(); ++c) {
      std::vector<double> out_r(blocks[r].size() * w), out_c(r == c ? 0 : blocks[c].size() * w);
      ComputeBlock(blocks[r], blocks[c], o, out_r.data(), out_c.data());
      push(blocks[r].begin, blocks[r].end, out_r);
      if (r != c) push(blocks[c].begin, blocks[c].end, out_c);
    }
  }
  return table;
}

// `tol`: centred values are stored as floats (7 digits), raw ones are exact.
void ExpectMatches(const std::vector<std::vector<Neighbor>>& expect, const std::vector<double>& table, std::size_t k,
                   double tol, const std::string& what) {
  for (std::size_t i = 0; i < expect.size(); ++i) {
    std::vector<Neighbor> got;
    DecodeRow(table.data() + i * 2 * k, k, &got);
    ASSERT_EQ(got.size(), std::min(k, expect[i].size())) << what << " entity " << i;
    for (std::size_t t = 0; t < got.size(); ++t) {
      EXPECT_NEAR(got[t].score, expect[i][t].score, tol) << what << " entity " << i << " rank " << t;
      // Ids must agree except inside groups of equal scores (rounding may order them apart).
      const bool tie_before = t > 0 && std::abs(expect[i][t].score - expect[i][t - 1].score) < 2 * tol;
      const bool tie_after = t + 1 < expect[i].size() && std::abs(expect[i][t].score - expect[i][t + 1].score) < 2 * tol;
      if (!tie_before && !tie_after) {
        EXPECT_EQ(got[t].id, expect[i][t].id) << what << " entity " << i << " rank " << t;
      }
      if (t > 0) {
        EXPECT_TRUE(!Better(got[t], got[t - 1])) << what << ": list not in order";
      }
    }
  }
}

struct Case {
  Measure measure;
  bool binary;
  double shrinkage;
  std::uint32_t min_support;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "measure " << static_cast<int>(c.measure) << (c.binary ? " binary" : "") << " shrinkage " << c.shrinkage
      << " min_support " << c.min_support;
}

class SimilarityVsBruteForce : public ::testing::TestWithParam<Case> {};

TEST_P(SimilarityVsBruteForce, EveryLayoutGivesTheDefinitionAndTheSameBits) {
  const auto& c = GetParam();
  SimilarityOptions o;
  o.measure = c.measure;
  o.binary = c.binary || c.measure == Measure::kJaccard;
  o.k = 5;
  o.shrinkage = c.shrinkage;
  o.min_support = c.min_support;
  const Dense d = Random(37, 23, 0.25, c.binary, 17 + static_cast<std::uint32_t>(c.measure));
  const auto expect = BruteForce(d, o);
  std::vector<double> reference;
  for (const auto& bounds : std::vector<std::vector<std::uint32_t>>{{0, 37}, {0, 18, 37}, {0, 5, 6, 20, 37}, {0, 9, 18, 27, 36, 37}}) {
    const auto table = Blocked(d, o, bounds);
    ExpectMatches(expect, table, o.k, NeedsRatings(c.measure) ? 1e-6 : 1e-9, std::string(MeasureName(c.measure)) + " with " + std::to_string(bounds.size() - 1) + " blocks");
    if (reference.empty()) reference = table;
    EXPECT_EQ(table, reference) << "neighbour lists differ between block layouts";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Measures, SimilarityVsBruteForce,
    ::testing::Values(Case{Measure::kCosine, true, 0, 1}, Case{Measure::kCosine, false, 0, 1},
                      Case{Measure::kCosine, true, 3.0, 2}, Case{Measure::kAdjustedCosine, false, 0, 1},
                      Case{Measure::kAdjustedCosine, false, 2.0, 3}, Case{Measure::kPearson, false, 0, 1},
                      Case{Measure::kPearson, false, 0, 2}, Case{Measure::kJaccard, true, 0, 1},
                      Case{Measure::kJaccard, false, 5.0, 2}),
    [](const auto& param_info) {
      const Case& c = param_info.param;
      std::string n = MeasureName(c.measure);
      std::replace(n.begin(), n.end(), '-', '_');
      return n + (c.binary ? "_binary" : "_ratings") + "_shrink" + std::to_string(static_cast<int>(c.shrinkage)) +
             "_support" + std::to_string(c.min_support);
    });

}  // namespace
}  // namespace ecps::models::cf
