"""Writes bench/sampler/sweep.md from the rows bench/sampler/sweep.sh measured (the JSON
quality reports and the printed breed fidelity and time of `tinycats eval generator`)."""
import json
import pathlib
import platform
import re

here = pathlib.Path(__file__).parent
reports = here / "reports"
cpu = next(
    (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
    platform.processor(),
)
times = dict(l.rsplit(" ", 2)[:2] for l in (reports / "times.txt").read_text().splitlines())


def interval(m):
    return f"{m['value']:.3g} [{m['low']:.3g}, {m['high']:.3g}]"


rows, yardsticks = [], set()
for path in sorted(reports.glob("*.json"), key=lambda p: p.stat().st_mtime):
    name = path.stem
    report = json.loads(path.read_text())
    yardsticks.add(interval(report["fd_real_real"]))
    text = (reports / f"{name}.txt").read_text()
    fidelity = re.search(r"breed fidelity: ([\d.]+)% \(mean over breeds\)", text).group(1)
    settings = re.search(r"\((50 per breed, [^)]*)\) in", text).group(1)
    precision = re.search(r"\(ONNX Runtime, ([\w-]+)", text).group(1)
    rows.append(
        f"| {precision}, {settings.split(', ', 1)[1]} | {fidelity} % | {interval(report['fd'])} "
        f"| {interval(report['precision'])} | {interval(report['recall'])} "
        f"| {interval(report['sharpness'])} | {times.get(name, '?')} s |"
    )

out = here / "sweep.md"
out.write_text(
    "# Sampler settings on the bundled generator\n\n"
    "Measured by `bash bench/sampler/sweep.sh` (each row `tinycats eval generator --per-breed 50` "
    "with the settings shown, seed 0, 200 bootstrap resamples; 95 % intervals in brackets) and "
    f"tabulated by `python3 bench/sampler/table.py`, on {cpu}, 2 threads. The real-vs-real "
    f"Fréchet distance, the yardstick: {' / '.join(sorted(yardsticks))} "
    f"({'the same in every row' if len(yardsticks) == 1 else 'differs between rows'}). "
    "Time: the whole evaluation, 650 samples.\n\n"
    "| graph, sampler | breed fidelity | Fréchet distance | precision | recall | sharpness (gen / real) | time |\n"
    "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
)
print(f"wrote {out}")
