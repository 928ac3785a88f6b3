#!/usr/bin/python3
"""Markdown tables of a `make bench` run, for docs/performance.md.

    /usr/bin/python3 bench/report.py build/bench/results.csv > tables.md
    /usr/bin/python3 bench/report.py RESULTS.csv --into docs/performance.md

With --into, the tables replace what stands between the lines
"<!-- bench tables -->" and "<!-- end of bench tables -->" of that file.

One table per loss and graph: a row per (N, K), a column per type and
thread count; each cell holds the ratio to the unit U, libpal's time and
PyTorch's speedup (PyTorch time / libpal time), and the cores other
processes took meanwhile when that was a quarter of a core or more. Then
the streamed SimCLR runs with their peak memory, the sparse graphs'
growth from N / 4 to N, and the knowledge store.
"""

import csv
import sys

LOSSES = {"vic2": "VIC^2", "bt": "BarlowTwins", "simclr": "SimCLR"}
GRAPHS = [
    ("dense-sym", "dense symmetric G"),
    ("dense-ns", "dense non-symmetric G"),
    ("labels10", "label graph, C = 10"),
    ("ssl", "SSL graph (2 views)"),
    ("csr16", "sparse CSR G, 16 non-zeros per row"),
]
COLUMNS = [("f32", "1"), ("f32", "2"), ("f64", "1"), ("f64", "2")]


def seconds(s):
    s = float(s)
    if s < 1e-3:
        return "%.0f us" % (s * 1e6)
    if s < 1.0:
        return "%.3g ms" % (s * 1e3)
    return "%.3g s" % s


def cell(r):
    if r is None:
        return ""
    if not r["libpal_s"] or r["libpal_s"] == "nan":
        return "not verified"
    parts = []
    if r["ratio_u"] and r["ratio_u"] != "nan":
        verdict = {"pass": "", "miss": " (miss)"}.get(r["verdict"], "")
        parts.append("**%.3g U**%s" % (float(r["ratio_u"]), verdict))
    parts.append(seconds(r["libpal_s"]))
    if r["speedup"]:
        parts.append("PyTorch %.3gx" % float(r["speedup"]))
    other = float(r.get("other_cores") or 0)
    if other >= 0.25:
        parts.append("*other load %.1f*" % other)
    return ", ".join(parts)


BEGIN = "<!-- bench tables -->"
END = "<!-- end of bench tables -->"


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and
                                       sys.argv[2] != "--into"):
        sys.exit("usage: report.py RESULTS.csv [--into FILE.md]")
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f))
    out = []
    for loss, lname in LOSSES.items():
        for graph, gname in GRAPHS:
            sel = [r for r in rows if r["loss"] == loss and
                   r["graph"] == graph and r["section"] in ("grid", "large")]
            if not sel:
                continue
            target = float(sel[0]["target_u"] or 0)
            title = "%s, %s" % (lname, gname)
            if target > 0:
                title += " (target <= %g U)" % target
            out.append("#### " + title + "\n")
            out.append("| N | K | " + " | ".join(
                "%s, %s thr" % c for c in COLUMNS) + " |")
            out.append("|---:|---:|" + "---|" * len(COLUMNS))
            sizes = sorted({(int(r["n"]), int(r["k"])) for r in sel})
            for n, k in sizes:
                cells = []
                for t, th in COLUMNS:
                    m = [r for r in sel if int(r["n"]) == n and
                         int(r["k"]) == k and r["type"] == t and
                         r["threads"] == th]
                    cells.append(cell(m[0] if m else None))
                out.append("| %d | %d | %s |" % (n, k, " | ".join(cells)))
            out.append("")

    st = [r for r in rows if r["section"] == "stream"]
    if st:
        out.append("#### SimCLR, streamed tiles, label graph C = 10 "
                   "(target <= 3 U, peak memory <= 3 size(Z) + 64 MiB)\n")
        out.append("| type | threads | N | K | U | libpal | ratio | "
                   "peak resident | limit | note |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in st:
            if r["verdict"] == "skipped":
                out.append("| %s | %s | %s | %s | | | | | | %s |" % (
                    r["type"], r["threads"], r["n"], r["k"], r["note"]))
                continue
            out.append("| %s | %s | %s | %s | %s | %s | **%.3g U** | "
                       "%s MiB | %s MiB | %s |" % (
                           r["type"], r["threads"], r["n"], r["k"],
                           seconds(r["unit_s"]), seconds(r["libpal_s"]),
                           float(r["ratio_u"]), r["peak_rss_mib"],
                           r["rss_limit_mib"], r["note"]))
        out.append("")

    sp = [r for r in rows if r["graph"] == "csr16" and r["libpal_s"] and
          r["libpal_s"] != "nan"]
    ns = sorted({int(r["n"]) for r in sp})
    if len(ns) == 2:
        out.append("#### Sparse CSR G, 16 non-zeros per row: time from "
                   "N = %d to N = %d (target <= 4.4x)\n" % tuple(ns))
        out.append("| loss | type | threads | N = %d | N = %d | growth |"
                   % tuple(ns))
        out.append("|---|---|---:|---:|---:|---:|")
        for loss in ("vic2", "bt"):
            for t, th in COLUMNS:
                pair = [[r for r in sp if r["loss"] == loss and
                         r["type"] == t and r["threads"] == th and
                         int(r["n"]) == n] for n in ns]
                if all(pair):
                    a = float(pair[0][0]["libpal_s"])
                    b = float(pair[1][0]["libpal_s"])
                    out.append("| %s | %s | %s | %s | %s | **%.2fx** |" % (
                        LOSSES[loss], t, th, seconds(a), seconds(b), b / a))
        out.append("")

    ks = [r for r in rows if r["section"] == "store"]
    if ks:
        out.append("#### Knowledge store (target >= 5e6 answers/s)\n")
        out.append("| stream | calls | items | median time | "
                   "answers per second |")
        out.append("|---|---|---:|---:|---:|")
        for r in ks:
            calls = {"batch": "pal_store_answer_batch",
                     "answer": "pal_store_answer, one per answer"}
            out.append("| %s | %s | %s | %s | **%s** |" % (
                r["graph"], calls.get(r["loss"], r["loss"]), r["n"],
                seconds(r["libpal_s"]) if r["libpal_s"] else "",
                r["note"]))
        out.append("")
    text = "\n".join(out)
    if len(sys.argv) == 2:
        print(text)
        return
    with open(sys.argv[3]) as f:
        doc = f.read()
    a, b = doc.find(BEGIN), doc.find(END)
    if a < 0 or b < a:
        sys.exit("report.py: %s has no %s ... %s block" % (sys.argv[3],
                                                           BEGIN, END))
    doc = doc[:a + len(BEGIN)] + "\n\n" + text.rstrip() + "\n\n" + doc[b:]
    with open(sys.argv[3], "w") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
