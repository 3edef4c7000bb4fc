"""Writes bench/sampler/sweep.md from the rows bench/sampler/sweep.sh measured (the JSON
quality reports and the printed breed fidelity, settings and time of `tinycats eval
generator`)."""
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


def evaluations(settings):
    """Network evaluations per image: printed by eval since it counts them; rows measured
    before guided every step, two per velocity evaluation."""
    if m := re.search(r"(\d+) network evaluations per image", settings):
        return int(m.group(1))
    steps, solver = re.search(r"(\d+) steps (\w+)", settings).groups()
    return 2 * (int(steps) if solver == "euler" else 2 * int(steps) - 1)


# Rows in the order sweep.sh lists them.
order = re.findall(r"^row (\S+)", (here / "sweep.sh").read_text(), re.M)
rows, yardsticks = [], set()
for path in sorted(reports.glob("*.json"), key=lambda p: order.index(p.stem) if p.stem in order else len(order)):
    name = path.stem
    report = json.loads(path.read_text())
    yardsticks.add(interval(report["fd_real_real"]))
    text = (reports / f"{name}.txt").read_text()
    fidelity = re.search(r"breed fidelity: ([\d.]+)% \(mean over breeds\)", text).group(1)
    settings = re.search(r"\((50 per breed, .*)\) in [\d.]+ s on", text).group(1)
    precision = re.search(r"\(ONNX Runtime, ([\w-]+)", text).group(1)
    shown = re.sub(r", (\d+ network evaluations per image|seed \d+)", "", settings.split(", ", 1)[1])
    shown = shown.replace("autoguided by target/guides/cpu-gen", "autoguided by the CPU-trained generator")
    seams = interval(report["seams"]) if "seams" in report else "–"
    rows.append(
        f"| {precision}, {shown} | {evaluations(settings)} | {fidelity} % | {interval(report['fd'])} "
        f"| {interval(report['precision'])} | {interval(report['recall'])} "
        f"| {interval(report['sharpness'])} | {seams} | {times.get(name, '?')} s |"
    )
    if "seams_real" in report:
        seams_real = interval(report["seams_real"])

out = here / "sweep.md"
out.write_text(
    "# Sampler settings on the bundled generator\n\n"
    "Measured by `bash bench/sampler/sweep.sh` (each row `tinycats eval generator --per-breed 50` "
    "with the settings shown, seed 0, 200 bootstrap resamples; 95 % intervals in brackets) and "
    f"tabulated by `python3 bench/sampler/table.py`, on {cpu}, 2 threads. The real-vs-real "
    f"Fréchet distance, the yardstick: {' / '.join(sorted(yardsticks))} "
    f"({'the same in every row' if len(yardsticks) == 1 else 'differs between rows'}); "
    f"the patch-seam ratio of real SynthCats: {seams_real} (rows measured before the seam "
    "measure existed show –). Guidance acts at t in [from, to] where shown, else at every "
    "step (t = 0 is the noise, 1 the data). Cost: network evaluations per image (a guided "
    "evaluation is two). Time: the whole evaluation, 650 samples, on a machine also building "
    "code, so only a rough guide. Every row was measured before commit 'one seed derivation' "
    "(2026-12-06), whose real reference set mirrors other images and whose bootstrap draws other "
    "resamples: the rows compare with each other; a report made since differs from its row "
    "within the intervals (the bundled default's row: Fréchet distance 43.2 then, 43.9 now, "
    "assets/generator/experiments.md).\n\n"
    "| graph, sampler | network evaluations | breed fidelity | Fréchet distance | precision | recall "
    "| sharpness (gen / real) | patch seams | time |\n"
    "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
)
print(f"wrote {out}")
