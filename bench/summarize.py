#!/usr/bin/python3
"""Helpers of bench/compare.sh (plain Python, no torch):

    summarize.py tag '{"system": ...}'   add these keys to every JSON line of stdin, print them
    summarize.py show                    one readable line per JSON line of stdin
    summarize.py summary RAW.jsonl [T]   the Markdown tables: nnlab vs PyTorch (target ratio T, default 0.7),
                                         and the GEMM floor
"""
import json
import statistics
import sys
from collections import defaultdict


def tag(extra):
    extra = json.loads(extra)
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("{"):
            d = json.loads(line)
            d.update(extra)
            print(json.dumps(d), flush=True)


def show():
    for line in sys.stdin:
        d = json.loads(line)
        what = d.get("activation") or d.get("backend", "")
        s = d.get("seconds_median", d.get("seconds"))
        print(f"  {d['system']:<9} {d.get('setting', ''):<26} {d['kind']:<10} {what:<11} {s:7.3f} s", flush=True)


def cpuinfo(key):
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu():
    return cpuinfo("model name") or "unknown CPU"


def machine(kernel):
    """CPU model, vendor, widest vector ISA and nnlab's matrix product: every figure is tied to them."""
    flags = (cpuinfo("flags") or "").split()
    isa = "avx512" if "avx512f" in flags else "avx2+fma" if {"avx2", "fma"} <= set(flags) else "avx" if "avx" in flags else "sse"
    return f"{cpu()} ({cpuinfo('vendor_id') or 'unknown vendor'}, {isa}); nnlab's matrix product: {kernel}"


def summary(path, target=0.7):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    epochs = defaultdict(list)  # (activation, system, setting) -> [seconds per round]
    fastest_epoch = {}  # (activation, system, setting) -> the fastest timed epoch of any round
    floors = defaultdict(list)  # (system, setting) -> [seconds]
    nnlab_floor, nnlab_rss = defaultdict(list), defaultdict(list)
    for r in rows:
        if r["kind"] == "epoch":
            key = (r["activation"], r["system"], r["setting"])
            epochs[key].append(r["seconds_median"])
            if "seconds_min" in r:
                fastest_epoch[key] = min(fastest_epoch.get(key, r["seconds_min"]), r["seconds_min"])
            if r["system"] == "nnlab":
                nnlab_floor[r["activation"]].append(r["gemm_floor_seconds"])
                nnlab_rss[r["activation"]].append(r["peak_rss_mb"])
        elif r["kind"] == "gemm_floor":
            floors[(r["system"], r["setting"])].append(r["seconds"])
    for a, v in nnlab_floor.items():
        floors[("nnlab bench", a)].extend(v)
    med = {k: statistics.median(v) for k, v in epochs.items()}
    acts = list(dict.fromkeys(r["activation"] for r in rows if r["kind"] == "epoch"))
    settings = sorted({k[2] for k in epochs if k[1] == "pytorch"})
    threads = next((r["threads"] for r in rows if r["system"] == "nnlab"), "?")
    rounds = max((r.get("round", 1) for r in rows), default=1)
    kernel = next((r["gemm_kernel"] for r in rows if r["system"] == "nnlab" and "gemm_kernel" in r), "?")

    print(f"Machine: {machine(kernel)}.\n")

    print(f"## nnlab vs PyTorch: seconds per training epoch ({cpu()}, {threads} threads, median over {rounds} round(s))\n")
    print("| activation | nnlab | " + " | ".join(f"PyTorch {s}" for s in settings) + f" | nnlab / fastest PyTorch | <= {target} |")
    print("|---|---:|" + "---:|" * len(settings) + "---:|:---:|")
    worst = 0
    for a in acts:
        n = med.get((a, "nnlab", "bench"))
        ts = [med.get((a, "pytorch", s)) for s in settings]
        fastest = min(t for t in ts if t is not None)
        ratio = n / fastest
        worst = max(worst, ratio)
        cells = " | ".join("-" if t is None else (f"**{t:.3f}**" if t == fastest else f"{t:.3f}") for t in ts)
        print(f"| {a} | {n:.3f} | {cells} | {ratio:.2f} | {'yes' if ratio <= target else 'NO'} |")
    print(f"\nWorst ratio: {worst:.2f}.\n")

    if fastest_epoch:
        # A neighbour on a shared machine only ever adds time, so each program's fastest epoch is the
        # estimate of its own speed that such load disturbs least; the medians above stay the headline.
        print("Fastest single epoch of any round (the estimate least disturbed by other load on the machine):\n")
        print("| activation | nnlab | fastest PyTorch (setting) | ratio |")
        print("|---|---:|---:|---:|")
        for a in acts:
            n = fastest_epoch.get((a, "nnlab", "bench"))
            ts = {s: fastest_epoch[(a, "pytorch", s)] for s in settings if (a, "pytorch", s) in fastest_epoch}
            if n is None or not ts:
                continue
            best_setting = min(ts, key=ts.get)
            print(f"| {a} | {n:.3f} | {ts[best_setting]:.3f} ({best_setting}) | {n / ts[best_setting]:.2f} |")
        print()

    print("## GEMM floor: one epoch's matrix multiplies alone (best per run, median over rounds)\n")
    print("| library | setting | seconds | GFLOP/s |")
    print("|---|---|---:|---:|")
    flop = next((r["flop"] for r in rows if r["kind"] == "gemm_floor"),
                next((r["gemm_flop"] for r in rows if r["system"] == "nnlab"), None))
    best = None
    for (system, setting), v in sorted(floors.items(), key=lambda kv: statistics.median(kv[1])):
        s = statistics.median(v)
        if system == "nnlab bench" and setting != "relu":
            continue
        best = s if best is None else min(best, s)
        gf = f"{flop / s / 1e9:.0f}" if flop else "-"
        print(f"| {system} | {setting} | {s:.3f} | {gf} |")
    relu = med.get(("relu", "nnlab", "bench"))
    if relu and best:
        print(f"\nReLU epoch {relu:.3f} s = **{relu / best:.2f}x** the fastest floor ({best:.3f} s); target <= 1.3x.")
    if nnlab_rss:
        print(f"Peak resident memory of nnlab bench: {max(max(v) for v in nnlab_rss.values()):.0f} MB.")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "tag":
        tag(sys.argv[2])
    elif cmd == "show":
        show()
    elif cmd == "summary":
        summary(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.7)
    else:
        sys.exit(__doc__)
