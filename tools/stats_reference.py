#!/usr/bin/python3
"""SciPy reference values for nnlab's comparison statistics (apps/stats): writes
tests/data/stats_reference.json, which tests/apps/stats/test_stats.cpp compares at 1e-9 relative.

How to run (Debian: python3-scipy, python3-numpy; a tool only, never a build dependency):

    /usr/bin/python3 tools/stats_reference.py            # rewrites tests/data/stats_reference.json
    /usr/bin/python3 tools/stats_reference.py -o FILE    # writes FILE instead

The cases are fixed lists of paired differences (seeded numpy draws rounded to 4 decimals, like
accuracy differences in points, plus hand-made edge cases). Per case:

  t test       scipy.stats.ttest_rel(d, 0) statistic and p-value; the 95 % and 99 % confidence
               intervals mean ± t_{n−1, 1−α/2}·sd/√n (the quantile from special.betaincinv, see
               t_quantile()); Cohen's d_z = mean/sd
  Wilcoxon     scipy.stats.wilcoxon(d) (no continuity correction, SciPy's default) with method "exact" when the nonzero |d| are at most 50 and
               distinct, "approx" otherwise (nnlab's rule, see apps/stats/stats.hpp: with ties SciPy's
               "auto" would use the exact table on a truncated rank sum)
  power        scipy.stats.nct: P(|T| > t_{n−1,1−α/2}) for T ~ nct(n − 1, √n·δ/σ), at several
               (n, δ, σ, α); seeds needed = the smallest n ≥ 2 reaching 0.8 (linear search);
               detectable difference = brentq of power(δ) = 0.8
  Holm         adjusted p-values by the definition (sort, (m − j + 1)·p, running maximum, cap 1),
               written out independently of nnlab's code (SciPy 1.10 has no Holm)
"""
import argparse
import json
import math
import os

import numpy as np
import scipy
from scipy import optimize, special, stats


def differences():
    rng = np.random.default_rng(20261202)
    cases = []
    for n, mean, sd in [(2, 0.3, 0.5), (3, 0.4, 0.3), (5, 0.1, 0.6), (6, 0.8, 0.5), (8, -0.35, 0.4),
                        (12, 0.05, 0.3), (20, 0.2, 1.0), (30, -0.1, 0.25), (49, 0.02, 0.5), (60, 0.3, 0.9)]:
        d = np.round(rng.normal(mean, sd, n), 4)
        cases.append({"name": f"normal n={n}", "d": d.tolist()})
    # Ties, zeros, one sign only, constant: the rules at their edges.
    cases.append({"name": "ties (accuracy steps of 0.01)", "d": [0.01, 0.02, 0.02, -0.01, 0.03, 0.02, 0.01, 0.04, -0.02, 0.03]})
    cases.append({"name": "zeros", "d": [0.0, 0.12, -0.05, 0.0, 0.3, 0.22, 0.18, -0.07]})
    cases.append({"name": "all positive", "d": [0.5, 0.7, 0.2, 0.9, 0.4, 1.1, 0.3]})
    cases.append({"name": "corn heights (SciPy's wilcoxon example)", "d": [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]})
    cases.append({"name": "tiny spread", "d": [1e-6, 1.1e-6, 0.9e-6, 1.05e-6]})
    return cases


def wilcoxon_method(d):
    nz = [abs(x) for x in d if x != 0]
    return "exact" if len(nz) <= 50 and len(set(nz)) == len(nz) and len(nz) == len(d) else "approx"


def t_quantile(df, q):
    """Student t's q-quantile (q > 1/2) through the inverse regularized incomplete beta function.
    scipy.stats.t.ppf (cephes' stdtrit) is only good to about 4e-10 relative in SciPy 1.10
    (t.ppf(0.975, 5) = 2.5705818366147 where mpmath at 30 digits gives 2.5705818356363146); this
    route agrees with mpmath to 1e-15."""
    x = special.betaincinv(df / 2, 0.5, 2 * (1 - q))
    return math.sqrt(df * (1 - x) / x)


def t_case(d):
    d = np.asarray(d, dtype=float)
    n = len(d)
    mean = float(np.mean(d))
    sd = float(np.std(d, ddof=1))
    res = stats.ttest_rel(d, np.zeros(n))
    out = {"n": n, "mean": mean, "sd": sd, "t": float(res.statistic), "p": float(res.pvalue), "cohen_d": mean / sd}
    for conf in (0.95, 0.99):
        half = t_quantile(n - 1, 0.5 + conf / 2) * sd / math.sqrt(n)
        out[f"ci{int(conf * 100)}"] = [mean - half, mean + half]
    return out


def wilcoxon_case(d):
    method = wilcoxon_method(d)
    res = stats.wilcoxon(d, method=method)
    return {"method": method, "statistic": float(res.statistic), "p": float(res.pvalue)}


def power(n, delta, sd, alpha):
    df = n - 1
    crit = t_quantile(df, 1 - alpha / 2)
    lam = math.sqrt(n) * abs(delta) / sd
    return float(stats.nct.sf(crit, df, lam) + stats.nct.cdf(-crit, df, lam))


def power_cases():
    out = []
    for n, delta, sd, alpha in [(2, 1.0, 1.0, 0.05), (5, 0.5, 0.4, 0.05), (10, 1.0, 1.0, 0.05), (10, 0.2, 0.35, 0.05),
                                (25, 0.1, 0.3, 0.01), (50, 0.2, 0.6, 0.05)]:
        out.append({"n": n, "delta": delta, "sd": sd, "alpha": alpha, "power": power(n, delta, sd, alpha)})
    return out


def seeds_cases():
    out = []
    for delta, sd, alpha, target in [(1.0, 1.0, 0.05, 0.8), (0.2, 0.35, 0.05, 0.8), (0.2, 0.6, 0.05, 0.8),
                                     (0.5, 0.3, 0.05, 0.9), (0.1, 0.5, 0.01, 0.8), (3.0, 1.0, 0.05, 0.8)]:
        n = 2
        while power(n, delta, sd, alpha) < target:
            n += 1
        out.append({"delta": delta, "sd": sd, "alpha": alpha, "power": target, "n": n})
    return out


def detectable_cases():
    out = []
    for n, sd, alpha, target in [(3, 0.4, 0.05, 0.8), (5, 0.35, 0.05, 0.8), (10, 1.0, 0.05, 0.8), (23, 0.2, 0.05, 0.9)]:
        delta = optimize.brentq(lambda x: power(n, x, sd, alpha) - target, 1e-9, 100 * sd, xtol=1e-14, rtol=1e-14)
        out.append({"n": n, "sd": sd, "alpha": alpha, "power": target, "delta": float(delta)})
    return out


def holm(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    running = 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * p[i]))
        adjusted[i] = running
    return adjusted


def holm_cases():
    lists = [[0.01, 0.04, 0.03, 0.005], [0.2, 0.01, 0.8, 0.04, 0.049], [0.5], [0.001, 0.001, 0.3]]
    return [{"p": p, "adjusted": holm(p)} for p in lists]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "stats_reference.json"))
    args = ap.parse_args()
    cases = []
    for c in differences():
        c["t_test"] = t_case(c["d"])
        c["wilcoxon"] = wilcoxon_case(c["d"])
        cases.append(c)
    doc = {"generator": "tools/stats_reference.py", "scipy": scipy.__version__, "numpy": np.__version__,
           "cases": cases, "power": power_cases(), "seeds_needed": seeds_cases(),
           "detectable": detectable_cases(), "holm": holm_cases()}
    with open(args.output, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {args.output}: {len(cases)} difference cases")


if __name__ == "__main__":
    main()
