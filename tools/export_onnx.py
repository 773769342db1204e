"""Convert an official Needle v1 checkpoint into a bundle, or check a bundle against reference outputs.

    python tools/export_onnx.py CHECKPOINT.pkl [--tokenizer TOKENIZER.model|tokenizer.json] \
        --out BUNDLE_DIR [--precision fp32|int8|int4] [--int8]
    python tools/export_onnx.py --check BUNDLE_DIR --reference EXPECTED.npz \
        [--backend onnxruntime|numpy]

The conversion itself is ``engine.bundle.write_bundle`` (the config flow calls the same code).
``--check`` prints, per case, the largest differences from the reference and whether greedy
decoding matches; the last line is a JSON summary. It exits non-zero when an fp32 bundle's logits
differ by more than 1e-3 or (fp32, int8) any greedy token differs; int4 bundles are only reported
(``tools/precision_cost.py`` measures what a precision costs a trained model).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from custom_components.needle.engine.backends import load_backend  # noqa: E402
from custom_components.needle.engine.bundle import read_bundle, write_bundle  # noqa: E402
from custom_components.needle.engine.checkpoint import load_checkpoint  # noqa: E402
from custom_components.needle.engine.config import EOS  # noqa: E402

LOGIT_TOLERANCE = 1e-3  # an fp32 port within this reproduces the reference greedy tokens
GREEDY_STEPS = 12


def read_tokenizer(path: Path) -> str:
    """tokenizer.json as text; a SentencePiece .model is converted by the engine's tokenizer."""
    raw = path.read_bytes()
    if path.suffix == ".json":
        return raw.decode("utf-8")
    try:
        from custom_components.needle.engine.tokenizer import convert_sentencepiece
    except ImportError as err:
        raise SystemExit(
            f"cannot convert {path.name}: engine.tokenizer.convert_sentencepiece is not "
            f"available ({err}); pass a tokenizer.json instead"
        ) from err
    return convert_sentencepiece(raw)


def export(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint)
    tokenizer_json = read_tokenizer(args.tokenizer) if args.tokenizer else None
    provenance = {"source": args.checkpoint.name, "created_by": "tools/export_onnx.py"}
    if args.tokenizer:
        provenance["tokenizer"] = args.tokenizer.name
    prompt = {
        key: value
        for key, value in (
            ("max_encoder_tokens", args.prompt_tokens),
            ("max_entities", args.prompt_entities),
        )
        if value
    }
    out = write_bundle(
        checkpoint,
        args.out,
        tokenizer_json=tokenizer_json,
        precision=args.precision or ("int8" if args.int8 else "fp32"),
        provenance=provenance,
        prompt=prompt or None,
    )
    bundle = read_bundle(out)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(
        f"wrote {out} ({bundle.precision}, {'with' if bundle.has_graphs else 'without'} ONNX "
        f"graphs, {size / 1e6:.1f} MB)"
    )
    return 0


def check(args: argparse.Namespace) -> int:
    bundle = read_bundle(args.check)
    backend = load_backend(bundle, args.backend)
    ref = np.load(args.reference)
    cases = sorted({k.split("_", 1)[0] for k in ref.files if k.startswith("case")})
    worst_logit = worst_enc = 0.0
    greedy_ok = True
    greedy_same = greedy_total = 0
    for case in cases:
        src, tgt = ref[f"{case}_src"], ref[f"{case}_tgt"]
        keep = src != bundle.config.pad_token_id
        enc = backend.encoder_output(src)
        enc_diff = float(np.abs(enc[keep] - ref[f"{case}_encoder_out"][keep]).max())
        forced = backend.teacher_forced(src, tgt)
        logit_diff = float(np.abs(forced - ref[f"{case}_logits"]).max())
        state = backend.start(backend.encode(src))
        stepped = np.stack([backend.step(state, int(t)) for t in tgt])
        step_diff = float(np.abs(stepped - ref[f"{case}_logits"]).max())
        state = backend.start(backend.encode(src))
        token, greedy = EOS, []
        for _ in range(GREEDY_STEPS):
            token = int(np.argmax(backend.step(state, token)))
            greedy.append(token)
        expected = [int(t) for t in ref[f"{case}_greedy"]]
        match = greedy == expected
        agree = sum(a == b for a, b in zip(greedy, expected, strict=True))
        con_diff = float(np.abs(backend.contrastive(src) - ref[f"{case}_contrastive"]).max())
        print(
            f"{case}: encoder {enc_diff:.2e}  logits {logit_diff:.2e}  step logits {step_diff:.2e}"
            f"  contrastive {con_diff:.2e}  greedy {'match' if match else 'DIFFER'}"
            f" ({agree}/{GREEDY_STEPS})"
        )
        worst_logit = max(worst_logit, logit_diff, step_diff)
        worst_enc = max(worst_enc, enc_diff)
        greedy_ok = greedy_ok and match
        greedy_same += agree
        greedy_total += GREEDY_STEPS
    summary: dict[str, Any] = {
        "cases": len(cases),
        "max_abs_logit_diff": worst_logit,
        "max_abs_encoder_diff": worst_enc,
        "greedy_match": greedy_ok,
        "greedy_tokens": f"{greedy_same}/{greedy_total}",
        "precision": bundle.precision,
        "backend": backend.name,
    }
    print(json.dumps(summary))
    # int4 only reports: 4 bits move near-tied argmaxes (the reference checkpoints are untrained)
    failed = (bundle.precision != "int4" and not greedy_ok) or (
        bundle.precision == "fp32" and worst_logit > LOGIT_TOLERANCE
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", type=Path, help="official v1 .pkl checkpoint")
    parser.add_argument("--tokenizer", type=Path, help="SentencePiece .model or tokenizer.json")
    parser.add_argument("--out", type=Path, help="bundle folder to create")
    parser.add_argument(
        "--precision",
        choices=["fp32", "int8", "int4"],
        help="weights: fp32, int8 (per-channel scales) or int4 (blocks of 32, MatMulNBits)",
    )
    parser.add_argument("--int8", action="store_true", help="the same as --precision int8")
    parser.add_argument(
        "--prompt-tokens", type=int, help="encoder window the model was trained with (needle.json)"
    )
    parser.add_argument(
        "--prompt-entities", type=int, help="candidate entities it was trained with (needle.json)"
    )
    parser.add_argument("--check", type=Path, metavar="BUNDLE_DIR", help="bundle to check")
    parser.add_argument("--reference", type=Path, help="*_expected.npz reference outputs")
    parser.add_argument("--backend", default="auto", choices=["auto", "onnxruntime", "numpy"])
    args = parser.parse_args(argv)
    if args.check:
        if not args.reference:
            parser.error("--check needs --reference EXPECTED.npz")
        return check(args)
    if not args.checkpoint or not args.out:
        parser.error("give CHECKPOINT.pkl and --out BUNDLE_DIR (or --check BUNDLE_DIR)")
    return export(args)


if __name__ == "__main__":
    sys.exit(main())
