#include "models/lr/optimizers.h"

#include "privacy/per_x86_level.h"

namespace ecps::models::lr {

// Compiled with -fno-math-errno (CMakeLists.txt): the square roots are of values >= 0, and
// without errno they become vector instructions. The same results at every x86-64 level
// (-ffp-contract=off: each operation an exactly rounded IEEE one at any vector width).
ECPS_PER_X86_LEVEL
void FtrlDense(float* __restrict values, float* __restrict state, const float* __restrict pushed, std::size_t n,
               const FtrlParams& p) {
  const double alpha = p.alpha, beta = p.beta, l1 = p.lambda1, l2 = p.lambda2;
  for (std::size_t i = 0; i < n; ++i) {
    const double g = pushed[i];
    const double old_n = state[2 * i + 1];
    const double sigma = (std::sqrt(old_n + g * g) - std::sqrt(old_n)) / alpha;
    const float z = state[2 * i] + static_cast<float>(g - sigma * values[i]);
    const float nn = state[2 * i + 1] + static_cast<float>(g * g);
    state[2 * i] = z;
    state[2 * i + 1] = nn;
    // FtrlRule::Weight without branches.
    const double zd = z;
    const double weight = -(zd - std::copysign(l1, zd)) / ((beta + std::sqrt(static_cast<double>(nn))) / alpha + l2);
    values[i] = static_cast<float>(std::fabs(zd) <= l1 ? 0.0 : weight);
  }
}

}  // namespace ecps::models::lr
