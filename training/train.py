"""Train a Needle v1 model on generated examples (CPU or CUDA).

    .venv-train/bin/python -m training.train --train train.jsonl --val val.jsonl \
        --spm training/data/tokenizer.model --out runs/r1 --d-model 192 --heads 4 --kv-heads 2 \
        --enc-layers 3 --dec-layers 2 --vocab 4096 --steps 3000 [--device cuda] [--resume]

Deterministic (seeded data order and init), resumable (``last.npz`` weights + ``optim.pt``
optimizer state + ``state.json``), evaluates every ``--eval-every`` steps on the validation
split (teacher-forced token accuracy and exact match of greedily decoded call lists), keeps the
best weights as an official v1 pickle (``best.pkl``, via the engine's ``save_checkpoint``) and
draws the curves into ``curves.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "custom_components/needle"))

from engine.config import EOS, PAD, TOOL_CALL, TOOLS, ModelConfig  # noqa: E402

from .model import Needle, count_parameters  # noqa: E402

MAX_SRC, MAX_TGT = 1024, 512


@dataclass
class Example:
    src: list[int]
    ans: list[int]  # the answer tokens, without <tool_call> and eos
    target: str


def encoder_ids(sp, query: str, tools: str) -> list[int]:
    """The engine's rule when it is there; the reference README's rule otherwise (identical)."""
    try:
        from engine import encoder_input_ids  # type: ignore[attr-defined]

        return list(encoder_input_ids(_SpAdapter(sp), query, tools))
    except ImportError:
        return ([*sp.encode(query)[:1022], TOOLS, *sp.encode(tools)])[:MAX_SRC]


class _SpAdapter:
    def __init__(self, sp) -> None:
        self.sp = sp

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)


def load_examples(paths: Path | list[Path], sp, limit: int | None = None) -> list[Example]:
    out: list[Example] = []
    for path in [paths] if isinstance(paths, Path) else paths:
        out.extend(_load_file(path, sp, limit))
    return out[:limit] if limit else out


def _load_file(path: Path, sp, limit: int | None) -> list[Example]:
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                ex = json.loads(line)
            except json.JSONDecodeError:
                break  # a file still being written: its last line may be partial
            src = encoder_ids(sp, ex["query"], ex["tools"])
            ans = sp.encode(ex["target"])[: MAX_TGT - 2]
            out.append(Example(src, ans, ex["target"]))
            if limit and len(out) >= limit:
                break
    return out


def batches(examples: list[Example], max_tokens: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped by source length so padding stays small; order shuffled per epoch."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i].src), rng.random()))
    out, cur, longest = [], [], 0
    for i in order:
        longest2 = max(longest, len(examples[i].src))
        if cur and longest2 * (len(cur) + 1) > max_tokens:
            out.append(cur)
            cur, longest2 = [], len(examples[i].src)
        cur.append(i)
        longest = longest2
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(examples: list[Example], idx: list[int], device: str):
    s = max(len(examples[i].src) for i in idx)
    t = max(len(examples[i].ans) for i in idx) + 2
    src = torch.full((len(idx), s), PAD, dtype=torch.long)
    tin = torch.full((len(idx), t), PAD, dtype=torch.long)
    tout = torch.full((len(idx), t), -100, dtype=torch.long)
    for r, i in enumerate(idx):
        e = examples[i]
        src[r, : len(e.src)] = torch.tensor(e.src)
        seq_in = [EOS, TOOL_CALL, *e.ans]
        seq_out = [TOOL_CALL, *e.ans, EOS]
        tin[r, : len(seq_in)] = torch.tensor(seq_in)
        tout[r, : len(seq_out)] = torch.tensor(seq_out)
    return src.to(device), tin.to(device), tout.to(device)


@torch.no_grad()
def greedy(model: Needle, src: torch.Tensor, max_len: int) -> list[list[int]]:
    """Plain batched greedy decoding (no constraints): what the model believes on its own."""
    enc = model.encode(src)
    ys = torch.full((src.shape[0], 1), EOS, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        nxt = model.decode(ys, enc, src)[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
        ys = torch.cat([ys, nxt[:, None]], 1)
        done |= nxt == EOS
        if bool(done.all()):
            break
    out = []
    for row in ys[:, 1:].tolist():
        toks = [t for t in row if t not in (PAD,)]
        if EOS in toks:
            toks = toks[: toks.index(EOS)]
        out.append([t for t in toks if t != TOOL_CALL])
    return out


def canonical(text: str):
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, list):
        return None

    def norm(v):
        if isinstance(v, str):
            return v.casefold()
        if isinstance(v, list):
            return sorted(norm(x) for x in v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v

    try:
        return sorted(json.dumps(norm(c), sort_keys=True) for c in data)
    except TypeError:
        return None


@torch.no_grad()
def evaluate(model: Needle, sp, val: list[Example], device: str, n_greedy: int) -> dict:
    model.eval()
    rng = random.Random(0)
    losses, correct, total = [], 0, 0
    for idx in batches(val, 12000, rng):
        src, tin, tout = collate(val, idx, device)
        logits = model(src, tin)
        losses.append(F.cross_entropy(logits.transpose(1, 2), tout, ignore_index=-100).item())
        mask = tout != -100
        correct += int(((logits.argmax(-1) == tout) & mask).sum())
        total += int(mask.sum())
    exact = 0
    sub = val[:n_greedy]
    for start in range(0, len(sub), 32):
        chunk = sub[start : start + 32]
        idx = list(range(len(chunk)))
        src, _, _ = collate(chunk, idx, device)
        for ex, toks in zip(
            chunk, greedy(model, src, max(len(e.ans) for e in chunk) + 4), strict=True
        ):
            got = canonical(sp.decode(toks))
            exact += int(got is not None and got == canonical(ex.target))
    model.train()
    return {
        "val_loss": float(np.mean(losses)),
        "token_acc": correct / max(total, 1),
        "exact_match": exact / max(len(sub), 1),
    }


def lr_at(step: int, peak: float, warmup: int, total: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def save_official(path: Path, model: Needle, cfg: ModelConfig) -> None:
    """The official v1 pickle via the engine's writer (float16 leaves, stacked layers)."""
    from engine.checkpoint import save_checkpoint

    save_checkpoint(path, model.to_flat_params(), cfg.to_dict())


def plot(history: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [h for h in history if "loss" in h]
    evals = [h for h in history if "exact_match" in h]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].plot([h["step"] for h in train], [h["loss"] for h in train], label="train loss", lw=0.8)
    ax[0].plot([h["step"] for h in evals], [h["val_loss"] for h in evals], "o-", label="val loss")
    ax[0].set_yscale("log")
    ax[0].set_xlabel("step")
    ax[0].legend()
    ax[1].plot(
        [h["step"] for h in evals], [h["token_acc"] for h in evals], "o-", label="val token acc"
    )
    ax[1].plot(
        [h["step"] for h in evals], [h["exact_match"] for h in evals], "o-", label="val exact match"
    )
    ax[1].set_xlabel("step")
    ax[1].set_ylim(0, 1)
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=Path, nargs="+", required=True, help="one or more JSONL files")
    p.add_argument("--val", type=Path, required=True)
    p.add_argument("--spm", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--d-model", type=int, default=192)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--enc-layers", type=int, default=3)
    p.add_argument("--dec-layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-tokens", type=int, default=8192, help="padded source tokens a batch")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--n-greedy", type=int, default=128)
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--init", type=Path, help="start from these weights (official v1 .pkl, same shape)"
    )
    args = p.parse_args(argv)

    import sentencepiece as spm

    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=str(args.spm))
    if sp.get_piece_size() != args.vocab:
        raise SystemExit(f"tokenizer has {sp.get_piece_size()} pieces, --vocab is {args.vocab}")
    train = load_examples(args.train, sp, args.max_train)
    val = load_examples(args.val, sp)
    cfg = ModelConfig(
        vocab_size=args.vocab,
        d_model=args.d_model,
        num_heads=args.heads,
        num_kv_heads=args.kv_heads,
        num_encoder_layers=args.enc_layers,
        num_decoder_layers=args.dec_layers,
    )
    cfg.validate()
    model = Needle(cfg).to(args.device)
    decay = [p_ for n, p_ in model.named_parameters() if p_.dim() >= 2]
    no_decay = [p_ for n, p_ in model.named_parameters() if p_.dim() < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": args.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=args.lr,
        betas=(0.9, 0.98),
    )
    state = {
        "step": 0,
        "epoch": 0,
        "best_exact": -1.0,
        "best_step": None,
        "history": [],
        "seconds": 0.0,
    }
    if args.init and not (args.resume and (args.out / "state.json").exists()):
        from engine.checkpoint import load_checkpoint

        init = load_checkpoint(args.init)
        if init.config.to_dict() != cfg.to_dict():
            raise SystemExit(f"--init {args.init} has another shape: {init.config.to_dict()}")
        model.load_flat_params(init.params)
        print(f"initialised from {args.init}", flush=True)
    if args.resume and (args.out / "state.json").exists():
        state = json.loads((args.out / "state.json").read_text())
        last = np.load(args.out / "last.npz")
        model.load_flat_params({k.replace("|", "/"): last[k] for k in last.files})
        opt.load_state_dict(torch.load(args.out / "optim.pt", map_location=args.device))
    (args.out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    print(f"params {count_parameters(model):,}; train {len(train)}, val {len(val)}", flush=True)

    def save_last() -> None:
        flat = {k.replace("/", "|"): v for k, v in model.to_flat_params().items()}
        np.savez(args.out / "last.npz", **flat)
        torch.save(opt.state_dict(), args.out / "optim.pt")
        (args.out / "state.json").write_text(json.dumps(state))

    rng = random.Random(args.seed + state["epoch"])
    plan = batches(train, args.batch_tokens, rng)
    pos = state["step"] % max(1, len(plan)) if state["step"] else 0
    t0 = time.time() - state["seconds"]
    bar = tqdm(total=args.steps, initial=state["step"], dynamic_ncols=True, mininterval=5)
    model.train()
    while state["step"] < args.steps:
        if pos >= len(plan):
            state["epoch"] += 1
            # The generator may still be writing: each epoch sees what exists by then.
            train = load_examples(args.train, sp, args.max_train)
            plan = batches(train, args.batch_tokens, random.Random(args.seed + state["epoch"]))
            pos = 0
        src, tin, tout = collate(train, plan[pos], args.device)
        pos += 1
        for g in opt.param_groups:
            g["lr"] = lr_at(state["step"], args.lr, args.warmup, args.steps)
        logits = model(src, tin)
        loss = F.cross_entropy(logits.transpose(1, 2), tout, ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["seconds"] = time.time() - t0
        if state["step"] % 10 == 0:
            state["history"].append(
                {"step": state["step"], "loss": loss.item(), "t": state["seconds"]}
            )
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        out_of_time = args.max_minutes is not None and state["seconds"] > 60 * args.max_minutes
        if state["step"] % args.eval_every == 0 or state["step"] == args.steps or out_of_time:
            m = evaluate(model, sp, val, args.device, args.n_greedy)
            m.update(step=state["step"], t=state["seconds"])
            state["history"].append(m)
            print(json.dumps(m), flush=True)
            if m["exact_match"] > state["best_exact"]:
                state["best_exact"], state["best_step"] = m["exact_match"], state["step"]
                try:
                    save_official(args.out / "best.pkl", model, cfg)
                except Exception as err:  # never lose a run to the writer: best.npz follows
                    print(f"could not write best.pkl: {err}", flush=True)
                flat = {k.replace("/", "|"): v for k, v in model.to_flat_params().items()}
                np.savez(args.out / "best.npz", **flat)
            save_last()
            plot(state["history"], args.out / "curves.png")
        if out_of_time:
            break
    bar.close()
    save_last()
    summary = {k: state[k] for k in ("step", "best_exact", "best_step", "seconds")}
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
