"""Export the reference checkpoints with the CLI, check them against the reference outputs, and
make sure a damaged bundle is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from custom_components.needle.engine import bundle as bundle_module
from custom_components.needle.engine.backends import BackendError, load_backend
from custom_components.needle.engine.bundle import BundleError, read_bundle, write_bundle
from custom_components.needle.engine.config import EOS

from .conftest import REFERENCE, random_checkpoint, reference

REPO = Path(__file__).parents[2]
sys.path.insert(0, str(REPO / "tools"))
import export_onnx  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """tiny and small, fp32 and int8, written by the CLI."""
    root = tmp_path_factory.mktemp("exported")
    out = {}
    for name in ("tiny", "small"):
        for precision in ("fp32", "int8"):
            target = root / f"{name}-{precision}"
            argv = [str(REFERENCE / f"{name}.pkl"), "--out", str(target)]
            assert export_onnx.main(argv + (["--int8"] if precision == "int8" else [])) == 0
            out[(name, precision)] = target
    return out


def _check(bundle: Path, name: str, backend: str, capsys) -> tuple[int, dict, str]:
    argv = ["--check", str(bundle), "--reference", str(REFERENCE / f"{name}_expected.npz")]
    rc = export_onnx.main([*argv, "--backend", backend])
    out = capsys.readouterr().out
    return rc, json.loads(out.strip().splitlines()[-1]), out


@pytest.mark.parametrize("backend", ["onnxruntime", "numpy"])
@pytest.mark.parametrize("name", ["tiny", "small"])
def test_fp32_export_matches_reference(exported, capsys, name: str, backend: str) -> None:
    rc, summary, out = _check(exported[(name, "fp32")], name, backend, capsys)
    assert rc == 0, out
    assert summary["cases"] == 3 and summary["backend"] == backend
    assert summary["greedy_match"] is True
    assert summary["max_abs_logit_diff"] < 1e-5
    assert summary["max_abs_encoder_diff"] < 1e-5
    assert out.count("greedy match (12/12)") == 3


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_int8_export_is_smaller_and_close(exported, name: str) -> None:
    fp32, int8 = read_bundle(exported[(name, "fp32")]), read_bundle(exported[(name, "int8")])
    assert int8.precision == "int8" and fp32.precision == "fp32"
    ratio = int8.weights_path.stat().st_size / fp32.weights_path.stat().st_size
    assert ratio < (0.3 if name == "small" else 0.6)  # tiny: page alignment dominates
    ref = reference(name)
    for backend_name in ("onnxruntime", "numpy"):
        backend = load_backend(int8, backend_name)
        agree = total = 0
        for i in range(3):
            src, tgt = ref[f"case{i}_src"], ref[f"case{i}_tgt"]
            logits = backend.teacher_forced(src, tgt)
            assert np.abs(logits - ref[f"case{i}_logits"]).max() < 0.1  # measured <= 0.045
            state, token = backend.start(backend.encode(src)), EOS
            for expected in ref[f"case{i}_greedy"]:
                token = int(np.argmax(backend.step(state, token)))
                agree += token == expected
                total += 1
        assert agree / total >= 0.9, (backend_name, agree, total)  # measured 36/36


def test_cli_runs_from_anywhere(exported, tmp_path: Path) -> None:
    """The tool finds the repository itself; a bad greedy/logit result exits non-zero."""
    script = REPO / "tools" / "export_onnx.py"
    ok = subprocess.run(
        [
            sys.executable,
            str(script),
            "--check",
            str(exported[("tiny", "fp32")]),
            "--reference",
            str(REFERENCE / "tiny_expected.npz"),
            "--backend",
            "numpy",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout.splitlines()[-1])["greedy_match"] is True
    # tiny's bundle checked against small's reference: wrong everywhere
    wrong = subprocess.run(
        [
            sys.executable,
            str(script),
            "--check",
            str(exported[("small", "fp32")]),
            "--reference",
            str(REFERENCE / "tiny_expected.npz"),
            "--backend",
            "numpy",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert wrong.returncode != 0


def test_manifest_contents(exported) -> None:
    b = read_bundle(exported[("small", "int8")])
    m = b.manifest
    assert m["format_version"] == 1 and m["precision"] == "int8"
    assert m["special_ids"] == {"pad": 0, "eos": 1, "bos": 2, "unk": 3, "tool_call": 4, "tools": 5}
    assert m["provenance"]["source"] == "small.pkl"
    assert len(m["provenance"]["source_sha256"]) == 64
    assert set(m["files"]) == {"weights.bin", "encoder.onnx", "decoder.onnx", "logits.onnx"}
    assert b.tokenizer_path is None and b.has_graphs
    emb = b.tensors["embedding/embedding"]
    assert emb.dtype == "int8" and b.tensors[emb.scale].shape == (8192,)
    # the graphs reference weights.bin instead of holding weights
    assert (b.path / "decoder.onnx").stat().st_size < 100_000


def test_tokenizer_is_stored(tmp_path: Path) -> None:
    text = json.dumps({"model": {"type": "BPE"}})
    out = write_bundle(random_checkpoint(), tmp_path / "b", tokenizer_json=text, graphs=False)
    b = read_bundle(out)
    assert b.tokenizer_path is not None and b.tokenizer_path.read_text() == text
    with pytest.raises(BundleError, match="not valid JSON"):
        write_bundle(random_checkpoint(), tmp_path / "c", tokenizer_json="{oops")
    assert not (tmp_path / "c").exists()


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_tampered_weights_fail_checksum(exported, tmp_path: Path) -> None:
    b = _copy(exported[("tiny", "fp32")], tmp_path)
    with (b / "weights.bin").open("r+b") as fh:
        fh.seek(5000)
        byte = fh.read(1)
        fh.seek(5000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(BundleError, match=r"weights\.bin fails its sha256 checksum"):
        read_bundle(b)
    read_bundle(b, verify=False)  # sizes still fine: only the checksum catches it


def test_truncated_weights_refused(exported, tmp_path: Path) -> None:
    b = _copy(exported[("tiny", "fp32")], tmp_path)
    data = (b / "weights.bin").read_bytes()
    (b / "weights.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="wrong size"):
        read_bundle(b, verify=False)


def test_missing_file_refused(exported, tmp_path: Path) -> None:
    b = _copy(exported[("tiny", "fp32")], tmp_path)
    (b / "decoder.onnx").unlink()
    with pytest.raises(BundleError, match=r"decoder\.onnx is missing"):
        read_bundle(b)
    with pytest.raises(BundleError, match=r"no needle\.json"):
        read_bundle(tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(format_version=99), "format version 99 is not supported"),
        (lambda m: m.update(precision="fp8"), "unknown precision"),
        (lambda m: m["model"].update(num_heads=3), "bad model config"),
        (lambda m: m["model"].update(d_model=128), "has shape"),
        (lambda m: m.update(format="other"), "not a Needle bundle manifest"),
    ],
)
def test_bad_manifest_refused(exported, tmp_path: Path, edit, message: str) -> None:
    b = _copy(exported[("tiny", "fp32")], tmp_path)
    manifest = json.loads((b / "needle.json").read_text())
    edit(manifest)
    (b / "needle.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=message):
        read_bundle(b)


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bundle_module, "_sha256", boom)
    with pytest.raises(OSError, match="disk full"):
        write_bundle(random_checkpoint(), tmp_path / "b", graphs=False)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_refused(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="already exists"):
        write_bundle(random_checkpoint(), tmp_path / "b", graphs=False)
    assert (tmp_path / "b" / "keep.txt").read_text() == "mine"


def test_bundle_without_graphs_uses_numpy(tmp_path: Path) -> None:
    b = read_bundle(write_bundle(random_checkpoint(), tmp_path / "b", graphs=False))
    assert not b.has_graphs
    assert load_backend(b).name == "numpy"
    with pytest.raises(BackendError, match="no ONNX graphs"):
        load_backend(b, "onnxruntime")
    with pytest.raises(BackendError, match="unknown backend"):
        load_backend(b, "tensorflow")


def test_graphs_of_an_older_export_ask_for_a_re_export(tmp_path: Path) -> None:
    """Graphs with stacked caches (before per-layer inputs) are refused by onnxruntime with a
    clear message; the same bundle still runs on numpy."""
    import onnx

    out = write_bundle(random_checkpoint(), tmp_path / "b")
    path = out / "decoder.onnx"
    model = onnx.load(str(path), load_external_data=False)
    for value in model.graph.input:
        if value.name == "past_k_0":
            value.name = "past_k"
    for node in model.graph.node:
        node.input[:] = ["past_k" if i == "past_k_0" else i for i in node.input]
    path.write_bytes(model.SerializeToString())
    manifest = json.loads((out / "needle.json").read_text())
    manifest["files"]["decoder.onnx"] = {
        "sha256": bundle_module._sha256(path),
        "size": path.stat().st_size,
    }
    (out / "needle.json").write_text(json.dumps(manifest))
    b = read_bundle(out)
    with pytest.raises(BackendError, match="older export"):
        load_backend(b, "onnxruntime")
    assert load_backend(b, "numpy").name == "numpy"
