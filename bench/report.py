#!/usr/bin/env python3
"""Turns the benchmarks' JSON lines into build/bench/results.json, a table, and a bar chart (SVG)."""
import json
import sys

src, dst = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(src) if line.strip()]
json.dump(rows, open(dst, "w"), indent=1)

w = max([len(r["name"]) for r in rows] + [4])
print(f"{'name':<{w}}  {'value':>12} {'unit':<8} {'baseline':<24} {'baseline_value':>14}  ratio")
for r in rows:
    print(f"{r['name']:<{w}}  {r['value']:>12.3f} {r['unit']:<8} {r['baseline']:<24} {r['baseline_value']:>14.3f}  {r['ratio']:.2f}x")

# Chart: one bar per result, log-free ratio scale, 1.0 marked.
bar_h, left, width = 18, 360, 420
top = max([r["ratio"] for r in rows] + [1.0])
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{bar_h * len(rows) + 40}" font-family="monospace" font-size="11">']
for i, r in enumerate(rows):
    y = 20 + i * bar_h
    bw = width * r["ratio"] / top
    color = "#2a7" if r["ratio"] >= 1 else "#c43"
    svg.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{r["name"]}</text>')
    svg.append(f'<rect x="{left}" y="{y + 2}" width="{bw:.1f}" height="{bar_h - 4}" fill="{color}"/>')
    svg.append(f'<text x="{left + bw + 4:.1f}" y="{y + 12}">{r["ratio"]:.2f}x</text>')
x1 = left + width / top
svg.append(f'<line x1="{x1:.1f}" y1="10" x2="{x1:.1f}" y2="{bar_h * len(rows) + 25}" stroke="#333" stroke-dasharray="3"/>')
svg.append("</svg>")
chart = dst.rsplit(".", 1)[0] + ".svg"
open(chart, "w").write("\n".join(svg))
print(f"\nresults: {dst}\nchart:   {chart}")
