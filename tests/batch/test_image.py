"""The image's ``score`` entrypoint (generators/docker/README.md, "Batch scoring entrypoint"): ``podman run
<image> score --model ... --input <mounted Parquet> --output <mounted folder>`` as the image's non-root user on a
read-only root filesystem gives the same predictions as ``mlready score`` on the same file, row for row, for the
quickstart (one tensor input) and the mixed-type example (one typed input per column, text and booleans)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from mlready.engine import api
from mlready.engine.actions import docker_engine
from mlready.engine.cli import main
from mlready.generators._shared.facts import score_args

from tests.support.containers import base_image, docker_client, podman  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.container, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UID = 10001  # target.docker.uid's default: the image's user


def _overrides(base: str) -> list[str]:
    return ["tracking.enabled=false", "+target=docker", f"target.docker.base_image={base}", "target.docker.scoring=true"]


@pytest.fixture(scope="module", params=["quickstart", "tabular"])
def image(request, tmp_path_factory, docker_client, base_image):  # noqa: F811  (fixtures)
    """(project dir, spec, image id): the example built with the score entrypoint, its image built and tagged."""
    name = request.param
    root = tmp_path_factory.mktemp(f"image-{name}") / name
    shutil.copytree(EXAMPLES / name, root, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
    overrides = _overrides(base_image)
    result = api.build(root, overrides, run_hooks=False)
    built = docker_engine.build(docker_client, result.out_dir / "docker", f"localhost/mlready-test-score/{name}:1")
    return root, result.spec, built.id


def _table(project: Path) -> pd.DataFrame:
    """The example's evaluation rows with a key column, as Parquet would carry them."""
    frame = pd.read_csv(project / "data" / "eval.csv")
    frame.insert(0, "row_id", [f"r{i:04d}" for i in range(len(frame))])
    return frame


def _writable_by_the_image_user(folder: Path) -> Path:
    """The documented way: the output folder owned by the image's numeric user (as root), else open to all
    (rootless podman maps the container's uid to a subordinate id the test cannot chown to)."""
    folder.mkdir()
    if os.geteuid() == 0:
        os.chown(folder, UID, UID)
    else:
        folder.chmod(0o777)
    return folder


def _run(image_id: str, data: Path, out: Path, *args: str) -> tuple[int, str]:
    proc = podman("run", "--rm", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "all",
                  "--security-opt", "no-new-privileges", "--network", "none",
                  "-v", f"{data}:/data/in:ro", "-v", f"{out}:/data/out", image_id, *args, check=False, timeout=300)
    return proc.returncode, proc.stderr


def test_container_scores_equal_mlready_score_row_for_row(image, tmp_path, capsys):
    project, spec, image_id = image
    data = tmp_path / "in"
    data.mkdir()
    frame = _table(project)
    frame.to_parquet(data / "in.parquet", index=False)
    out = _writable_by_the_image_user(tmp_path / "out")

    args = score_args(spec, "/data/in/in.parquet", "/data/out/preds.parquet", keep=["row_id"])
    code, err = _run(image_id, data, out, *args)
    assert code == 0, err
    assert f"scored {len(frame)} of {len(frame)} rows" in err
    assert sorted(p.name for p in out.iterdir()) == ["preds.parquet"]  # no temporary file left
    assert out.joinpath("preds.parquet").stat().st_uid == (UID if os.geteuid() == 0 else out.stat().st_uid)

    local = tmp_path / "local.parquet"
    assert main(["score", "-C", str(project), "--no-progress", "-i", str(data / "in.parquet"), "-o", str(local),
                 "--keep", "row_id"]) == 0
    capsys.readouterr()
    got = pq.read_table(out / "preds.parquet").to_pandas()
    want = pq.read_table(local).to_pandas()
    assert list(got.columns) == list(want.columns) and list(got.columns)[:2] == ["row_id", "label"]
    assert len(got) == len(frame)
    assert got["row_id"].tolist() == frame["row_id"].tolist()
    assert got["label"].tolist() == want["label"].tolist()
    numbers = [c for c in want.columns if c.startswith("probability_")]
    assert numbers  # both examples are classifiers with class names
    np.testing.assert_allclose(got[numbers].to_numpy(), want[numbers].to_numpy(), rtol=0, atol=1e-6)


def test_bad_input_exits_1_naming_the_file_and_writes_nothing(image, tmp_path):
    project, spec, image_id = image
    data = tmp_path / "in"
    data.mkdir()
    _table(project).drop(columns=[_table(project).columns[1]]).to_parquet(data / "in.parquet", index=False)
    out = _writable_by_the_image_user(tmp_path / "out")
    code, err = _run(image_id, data, out, *score_args(spec, "/data/in/in.parquet", "/data/out/preds.parquet"))
    assert code == 1, err
    assert "error: /data/in/in.parquet: missing column" in err
    assert list(out.iterdir()) == []


def test_an_unwritable_output_folder_is_named(image, tmp_path):
    project, spec, image_id = image
    data = tmp_path / "in"
    data.mkdir()
    _table(project).to_parquet(data / "in.parquet", index=False)
    out = tmp_path / "out"
    out.mkdir(mode=0o755)  # owned by the test's user, not the image's
    code, err = _run(image_id, data, out, *score_args(spec, "/data/in/in.parquet", "/data/out/preds.parquet"))
    assert code == 1, err
    assert err.strip().splitlines()[-1] == (f"error: /data/out: this user (uid {UID}) cannot write files in this "
                                            "folder; make it writable for it (chown, or the pod's "
                                            "securityContext.fsGroup)")
    assert list(out.iterdir()) == []


def test_bad_rows_skip_writes_the_side_file_from_a_csv_folder(image, tmp_path):
    project, spec, image_id = image
    data = tmp_path / "in"
    data.mkdir()
    frame = _table(project)
    frame.iloc[:10].to_csv(data / "a.csv", index=False)
    number = next(c for c in frame.columns[1:] if frame[c].dtype.kind in "if")  # a numeric feature
    bad = frame.iloc[10:20].astype({number: object})
    bad.loc[bad.index[3], number] = "oops"  # not a number: the row goes to the side file
    bad.to_csv(data / "b.csv", index=False)
    out = _writable_by_the_image_user(tmp_path / "out")
    args = score_args(spec, "/data/in/", "/data/out/preds.csv", keep=["row_id"], bad_rows="skip")
    code, err = _run(image_id, data, out, *args)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["preds.bad-rows.csv", "preds.csv"]
    preds = pd.read_csv(out / "preds.csv")
    side = pd.read_csv(out / "preds.bad-rows.csv")
    assert len(preds) == 19 and "r0013" not in preds["row_id"].tolist()
    assert side[["file", "row", "column"]].values.tolist() == [["/data/in/b.csv", 4, number]]
