"""Speed and memory of the engine's backends at full v1 size (random weights unless --bundle).

    python tools/benchmark.py [--bundle DIR] [--backends onnxruntime,numpy]
        [--precisions fp32,int8,int4] [--ceiling]

For each backend and precision: prefill tok/s (encoder over 512 tokens, cross K/V included),
steady-state decode tok/s at batch 1 (every logit), decode tok/s with ``rows`` (the logits of
``ROWS`` vocabulary ids a step, as constrained decoding asks for the tokens its grammar allows),
forced tok/s (runs of 8 tokens fed with one ``extend`` call, as jump-forward decoding does; 0
where a backend has no ``extend``), end-to-end ms for a typical request (150 tokens in, 30 out,
greedy over every logit, and with ``rows``), load seconds (verify + load) and peak RSS. Each
configuration runs in a fresh subprocess so its RSS is its own; ``--repeat N`` runs every row N
times, round robin, and keeps each figure's best (on a shared machine, load comes and goes). The
last line is a JSON summary.

``--ceiling`` also measures an upper bound: the tok/s onnxruntime would reach if a step were
nothing but the model's weight matmuls (DynamicQuantizeMatMul for int8, MatMulNBits for int4:
the ops the bundles use), with attention, norms and per-node overhead free. A target above it
cannot be met with these kernels on this CPU, whatever the graph looks like.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

V1 = {  # the released Needle v1 size
    "vocab_size": 8192,
    "d_model": 512,
    "num_heads": 8,
    "num_kv_heads": 4,
    "num_encoder_layers": 12,
    "num_decoder_layers": 8,
}
PREFILL_TOKENS = 512
DECODE_TOKENS = 64
FORCED_RUN = 8  # tokens per extend call in the forced measurement
REQUEST_IN, REQUEST_OUT = 150, 30
ROWS = 24  # allowed tokens a constrained step asks logits for (a tool name, a key, an enum)


def _best(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_rss_mb() -> float:
    """VmHWM of this process; ru_maxrss would include the parent's peak from before exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(bundle_dir: Path, backend_name: str) -> dict[str, Any]:
    """One configuration, measured in this (fresh) process."""
    from custom_components.needle.engine.backends import load_backend
    from custom_components.needle.engine.bundle import read_bundle

    start = time.perf_counter()
    bundle = read_bundle(bundle_dir)
    backend = load_backend(bundle, backend_name)
    load_s = time.perf_counter() - start
    vocab = bundle.config.vocab_size
    rng = np.random.default_rng(0)
    src = rng.integers(6, vocab, size=PREFILL_TOKENS)
    backend.encode(src)  # warm-up
    prefill_s = _best(lambda: backend.encode(src), 3)

    enc = backend.encode(src[:REQUEST_IN])

    def decode() -> float:
        state, token = backend.start(enc), 1
        for _ in range(8):  # past the first, cheapest steps
            token = int(np.argmax(backend.step(state, token)))
        t0 = time.perf_counter()
        for _ in range(DECODE_TOKENS):
            token = int(np.argmax(backend.step(state, token)))
        return time.perf_counter() - t0

    decode_s = min(decode() for _ in range(3))
    gathers = getattr(backend, "gathers_rows", False)
    row_sets = rng.integers(0, vocab, size=(DECODE_TOKENS + 8, ROWS))

    def decode_rows() -> float:
        state, token = backend.start(enc), 1
        for rows in row_sets[:8]:
            token = int(rows[np.argmax(backend.step(state, token, rows=rows))])
        t0 = time.perf_counter()
        for rows in row_sets[8:]:
            token = int(rows[np.argmax(backend.step(state, token, rows=rows))])
        return time.perf_counter() - t0

    rows_tok_s = DECODE_TOKENS / min(decode_rows() for _ in range(3)) if gathers else 0.0

    extend = getattr(backend, "extend", None)  # optional: see decode.py

    def forced() -> float:
        assert extend is not None
        state = backend.start(enc)
        extend(state, np.array([1, 4]))
        runs = rng.integers(6, vocab, size=(DECODE_TOKENS // FORCED_RUN, FORCED_RUN))
        t0 = time.perf_counter()
        for tokens in runs:
            extend(state, tokens)
        return time.perf_counter() - t0

    forced_tok_s = DECODE_TOKENS / min(forced() for _ in range(3)) if extend else 0.0

    def request() -> None:
        state, token = backend.start(backend.encode(src[:REQUEST_IN])), 1
        for _ in range(REQUEST_OUT):
            token = int(np.argmax(backend.step(state, token)))

    e2e_s = _best(request, 3)

    def request_rows() -> None:
        state, token = backend.start(backend.encode(src[:REQUEST_IN])), 1
        for rows in row_sets[:REQUEST_OUT]:
            token = int(rows[np.argmax(backend.step(state, token, rows=rows))])

    e2e_rows_s = _best(request_rows, 3) if gathers else 0.0
    rss_mb = peak_rss_mb()
    return {
        "bundle": bundle_dir.name,
        "backend": backend.name,
        "precision": bundle.precision,
        "prefill_tok_s": round(PREFILL_TOKENS / prefill_s, 1),
        "decode_tok_s": round(DECODE_TOKENS / decode_s, 1),
        "decode_rows_tok_s": round(rows_tok_s, 1),
        "forced_tok_s": round(forced_tok_s, 1),
        "e2e_ms": round(e2e_s * 1000, 1),
        "e2e_rows_ms": round(e2e_rows_s * 1000, 1),
        "load_s": round(load_s, 3),
        "peak_rss_mb": round(rss_mb, 1),
    }


def _better(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The best of two runs of one configuration, figure by figure (peak RSS: the larger)."""
    if old is None:
        return new
    out = dict(old)
    for key, value in new.items():
        if key.endswith("tok_s"):
            out[key] = max(old[key], value)
        elif key.endswith(("_ms", "_s")):
            out[key] = min(old[key], value) if old[key] and value else old[key] or value
        elif key == "peak_rss_mb":
            out[key] = max(old[key], value)
    out["runs"] = old.get("runs", 1) + 1
    return out


def matmul_ceiling(
    threads: int | None = None, repeat: int = 20, precision: str = "int8"
) -> dict[str, float]:
    """Prefill and decode tok/s of the v1 size's weight matmuls alone (see the docstring).

    Prefill: every encoder layer's fused q/k/v and output projections, and each decoder layer's
    cross-attention k/v projection, over 512 tokens. Decode: each decoder layer's fused q/k/v,
    self-attention output, cross-attention query and output projections, then the tied logits,
    for one token. The matmuls run as one chain (a Slice keeps the width at d_model), so a run is
    one ORT call with ORT's own prepacked weights.
    """
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    d, kv = V1["d_model"], V1["d_model"] * V1["num_kv_heads"] // V1["num_heads"]
    enc, dec, vocab = V1["num_encoder_layers"], V1["num_decoder_layers"], V1["vocab_size"]
    rng = np.random.default_rng(0)

    def chain_seconds(widths: list[int], rows: int) -> float:
        nodes, inits, x = [], [], "x"
        for i, n in enumerate(widths):
            y = f"y{i}"
            if precision == "int4":
                blocks = d // 32
                w = rng.integers(0, 256, size=(n, blocks, 16), dtype=np.uint8)
                inits += [
                    numpy_helper.from_array(w, f"w{i}"),
                    numpy_helper.from_array(np.full((n, blocks), 1e-3, np.float32), f"s{i}"),
                ]
                node = helper.make_node(
                    "MatMulNBits", [x, f"w{i}", f"s{i}"], [y], domain="com.microsoft",
                    K=d, N=n, bits=4, block_size=32, accuracy_level=4,
                )  # fmt: skip
            else:
                w = rng.integers(-63, 64, size=(d, n), dtype=np.int8)
                inits += [
                    numpy_helper.from_array(w, f"w{i}"),
                    numpy_helper.from_array(np.full(n, 1e-3, np.float32), f"s{i}"),
                ]
                node = helper.make_node(
                    "DynamicQuantizeMatMul", [x, f"w{i}", f"s{i}"], [y], domain="com.microsoft"
                )
            nodes.append(node)
            if n != d and i < len(widths) - 1:
                nodes.append(helper.make_node("Slice", [y, "zero", "width", "one"], [f"z{i}"]))
                y = f"z{i}"
            x = y
        for name, value in (("zero", [0]), ("width", [d]), ("one", [1])):
            inits.append(numpy_helper.from_array(np.array(value, np.int64), name))
        graph = helper.make_graph(
            nodes,
            "ceiling",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, d])],
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, [rows, widths[-1]])],
            inits,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        )
        model.ir_version = 8
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(model.SerializeToString(), options)
        feed = {"x": rng.standard_normal((rows, d)).astype(np.float32)}
        session.run(None, feed)
        return _best(lambda: session.run(None, feed), repeat)

    prefill = [d + 2 * kv, d] * enc + [2 * kv] * dec
    decode = [d + 2 * kv, d, d, d] * dec
    return {
        "precision": precision,
        "prefill_tok_s": round(PREFILL_TOKENS / chain_seconds(prefill, PREFILL_TOKENS), 1),
        "decode_tok_s": round(1 / chain_seconds([*decode, vocab], 1), 1),
        "decode_rows_tok_s": round(1 / chain_seconds(decode, 1), 1),  # no logits projection
    }


def make_bundles(root: Path, precisions: list[str]) -> dict[str, Path]:
    """Full-size random bundles (what a real export writes, graphs included)."""
    from custom_components.needle.engine.bundle import write_bundle
    from custom_components.needle.engine.checkpoint import Checkpoint, init_random_params
    from custom_components.needle.engine.config import ModelConfig

    config = ModelConfig.from_dict(V1)
    ckpt = Checkpoint(config=config, params=init_random_params(config, 0))
    return {
        p: write_bundle(ckpt, root / p, precision=p, provenance={"source": "random"})
        for p in precisions
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, action="append", help="bundle(s) to measure")
    parser.add_argument("--backends", default="onnxruntime,numpy")
    parser.add_argument("--precisions", default="int8,int4", help="for random bundles")
    parser.add_argument(
        "--ceiling", action="store_true", help="also the matmul-only bound (onnxruntime)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of every row, round robin; the best counts"
    )
    parser.add_argument("--worker", nargs=2, metavar=("BUNDLE", "BACKEND"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(Path(args.worker[0]), args.worker[1])))
        return 0
    with tempfile.TemporaryDirectory(prefix="needle-bench-") as tmp:
        if args.bundle:
            bundles = {str(i): b for i, b in enumerate(args.bundle)}
        else:
            print("writing full-size random bundles ...", file=sys.stderr)
            bundles = make_bundles(Path(tmp), args.precisions.split(","))
        best: dict[tuple[str, str], dict[str, Any]] = {}
        for _ in range(args.repeat):  # round robin: load that comes and goes hits every row
            for bundle in bundles.values():
                for backend in args.backends.split(","):
                    run = subprocess.run(
                        [sys.executable, __file__, "--worker", str(bundle), backend],
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    if run.returncode:
                        print(f"{backend} on {bundle}: failed\n{run.stderr}", file=sys.stderr)
                        continue
                    row = json.loads(run.stdout.strip().splitlines()[-1])
                    key = (str(bundle), backend)
                    best[key] = _better(best.get(key), row)
        results = list(best.values())
    header = f"{'bundle':<10} {'backend':<12} {'precision':<9} {'prefill tok/s':>13} {'decode tok/s':>12} "
    header += f"{'rows tok/s':>10} {'forced tok/s':>12} {'e2e ms':>7} {'e2e rows':>8} "
    header += f"{'load s':>6} {'peak RSS MB':>11}"
    print(header)
    for r in results:
        print(
            f"{r['bundle'][:10]:<10} {r['backend']:<12} {r['precision']:<9} {r['prefill_tok_s']:>13.0f} "
            f"{r['decode_tok_s']:>12.0f} {r['decode_rows_tok_s']:>10.0f} "
            f"{r['forced_tok_s']:>12.0f} {r['e2e_ms']:>7.1f} {r['e2e_rows_ms']:>8.1f} "
            f"{r['load_s']:>6.2f} {r['peak_rss_mb']:>11.0f}"
        )
    summary: dict[str, Any] = {"results": results}
    if args.ceiling:
        summary["ceiling"] = ceilings = [
            matmul_ceiling(precision=p) for p in ("int8", "int4") if p in args.precisions
        ]
        for c in ceilings:
            print(
                f"ceiling ({c['precision']} weight matmuls only, onnxruntime): prefill "
                f"{c['prefill_tok_s']:.0f} tok/s, decode {c['decode_tok_s']:.0f} tok/s, "
                f"without the logits projection {c['decode_rows_tok_s']:.0f} tok/s"
            )
    print(json.dumps(summary))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
