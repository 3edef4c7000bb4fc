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
)  # for a row whose machine was not recorded
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
# The commit 'one seed derivation' (2026-12-06) changed the real reference set and the
# bootstrap's draws; its real-vs-real yardstick tells a row measured since from one before.
# Rows and names by yardstick, in the order of their first row.
rows, names = {}, {}
for path in sorted(reports.glob("*.json"), key=lambda p: order.index(p.stem) if p.stem in order else len(order)):
    name = path.stem
    report = json.loads(path.read_text())
    yardstick = interval(report["fd_real_real"])
    text = (reports / f"{name}.txt").read_text()
    fidelity = re.search(r"breed fidelity: ([\d.]+)% \(mean over breeds\)", text).group(1)
    settings = re.search(r"\((50 per breed, .*)\) in [\d.]+ s on", text).group(1)
    precision = re.search(r"\(ONNX Runtime, ([\w-]+)", text).group(1)
    shown = re.sub(r", (\d+ network evaluations per image|seed \d+)", "", settings.split(", ", 1)[1])
    shown = shown.replace("autoguided by target/guides/cpu-gen", "autoguided by the CPU-trained generator")
    shown = shown.replace("autoguided by target/guides/mid4u", "autoguided by the unconditional four-block guide")
    shown = shown.replace("autoguided by target/guides/mid4", "autoguided by the four-block guide")
    shown = re.sub(r"autoguided by target/guides/skip(\d)u", r"autoguided by the unconditional bundled model without block \1", shown)
    shown = re.sub(r"autoguided by target/guides/skip(\d)", r"autoguided by the bundled model without block \1", shown)
    seams = interval(report["seams"]) if "seams" in report else "–"
    rows.setdefault(yardstick, []).append(
        f"| {precision}, {shown} | {evaluations(settings)} | {fidelity} % | {interval(report['fd'])} "
        f"| {interval(report['precision'])} | {interval(report['recall'])} "
        f"| {interval(report['sharpness'])} | {seams} | {times.get(name, '?')} s |"
    )
    names.setdefault(yardstick, []).append(name)
    if "seams_real" in report:
        seams_real = interval(report["seams_real"])

header = (
    "| graph, sampler | network evaluations | breed fidelity | Fréchet distance | precision | recall "
    "| sharpness (gen / real) | patch seams | time |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)
# Rows sweep.sh measured before it recorded the machine were measured on the Xeon whose name
# the first version of this table printed.
machines = {name: "Intel(R) Xeon(R) Processor" for name in order}
if (reports / "machines.txt").exists():
    machines.update(l.split("\t", 1) for l in (reports / "machines.txt").read_text().splitlines())
sections = []
for index, yardstick in enumerate(rows):
    cpus = sorted({machines.get(n, cpu) for n in names[yardstick]})
    since = index > 0
    sections.append(
        f"## {'Since' if since else 'Before'} the commit 'one seed derivation'\n\n"
        + (
            "Measured since the commit 'one seed derivation' (2026-12-06), whose real reference "
            "set mirrors other images and whose bootstrap draws other resamples: these rows "
            "compare with each other and with the bundled default measured again among them "
            "(the rows above measured it at Fréchet distance 43.2, these at 43.9, the same as "
            "assets/generator/experiments.md). "
            if since else
            "Measured before the commit 'one seed derivation' (2026-12-06): these rows compare "
            "with each other. "
        )
        + f"Real-vs-real Fréchet distance, the yardstick: {yardstick}. "
        f"Machine: {', '.join(cpus)}, 2 threads.\n\n" + header + "\n".join(rows[yardstick]) + "\n"
    )

out = here / "sweep.md"
out.write_text(
    "# Sampler settings on the bundled generator\n\n"
    "Measured by `bash bench/sampler/sweep.sh` (each row `tinycats eval generator --per-breed 50` "
    "with the settings shown, seed 0, 200 bootstrap resamples; 95 % intervals in brackets) and "
    "tabulated by `python3 bench/sampler/table.py`. The patch-seam ratio of real SynthCats: "
    f"{seams_real} (rows measured before the seam measure existed show –). Guidance acts at t "
    "in [from, to] where shown, else at every step (t = 0 is the noise, 1 the data). An "
    "autoguided row's guide draws the breed too, in place of the unconditional branch. Cost: "
    "network evaluations per image (a guided evaluation is two). Time: the whole evaluation, "
    "650 samples, on a machine that may have been building code, so only a rough guide.\n\n"
    + "\n".join(sections)
)
print(f"wrote {out}")
