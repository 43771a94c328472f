#!/usr/bin/python3
"""The ε of DP-SGD's sampled Gaussian mechanism by a privacy loss distribution (PLD).

A check of how much a tighter accountant than ecps' RDP one could give (README, DP-SGD
figures), not used by ecps. Poisson sampling at rate q, noise multiplier σ, T steps, add or
remove one record. For each direction the privacy loss of one step, log(P(x)/Q(x)) with x
drawn from P, where
  remove: P = (1-q)·N(0, σ²) + q·N(1, σ²), Q = N(0, σ²)
  add:    P = N(0, σ²),                    Q = (1-q)·N(0, σ²) + q·N(1, σ²),
is discretised on the grid i·Δ pessimistically (each value rounded up, the mass beyond the
largest grid value counted as infinite loss), composed T times by FFT convolution (the
smallest masses, below 1e-16 a convolution, moved up to the next kept value or counted as
infinite loss), and δ(ε) = P(∞) + Σ p_i (1 - e^(ε - ℓ_i))⁺ taken as the larger of the two
directions. Every rounding errs towards a larger ε: the result is an upper bound that exceeds
the exact ε by at most about T·Δ (Koskela et al. 2020; Zhu, Dong, Wang 2022).

  pld_epsilon.py --sigma 1.551 1.43 --q 0.02 --steps 150 --delta 5e-7
  pld_epsilon.py --check [--ecps build/ecps]   # q = 1: T steps are one Gaussian with σ/√T,
                                               # exact in closed form; q < 1: at most RDP's ε
Needs numpy.
"""
import argparse
import math
import sys

import numpy as np

_erfc = np.vectorize(math.erfc, otypes=[float])


def phi(z):
    """Standard normal CDF, accurate in both tails."""
    return 0.5 * _erfc(-np.asarray(z, dtype=float) / math.sqrt(2))


def one_step(q, sigma, grid, direction, tail=1e-20):
    """(first grid index, masses, mass of infinite loss) of one step's privacy loss."""
    s2 = sigma * sigma
    z = math.sqrt(2 * math.log(1 / tail)) + 1  # x outside [-zσ, 1 + zσ] has mass < tail

    def loss(x):  # log(mixture / N(0, σ²)) at x, increasing in x
        e = (2 * x - 1) / (2 * s2)
        return e if q == 1 else math.log1p(-q) + math.log1p(q / (1 - q) * math.exp(e))

    def x_at(l):  # inverse of loss; -inf where loss never gets that low
        if q == 1:
            return l * s2 + 0.5
        t = np.exp(l) - (1 - q)
        out = np.full(l.shape, -np.inf)
        out[t > 0] = s2 * np.log(t[t > 0] / q) + 0.5
        return out

    xlo, xhi = -z * sigma, 1 + z * sigma
    if direction == "remove":  # loss = loss(x), x from the mixture
        lo, hi = math.floor(loss(xlo) / grid), math.ceil(loss(xhi) / grid)
        xs = x_at(np.arange(lo, hi + 1) * grid)
        cdf = (1 - q) * phi(xs / sigma) + q * phi((xs - 1) / sigma)  # P(loss <= ℓ_i)
    else:  # loss = -loss(x), x from N(0, σ²): loss <= ℓ  <=>  x >= x_at(-ℓ)
        lo, hi = math.floor(-loss(xhi) / grid), math.ceil(-loss(xlo) / grid)
        xs = x_at(-np.arange(lo, hi + 1) * grid)
        cdf = np.where(np.isneginf(xs), 1.0, 1 - phi(xs / sigma))
    mass = np.clip(np.diff(np.concatenate([[0.0], cdf])), 0, None)  # (ℓ_{i-1}, ℓ_i] -> ℓ_i
    return lo, mass, max(1.0 - float(cdf[-1]), 0.0)


def convolve(a, b, tail=1e-16):
    (alo, am), (blo, bm) = a, b
    n = len(am) + len(bm) - 1
    size = 1 << (n - 1).bit_length()
    c = np.clip(np.fft.irfft(np.fft.rfft(am, size) * np.fft.rfft(bm, size), size)[:n], 0, None)
    low = np.cumsum(c)
    i = int(np.searchsorted(low, tail))  # the lowest values' mass moves up to ℓ_i
    high = np.cumsum(c[::-1])
    j = int(np.searchsorted(high, tail))  # the highest values' mass counts as infinite
    to_infinity = float(high[j - 1]) if j > 0 else 0.0
    if i > 0:
        c[i] += low[i - 1]
    return (alo + blo + i, c[i:n - j]), to_infinity


def compose(step, steps):
    """T-fold composition by squaring; returns ((lo, masses), mass of infinite loss)."""
    lo, mass, infinite = step
    result, power, lost = None, (lo, mass), 0.0
    t = steps
    while True:
        if t & 1:
            if result is None:
                result = power
            else:
                result, x = convolve(result, power)
                lost += x
        t >>= 1
        if not t:
            break
        power, x = convolve(power, power)
        lost += x * steps  # counted for every use of this power: an over-estimate
    finite = (1 - infinite) ** steps  # all T steps' losses finite
    return result, min(1.0, 1 - finite + lost)


def epsilon(q, sigma, steps, delta, grid):
    parts = []
    for direction in ("remove", "add"):
        (lo, mass), infinite = compose(one_step(q, sigma, grid, direction), steps)
        parts.append(((lo + np.arange(len(mass))) * grid, mass, infinite))

    def delta_at(eps):
        return max(inf + float(np.sum(m[l > eps] * -np.expm1(eps - l[l > eps]))) for l, m, inf in parts)

    if delta_at(0) <= delta:
        return 0.0
    a, b = 0.0, 1.0
    while delta_at(b) > delta:
        a, b = b, 2 * b
    for _ in range(60):
        mid = (a + b) / 2
        a, b = (mid, b) if delta_at(mid) > delta else (a, mid)
    return b


def gaussian_epsilon(mu, delta):
    """Exact ε of the Gaussian mechanism with sensitivity / σ = mu (Balle & Wang 2018)."""
    def d(e):
        return 0.5 * math.erfc((e / mu - mu / 2) / math.sqrt(2)) - \
            math.exp(e) * 0.5 * math.erfc((e / mu + mu / 2) / math.sqrt(2))
    a, b = 0.0, 1.0
    while d(b) > delta:
        b *= 2
    for _ in range(100):
        mid = (a + b) / 2
        a, b = (mid, b) if d(mid) > delta else (a, mid)
    return b


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sigma", type=float, nargs="+", help="noise multipliers")
    ap.add_argument("--q", type=float, help="sample rate in (0, 1]")
    ap.add_argument("--steps", type=int, help="steps T")
    ap.add_argument("--delta", type=float, help="δ")
    ap.add_argument("--grid", type=float, default=2e-5, help="discretisation Δ of the loss (default 2e-5)")
    ap.add_argument("--check", action="store_true",
                    help="compare q = 1 with the Gaussian mechanism's exact ε (and, with --ecps, "
                         "q < 1 with ecps' RDP bound, which PLD must not exceed); exit 1 if off")
    ap.add_argument("--ecps", help="the ecps binary, for --check")
    a = ap.parse_args()
    if a.check:
        bad = 0
        for sigma, steps, delta in [(4, 1, 1e-5), (1.5, 1, 1e-5), (2, 10, 1e-6), (8, 100, 1e-6)]:
            exact = gaussian_epsilon(math.sqrt(steps) / sigma, delta)
            pld = epsilon(1.0, sigma, steps, delta, 1e-4)
            ok = exact <= pld <= exact + steps * 1e-4 + 1e-9
            bad += not ok
            print(f"q=1 sigma={sigma} steps={steps} delta={delta}: exact {exact:.6f} pld {pld:.6f} "
                  f"{'ok' if ok else 'OFF'}")
        if a.ecps:  # q < 1: never above the RDP accountant's bound (both are upper bounds)
            import subprocess
            for sigma, q, steps, delta in [(1.551, 0.02, 150, 5e-7), (1.5, 0.04, 200, 1e-5), (3, 0.1, 30, 1e-6)]:
                out = subprocess.run([a.ecps, "privacy", "epsilon", "--noise-multiplier", str(sigma),
                                      "--sample-rate", str(q), "--steps", str(steps), "--delta", str(delta)],
                                     check=True, capture_output=True, text=True).stdout
                rdp = float(out.split("epsilon=")[1].split()[0])
                pld = epsilon(q, sigma, steps, delta, 5e-5)
                ok = 0 < pld <= rdp
                bad += not ok
                print(f"q={q} sigma={sigma} steps={steps} delta={delta}: rdp {rdp:.6f} pld {pld:.6f} "
                      f"{'ok' if ok else 'OFF'}")
        return 1 if bad else 0
    if a.sigma is None or a.q is None or a.steps is None or a.delta is None:
        ap.error("--sigma, --q, --steps and --delta are required (or --check)")
    if not 0 < a.q <= 1 or a.steps < 1 or not 0 < a.delta < 1 or min(a.sigma) <= 0 or a.grid <= 0:
        ap.error("need 0 < q <= 1, steps >= 1, 0 < delta < 1, sigma > 0, grid > 0")
    for sigma in a.sigma:
        eps = epsilon(a.q, sigma, a.steps, a.delta, a.grid)
        print(f"sigma={sigma} q={a.q} steps={a.steps} delta={a.delta} grid={a.grid} pld_epsilon={eps:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
