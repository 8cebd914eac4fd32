#!/usr/bin/env python3
"""Turn make bench's markdown table into a small SVG bar chart (median ms per
login, one process per login vs in-process, no concurrency). Stdlib only."""
import sys

rows = []
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 10 and cells[2] == "1" and cells[4].replace(".", "").isdigit():
        rows.append((cells[0], cells[1], float(cells[4])))
labels = list(dict.fromkeys(r[0] for r in rows))
paths = ["in-process", "pamtester"]
colors = {"in-process": "#4c78a8", "pamtester": "#f58518"}
vmax = max(r[2] for r in rows) if rows else 1
W, left, bar, gap = 760, 230, 14, 10
H = 60 + len(labels) * (2 * bar + gap)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       '<text x="10" y="20" font-size="14">Median wall time per login (ms), lower is better</text>']
y = 40
for label in labels:
    out.append(f'<text x="10" y="{y + bar + 4}">{label}</text>')
    for i, p in enumerate(paths):
        v = next((r[2] for r in rows if r[0] == label and r[1] == p), None)
        if v is None:
            continue
        w = max(1, (W - left - 80) * v / vmax)
        out.append(f'<rect x="{left}" y="{y + i * bar}" width="{w:.1f}" height="{bar - 2}" fill="{colors[p]}"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + i * bar + bar - 4}">{v:.2f}</text>')
    y += 2 * bar + gap
for i, p in enumerate(paths):
    out.append(f'<rect x="{left + i * 160}" y="{H - 16}" width="10" height="10" fill="{colors[p]}"/>')
    out.append(f'<text x="{left + i * 160 + 14}" y="{H - 7}">{p if p != "pamtester" else "process per login (pamtester)"}</text>')
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
