#!/usr/bin/env python3
"""Markdown tables and SVG plots of the end-to-end benchmark (bench/e2e/run.sh), from the JSON
lines parley-bench-e2e printed. Python 3 standard library only.

  report.py WORK_DIR SVG_DIR

WORK_DIR holds what run.sh collected:
  loads.jsonl            one line per load: {"model", "reply_tokens", "load", "loadavg", "parley", "llama"}
  long-<model>.json      {"model", "reply_tokens", "turns", "parley", "llama"} with per-turn times
  pipeline.json          {"model", "loadavg", "parley", "llama"}: one conversation, 1-token replies
Writes SVG_DIR/e2e-long-<model>.svg and prints the markdown on stdout.
"""
import json
import os
import statistics
import sys

NEIGHBOURS = 5  # turns on each side whose median a turn is compared with


def ratio(p, l):
    return p / l if l else float("inf")


def cell(p, l, digits=1):
    return f"{p:.{digits}f} / {l:.{digits}f} ({ratio(p, l):.2f})"


def load_tables(rows):
    out = []
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["reply_tokens"]), []).append(r)
    misses = []
    for (model, tokens), group in groups.items():
        out.append(f"#### {model}, {tokens}-token replies")
        out.append("")
        out.append("Cells: Parley / llama-server (ratio Parley/llama-server). Times in ms from sending the message.")
        out.append("")
        out.append("| conversations x turns | replies/s | TTFT p50 | TTFT p99 | TTLT p50 | TTLT p99 | tokens/reply | errors | load avg |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in group:
            p, l = r["parley"], r["llama"]
            out.append(
                f"| {r['load']} | {cell(p['replies_per_s'], l['replies_per_s'])} "
                f"| {cell(p['ttft_p50_ms'], l['ttft_p50_ms'])} | {cell(p['ttft_p99_ms'], l['ttft_p99_ms'])} "
                f"| {cell(p['ttlt_p50_ms'], l['ttlt_p50_ms'])} | {cell(p['ttlt_p99_ms'], l['ttlt_p99_ms'])} "
                f"| {p.get('tokens_per_reply', 0):.1f} / {l.get('tokens_per_reply', 0):.1f} "
                f"| {p['errors']} / {l['errors']} | {r['loadavg']} |")
            rps = ratio(p["replies_per_s"], l["replies_per_s"])
            p99 = ratio(p["ttft_p99_ms"], l["ttft_p99_ms"])
            if rps < 1.0:
                misses.append(f"{model}, {tokens} tokens, {r['load']}: replies/s {rps:.2f}x (target >= 1.0x)")
            if p99 > 1.0:
                misses.append(f"{model}, {tokens} tokens, {r['load']}: TTFT p99 {p99:.2f}x (target <= 1.0x)")
        out.append("")
        out.extend(stage_table(group))
    return out, misses


STAGES = [("to_worker", "sent -> taken up by a worker"), ("prepare", "-> prompt handed to the model"),
          ("first_token", "-> first token"), ("generate", "-> last token"),
          ("finish", "-> reply_end written"), ("deliver", "-> reply_end at the client")]


def stage_table(group):
    rows = [r for r in group if "stages" in r["parley"]]
    if not rows:
        return []
    out = ["Parley's stages (p50 / p99 ms, each from the previous mark; worker timestamps in reply_end):", ""]
    out.append("| conversations x turns | " + " | ".join(f"{n} ({d})" for n, d in STAGES) + " |")
    out.append("|---|" + "---:|" * len(STAGES))
    for r in rows:
        s = r["parley"]["stages"]
        out.append(f"| {r['load']} | " + " | ".join(
            f"{s[n]['p50_ms']:.2f} / {s[n]['p99_ms']:.2f}" for n, _ in STAGES) + " |")
    out.append("")
    return out


def spikes(ttft):
    """Turns slower than twice the median of their neighbours: (count, worst ratio, its turn)."""
    count, worst, worst_turn = 0, 0.0, 0
    for i, t in enumerate(ttft):
        around = ttft[max(0, i - NEIGHBOURS):i] + ttft[i + 1:i + 1 + NEIGHBOURS]
        m = statistics.median(around)
        r = t / m if m > 0 else 0
        if r > 2.0:
            count += 1
        if r > worst:
            worst, worst_turn = r, i + 1
    return count, worst, worst_turn


def nice_step(span, ticks):
    """The smallest of 1, 2, 5 x 10^k that divides `span` into at most `ticks` steps."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if span / (m * step) <= ticks:
                return m * step
        step *= 10


def svg_plot(title, series, path):
    """A line chart of TTFT per turn, one polyline per series: [(name, colour, [ms...])]."""
    w, h, left, right, top, bottom = 900, 420, 70, 20, 40, 50
    n = max(len(v) for _, _, v in series)
    ystep = nice_step(max(max(v) for _, _, v in series) or 1, 6)
    ymax = ystep * -(-max(max(v) for _, _, v in series) // ystep) or ystep
    def x(i): return left + (w - left - right) * i / max(1, n - 1)
    def y(v): return top + (h - top - bottom) * (1 - v / ymax)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>']
    for k in range(round(ymax / ystep) + 1):
        v = ystep * k
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{w - right}" y2="{y(v):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    step = nice_step(n, 10)
    for turn in [1] + list(range(step, n + 1, step)):
        parts.append(f'<text x="{x(turn - 1):.1f}" y="{h - bottom + 18}" text-anchor="middle">{turn}</text>')
    parts.append(f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>')
    parts.append(f'<text x="{w / 2}" y="{h - 10}" text-anchor="middle">turn</text>')
    parts.append(f'<text x="16" y="{h / 2}" text-anchor="middle" transform="rotate(-90 16 {h / 2})">'
                 'time to first token (ms)</text>')
    for k, (name, colour, values) in enumerate(series):
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        ly = top + 8 + 16 * k
        parts.append(f'<line x1="{w - 230}" y1="{ly}" x2="{w - 210}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{w - 204}" y="{ly + 4}">{name}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def long_section(work, svg_dir):
    out = []
    for name in sorted(os.listdir(work)):
        if not (name.startswith("long-") and name.endswith(".json")):
            continue
        with open(os.path.join(work, name)) as f:
            r = json.load(f)
        model = r["model"]
        series = []
        out.append(f"#### One conversation of {r['turns']} turns past the context: {model}, "
                   f"{r['reply_tokens']}-token replies")
        out.append("")
        out.append("| | TTFT p50 ms | TTFT max ms | turns over 2x the median of their "
                   f"{2 * NEIGHBOURS} neighbours | worst (turn) |")
        out.append("|---|---:|---:|---:|---:|")
        for side, colour in (("parley", "#1f77b4"), ("llama", "#d62728")):
            ttft = [t["ttft_ms"] for t in r[side]["per_turn"]]
            count, worst, turn = spikes(ttft)
            label = "Parley" if side == "parley" else "llama-server"
            out.append(f"| {label} | {statistics.median(ttft):.1f} | {max(ttft):.1f} | {count} | "
                       f"{worst:.1f}x ({turn}) |")
            series.append((label, colour, ttft))
        svg = f"e2e-long-{model.replace('.gguf', '')}.svg"
        svg_plot(f"Time to first token per turn, {model}, {r['reply_tokens']}-token replies", series,
                 os.path.join(svg_dir, svg))
        out.append("")
        out.append(f"Plot: `{os.path.relpath(os.path.join(svg_dir, svg))}`")
        out.append("")
    return out


def pipeline_section(work):
    path = os.path.join(work, "pipeline.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        r = json.load(f)
    p, l = r["parley"], r["llama"]
    out = [f"#### Pipeline cost: one conversation, 1-token replies ({r['model']}, "
           f"{p['turns']} turns, load avg {r['loadavg']})", ""]
    out.append("| | Parley | llama-server |")
    out.append("|---|---:|---:|")
    out.append(f"| time to the end of the reply, p50 ms | {p['ttlt_p50_ms']:.2f} | {l['ttlt_p50_ms']:.2f} |")
    out.append(f"| the same, p99 ms | {p['ttlt_p99_ms']:.2f} | {l['ttlt_p99_ms']:.2f} |")
    if "stages" in p:
        s = p["stages"]
        out.append(f"| model time (prompt handed to the model -> last token), p50 ms | {s['model']['p50_ms']:.2f} | |")
        out.append(f"| pipeline (everything but model time), p50 ms | {s['pipeline']['p50_ms']:.2f} | |")
        out.append(f"| pipeline, p99 ms | {s['pipeline']['p99_ms']:.2f} | |")
    out.append("")
    return out


def main():
    work, svg_dir = sys.argv[1], sys.argv[2]
    os.makedirs(svg_dir, exist_ok=True)
    rows = []
    loads = os.path.join(work, "loads.jsonl")
    if os.path.exists(loads):
        with open(loads) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    tables, misses = load_tables(rows)
    print("\n".join(tables))
    print("\n".join(long_section(work, svg_dir)))
    print("\n".join(pipeline_section(work)))
    print("Targets missed (Parley >= 1.0x llama-server replies/s, <= 1.0x its TTFT p99):"
          if misses else "Every load meets the replies/s and TTFT p99 targets.")
    for m in misses:
        print(f"- {m}")


if __name__ == "__main__":
    main()
