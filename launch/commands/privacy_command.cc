// `ecps privacy epsilon` and `ecps privacy noise`: the RDP accountant of privacy/ on the
// command line (the ε that DP-SGD settings spend, the noise that a budget needs).
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "launch/command.h"
#include "privacy/rdp_accountant.h"

namespace ecps::launch {
namespace {

// Options both subcommands take.
struct CommonOptions {
  double sample_rate = 0;
  std::uint64_t steps = 0;
  double delta = 0;
  privacy::Conversion conversion = privacy::Conversion::kBalle;
};

void AddCommonOptions(CLI::App& sub, CommonOptions& o, CLI::Validator sample_rate_range) {
  sub.add_option("--sample-rate", o.sample_rate,
                 "q: the probability with which each record joins a step's batch (Poisson "
                 "sampling); about batch size / number of records")
      ->required()->check(sample_rate_range);
  sub.add_option("--steps", o.steps,
                 "T: the number of noisy steps (clocks), about epochs / q for DP-SGD")
      ->required()->check(AtLeast(1));
  sub.add_option("--delta", o.delta,
                 "delta, in (0, 1): the probability with which the epsilon bound may fail; keep "
                 "it well below 1 / (number of records)")
      ->required()->check(Fraction());
  sub.add_option_function<std::string>(
         "--conversion",
         [&o](const std::string& name) { o.conversion = privacy::ParseConversion(name).value(); },
         "How RDP becomes (epsilon, delta): balle (Balle et al. 2020, as Opacus) or classic "
         "(Mironov 2017, as TF Privacy before 2020; a little larger)")
      ->default_str(std::string(privacy::ConversionName(o.conversion)))
      ->check(CLI::IsMember({"balle", "classic"}));
}

// Adds the subcommand `name` below `parent`; when it is chosen, `selected` runs `compute` and
// writes its result (the lines a script reads) to standard output.
CLI::App* AddAccountingCommand(CLI::App& parent, Selected* selected, const std::string& name,
                               const std::string& help,
                               std::function<Result<std::string>()> compute) {
  auto* sub = parent.add_subcommand(name, help);
  sub->callback([selected, compute = std::move(compute)] {
    *selected = [compute]() -> Status {
      ECPS_ASSIGN_OR_RETURN(const std::string text, compute());
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
      return Status::Ok();
    };
  });
  return sub;
}

}  // namespace

void AddPrivacyCommands(CommandTree& tree) {
  auto* privacy = tree.root->add_subcommand(
      "privacy",
      "Differential-privacy accounting for DP-SGD (the sampled Gaussian mechanism) with an RDP "
      "accountant. Epsilon bounds how much one record can change the probability of any "
      "outcome (by a factor of at most e^epsilon); delta is the probability with which that "
      "bound may fail.");
  privacy->require_subcommand(1);

  struct EpsilonOptions {
    CommonOptions common;
    double noise_multiplier = 0;
  };
  auto e = std::make_shared<EpsilonOptions>();
  auto* epsilon = AddAccountingCommand(
      *privacy, tree.selected, "epsilon",
      "Print the epsilon that T steps with noise multiplier sigma and sample rate q spend at "
      "delta (`epsilon=<value>`), and the RDP order that gives it (`order=<alpha>`)",
      [e]() -> Result<std::string> {
        const privacy::SampledGaussian mechanism{e->noise_multiplier, e->common.sample_rate,
                                                 e->common.steps};
        ECPS_ASSIGN_OR_RETURN(const auto guarantee,
                              privacy::ComputeEpsilon(mechanism, e->common.delta,
                                                      {.conversion = e->common.conversion}));
        return fmt::format("epsilon={}\norder={}\n", guarantee.epsilon, guarantee.order);
      });
  epsilon
      ->add_option("--noise-multiplier", e->noise_multiplier,
                   fmt::format("sigma, in [{}, {}]: the noise's standard deviation divided by "
                               "the clipping norm (the L2 sensitivity of a step's sum)",
                               privacy::kMinNoiseMultiplier, privacy::kMaxNoiseMultiplier))
      ->required()
      ->check(Interval(privacy::kMinNoiseMultiplier, privacy::kMaxNoiseMultiplier));
  AddCommonOptions(*epsilon, e->common, Interval(0, 1));

  struct NoiseOptions {
    CommonOptions common;
    double epsilon = 0;
  };
  auto n = std::make_shared<NoiseOptions>();
  auto* noise = AddAccountingCommand(
      *privacy, tree.selected, "noise",
      fmt::format("Print the smallest noise multiplier (`noise_multiplier=<value>`, to a "
                  "relative {}) with which T steps at sample rate q spend at most epsilon at "
                  "delta",
                  privacy::kNoiseTolerance),
      [n]() -> Result<std::string> {
        const privacy::NoiseRequest request{n->epsilon, n->common.delta, n->common.sample_rate,
                                            n->common.steps};
        ECPS_ASSIGN_OR_RETURN(
            const double sigma,
            privacy::FindNoiseMultiplier(request, {.conversion = n->common.conversion}));
        return fmt::format("noise_multiplier={}\n", sigma);
      });
  noise->add_option("--epsilon", n->epsilon, "The privacy budget epsilon, > 0")
      ->required()->check(Positive());
  AddCommonOptions(*noise, n->common, Interval(0, 1, true));
}

}  // namespace ecps::launch
