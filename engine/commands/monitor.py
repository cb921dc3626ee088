"""``mlready monitor``: production quality per time window, offline, from capture files and late labels (the
feedback records in the capture files, a label file, or both).

The computation is :mod:`mlready.engine.actions.monitor`; this command prints the verdict and maps it to the
exit code: 0 the production gates pass in every window with enough labelled rows, 1 a window fails one (the
retrain trigger), 2 bad input (named by file, row and column; nothing written).
"""

from __future__ import annotations

import click
from mlready.engine.commands.common import overrides_argument, project_option


@click.command("monitor")
@project_option
@overrides_argument
@click.option("--capture", required=True, type=click.Path(path_type=str),
              help="A capture JSONL file or a folder of them (the server's or `mlready score --capture`'s); the "
                   "feedback records in them (the labels the server's feedback API accepted) are labels.")
@click.option("--labels", default=None, type=click.Path(path_type=str),
              help="CSV/Parquet: request_id, the spec's target column, [row] (0-based, for multi-row requests). "
                   "Optional with feedback records in --capture; a label for the same request and row in both: "
                   "the file's wins (the other counts as a duplicate).")
@click.option("--window", default="1h", show_default=True, help="Time window of the report (90s, 30min, 1h, 1d).")
@click.option("--min-rows", type=click.IntRange(1, None), default=30, show_default=True,
              help="Labelled rows a window needs before its gates count.")
@click.option("--out", "report_dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="Where monitor.json and monitor.html go. [default: <project>/monitor]")
@click.option("--build-dir", "build_dir", default=None, type=click.Path(file_okay=False, path_type=str),
              help="The build directory [default: <project>/build].")
def command(project: str, overrides: tuple[str, ...], capture: str, labels: str | None, window: str,
            min_rows: int, report_dir: str | None, build_dir: str | None) -> None:
    """Score captured predictions against late labels and check drift, per time window.

    The labels: the feedback records in the capture files (written by the server, serving.capture and
    serving.feedback on, for every label its feedback API accepted), a --labels file, or both. The production
    gates are the spec's model-metric readiness.gates (cv, parity and champion gates are build-only) and
    readiness.sample.gates (drift.psi.max, ...), drift measured against data.train. Exit 1 when a window with at
    least --min-rows labelled rows fails a gate; 2 on bad input or no labels at all.

    \b
    Examples:
      mlready monitor -C . --capture /var/capture --window 1d
      mlready monitor -C . --capture /var/capture --labels labels.csv --window 1d
      mlready monitor -C . --capture captured.jsonl --labels labels.parquet --out monitor-report
    """
    from mlready.engine import api
    from mlready.engine.errors import MlreadyError

    class GatesFailed(MlreadyError):
        pass

    report, paths = api.monitor(project, capture, labels, window=window, min_rows=min_rows, out=build_dir,
                                report_dir=report_dir, overrides=list(overrides))
    j = report["join"]
    source = f", {j['feedback']:,} from feedback records" if j.get("feedback") else ""
    click.echo(f"{j['used']:,} labelled prediction{'' if j['used'] == 1 else 's'} ({j['labels']:,} "
               f"label{'' if j['labels'] == 1 else 's'}{source}: {j['not_captured']:,} not "
               f"captured, {j['unusable']:,} unusable, {j['duplicate']:,} duplicate) in {len(report['windows'])} "
               f"window{'' if len(report['windows']) == 1 else 's'} of "
               f"{report['window']}", err=True)
    for w in report["windows"]:
        state = "not gated" if not w["gated"] else "pass" if w["passed"] else "FAIL " + ", ".join(
            g["gate"] + (f" ({g['value']:.4g})" if g["value"] is not None else f" ({g['reason']})")
            for g in w["gates"] if not g["passed"])
        click.echo(f"  {w['start']}  {w['rows']:>7,} rows  {state}", err=True)
        drifted = sorted((f for f in w["drift"] if f["psi_level"] == "significant"), key=lambda f: -f["psi"])
        if drifted:
            worst = ", ".join(f"{f['feature']} {f['psi']:.2f}" for f in drifted[:3])
            above = f"PSI > {report['psi_significant']:g}"
            click.echo(f"      drift: {len(drifted)} of {len(w['drift'])} features at {above} ({worst})"
                       + (f"; {w['drift_note']}" if w.get("drift_note") else ""), err=True)
    click.echo(f"report: {paths[0]}, {paths[1]}", err=True)
    if not report["passed"]:
        raise GatesFailed(f"production gates fail: {', '.join(report['failing_gates'])} in "
                          f"{len(report['failing_windows'])} window(s)")
