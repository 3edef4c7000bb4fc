"""Writes assets/generator/experiments.md, the generator's results log, from what
bench/generator/stage.sh measured: one row per stage (reports/NAME.stage.json for how it
was trained, reports/NAME.json and .txt for `tinycats eval generator`)."""
import json
import pathlib
import re

here = pathlib.Path(__file__).parent
reports = here / "reports"
out = here.parent.parent / "assets" / "generator" / "experiments.md"


def interval(m):
    return f"{m['value']:.3g} [{m['low']:.3g}, {m['high']:.3g}]"


def hms(seconds):
    return f"{seconds // 60} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def where(stage):
    """Where a stage trained: the CPU's threads, or the GPU device the log names."""
    device = stage.get("device", "Cpu")
    return f"{stage['threads']} CPU threads" if device == "Cpu" else f"{device} (a lent GPU)"


rows, notes, yardsticks, teacher_rows, teacher_yardsticks = [], [], set(), [], set()
for path in sorted(reports.glob("*.stage.json")):
    stage = json.loads(path.read_text())
    name = stage["name"]
    report_path = reports / f"{name}.json"
    if not report_path.exists():
        continue
    report = json.loads(report_path.read_text())
    text = (reports / f"{name}.txt").read_text()
    fidelity = re.search(r"breed fidelity: ([\d.]+)% \(mean over breeds\)", text).group(1)
    yardsticks.add((interval(report["fd_real_real"]), interval(report["seams_real"])))
    if "steps" in stage:
        trained = (
            f"{stage['steps']:,} × {stage['batch']} = {stage['images']:,} images from "
            f"`{stage['init']}`, lr {stage['lr']:g}; {hms(stage['wall_s'])} on "
            f"{where(stage)} ({stage['median_images_per_s']:.0f} images/s median); {stage['precision'].split(' (')[0]}; EMA decay at the end "
            f"{stage['ema_final_decay']:.4f}"
        )
        note = f"- **{name}**: `{stage['command']}`."
        sheet = f"../../bench/generator/sheets/{name}.png"
    else:
        trained = f"the bundled weights (`{stage['model']}`), not trained here"
        sheet = "samples.png"  # stage.sh draws it byte for byte
        note = f"- **{name}**: the starting point."
    teacher_path = reports / f"{name}.teacher.json"
    if teacher_path.exists():
        t = json.loads(teacher_path.read_text())
        teacher_yardsticks.add(interval(t["fd_real_real"]))
        teacher_rows.append(
            f"| {name} | {interval(report['fd'])} | {interval(t['fd'])} "
            f"| {interval(report['recall'])} | {interval(t['recall'])} "
            f"| {interval(report['precision'])} | {interval(t['precision'])} |"
        )
    seen = reports / f"{name}.seen.txt"
    if seen.exists():
        note += " Contact sheet: " + " ".join(seen.read_text().split())
    notes.append(note)
    rows.append(
        f"| {name} | {trained} | {fidelity} % | {interval(report['fd'])} "
        f"| {interval(report['precision'])} | {interval(report['recall'])} "
        f"| {interval(report['sharpness'])} | {interval(report['seams'])} "
        f"| [sheet]({sheet}) |"
    )

(fd_rr, seams_rr), = yardsticks or {("?", "?")}
cpus = sorted({json.loads(p.read_text())["cpu"] for p in reports.glob("*.stage.json")})
out.write_text(
    "# The generator's results log\n\n"
    "One row per training stage of the bundled generator, written by "
    "`python3 bench/generator/table.py` from what `bash bench/generator/stage.sh NAME` "
    "measured; a row is committed when it is measured, whether it won or lost. Every row is "
    "`tinycats eval generator --per-breed 50` at the bundled default sampler (fp32 on ONNX "
    "Runtime; Heun, 10 steps, guidance 3 at t in [0.3, 1]; seed 0; 200 bootstrap resamples; "
    "95 % intervals in brackets), so rows compare with each other and with the first. "
    f"Yardsticks, the same in every row: Fréchet distance of real SynthCats against real "
    f"SynthCats {fd_rr}; patch-seam ratio of real SynthCats {seams_rr}. "
    f"Machines: {', '.join(cpus)}.\n\n"
    "The bundled weights are replaced only by a stage that beats them on Fréchet distance "
    "and recall with intervals that do not overlap, at breed fidelity ≥ 98 %, after its "
    "contact sheet has been looked at.\n\n"
    "| stage | trained | breed fidelity | Fréchet distance | precision | recall "
    "| sharpness (gen / real) | patch seams | contact sheet |\n"
    "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
    + (
        "The same samples in the REPA teacher's feature space (`bench/generator/teacher`, "
        "a second SynthCats feature network: the metric's recipe, another seed), beside the "
        "metric's (`assets/features`). A stage aligned to the teacher that gains in the "
        "teacher's space only has learnt the teacher's features, not better cats. Fréchet "
        "distance of real against real SynthCats in the teacher's space: "
        f"{', '.join(sorted(teacher_yardsticks))}.\n\n"
        "| stage | Fréchet distance, metric | Fréchet distance, teacher | recall, metric "
        "| recall, teacher | precision, metric | precision, teacher |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(teacher_rows) + "\n\n"
        if teacher_rows
        else ""
    )
    + "What each stage ran, and what its contact sheet shows (4 samples per breed, one breed "
    "per column, in the order of `class_names`):\n\n" + "\n".join(notes) + "\n"
    + ("\n" + (here / "conclusions.md").read_text() if (here / "conclusions.md").exists() else "")
)
print(f"wrote {out}")
