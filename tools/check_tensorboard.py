"""Reads a TensorBoard log directory written by typed-nn with TensorBoard's own readers and
prints what TensorBoard sees: each run, its scalar tags with their steps and values, and its
histograms. Exits non-zero if a run or tag Keras 3 would write is missing.

    bash tools/python_env.sh                       # once: the venv with tensorboard
    cargo run --release --example wine             # writes logs/wine
    tools/.venv/bin/python tools/check_tensorboard.py logs/wine
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator  # noqa: E402


def main(log_dir):
    problems = []
    for run in ("train", "validation"):
        path = os.path.join(log_dir, run)
        if not os.path.isdir(path):
            problems.append(f"no {run} run")
            continue
        # The classic reader: scalars and histograms as written.
        acc = event_accumulator.EventAccumulator(path, size_guidance={"scalars": 0, "histograms": 0})
        acc.Reload()
        tags = acc.Tags()
        print(f"run {run}: {len(tags['scalars'])} scalar tags, {len(tags['histograms'])} histogram tags")
        for tag in sorted(tags["scalars"]):
            events = acc.Scalars(tag)
            shown = ", ".join(f"{e.step}:{e.value:.4g}" for e in events[:3])
            more = f", ... ({len(events)} steps)" if len(events) > 3 else ""
            print(f"  scalar {tag}: {shown}{more}")
        for tag in sorted(tags["histograms"]):
            events = acc.Histograms(tag)
            h = events[-1].histogram_value
            print(f"  histogram {tag}: {len(events)} steps, last at {events[-1].step}: "
                  f"{int(h.num)} values in [{h.min:.3g}, {h.max:.3g}]")
        # The reader TensorBoard's data provider uses: values as tensors with plugin names.
        plugin = plugin_event_accumulator.EventAccumulator(path, size_guidance={"tensors": 0})
        plugin.Reload()
        by_plugin = {}
        for tag in plugin.Tags()["tensors"]:
            name = plugin.SummaryMetadata(tag).plugin_data.plugin_name
            by_plugin.setdefault(name, []).append(tag)
        print(f"  as TensorBoard's plugins see it: " + ", ".join(f"{k}: {len(v)} tags" for k, v in sorted(by_plugin.items())))
        wanted = ["epoch_loss"] + (["epoch_learning_rate"] if run == "train" else [])
        for tag in wanted:
            if tag not in tags["scalars"]:
                problems.append(f"{run}: no {tag}")
    if problems:
        sys.exit("missing: " + "; ".join(problems))
    print("ok: TensorBoard reads every run and tag")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
