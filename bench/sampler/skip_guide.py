"""Writes a weak guide for autoguidance by skipping blocks of the bundled generator.

The guide is the bundled model with the blocks named on the command line left out
(each DiT block is a residual update, so leaving one out is the identity in its place):
a worse model of the same family that needs no training, as in skip-layer guidance.
The folder it writes holds config.json (depth lowered, the provenance's command saying which
blocks went)
and model.safetensors (the remaining blocks renumbered); `tinycats eval generator
--guide-model FOLDER` exports its ONNX graph.

    PYTHONPATH=.tinycats/py python3 bench/sampler/skip_guide.py OUT [BLOCK ...] [--unconditional] [--source DIR]

With --unconditional every breed's label embedding is replaced by the null label's (the one
classifier-free guidance drops labels to), so the guide is the weakened model's
unconditional branch: guiding by it pushes away from both the weaker model and the
unconditional one, at the cost of one reference evaluation, as in classifier-free guidance.
--source takes another model folder than the bundled generator (a guide trained by
bench/sampler/guides/train.sh, say); with --unconditional no block needs to go.
"""

import argparse
import json
import os
import sys

from safetensors.numpy import load_file, save_file

SOURCE = "assets/generator"


def main():
    parser = argparse.ArgumentParser(description="A weak guide cut from a generator's weights.")
    parser.add_argument("out", help="the guide's folder")
    parser.add_argument("blocks", nargs="*", type=int, help="blocks to leave out")
    parser.add_argument("--unconditional", action="store_true", help="every label embedding the null label's")
    parser.add_argument("--source", default=SOURCE, help=f"the model folder to cut from (default {SOURCE})")
    args = parser.parse_args()
    out, source, unconditional = args.out, args.source, args.unconditional
    skipped = sorted(set(args.blocks))
    config = json.load(open(os.path.join(source, "config.json")))
    depth = config["depth"]
    if (not skipped and not unconditional) or any(b < 0 or b >= depth for b in skipped):
        parser.error(f"blocks to skip must lie in 0..{depth - 1} (or pass --unconditional), got {args.blocks}")
    kept = [b for b in range(depth) if b not in skipped]
    tensors = load_file(os.path.join(source, "model.safetensors"))
    guide = {}
    for name, value in tensors.items():
        if name.startswith("blocks."):
            _, index, rest = name.split(".", 2)
            if int(index) in skipped:
                continue
            name = f"blocks.{kept.index(int(index))}.{rest}"
        guide[name] = value
    if unconditional:
        table = guide["y_embedder.embedding_table.weight"]
        null = config["num_classes"]  # the row after the classes: the dropped label's
        if table.shape[0] != null + 1:
            parser.error(f"{source}: expected {null + 1} label embeddings (the classes and the null label), got {table.shape[0]}")
        guide["y_embedder.embedding_table.weight"] = table[null:null + 1].repeat(null + 1, axis=0)
    config["depth"] = len(kept)
    # The weights are the source's: its steps, revision and date stay; the command says how
    # the guide was cut from them.
    changes = ([f"blocks {skipped} left out"] if skipped else []) + (
        ["every label embedding set to the null label's"] if unconditional else []
    )
    config["provenance"]["command"] = (
        f"{config['provenance']['command']}; then {' and '.join(changes)} by "
        f"python3 bench/sampler/skip_guide.py {' '.join(sys.argv[1:])}"
    )
    os.makedirs(out, exist_ok=True)
    save_file(guide, os.path.join(out, "model.safetensors.partial"))
    os.replace(os.path.join(out, "model.safetensors.partial"), os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json.partial"), "w") as f:
        json.dump(config, f, indent=2)
    os.replace(os.path.join(out, "config.json.partial"), os.path.join(out, "config.json"))
    print(f"{out}: blocks {kept} of {source} ({len(guide)} tensors)")


if __name__ == "__main__":
    main()
