"""Train the SentencePiece BPE tokenizer with the v1 special-id layout on generated examples.

    .venv/bin/python -m training.train_tokenizer --data train.jsonl --vocab 4096 \
        --out training/data/tokenizer

Writes ``<out>.model`` (SentencePiece) and ``<out>.json`` (tokenizers format, converted by the
engine's ``convert_sentencepiece`` when it is available) and prints the token-length spread.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import sentencepiece as spm


def train(data: Path, vocab: int, out: Path) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for line in data.open(encoding="utf-8"):
            ex = json.loads(line)
            # Each string on its own lines: queries, tools JSON and targets are what it must cut.
            f.write(
                ex["query"].replace("\n", " ") + "\n" + ex["tools"] + "\n" + ex["target"] + "\n"
            )
        corpus = f.name
    spm.SentencePieceTrainer.train(
        input=corpus,
        model_prefix=str(out),
        model_type="bpe",
        vocab_size=vocab,
        byte_fallback=True,
        normalization_rule_name="identity",
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        user_defined_symbols=["<tool_call>", "<tools>"],
        character_coverage=1.0,
        max_sentence_length=20000,
        split_digits=True,
        num_threads=2,
        minloglevel=2,
    )
    Path(corpus).unlink()
    return out.with_suffix(".model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=Path("training/data/tokenizer"))
    args = parser.parse_args()
    model = train(args.data, args.vocab, args.out)
    sp = spm.SentencePieceProcessor(model_file=str(model))
    assert [sp.id_to_piece(i) for i in range(6)] == [
        "<pad>",
        "</s>",
        "<s>",
        "<unk>",
        "<tool_call>",
        "<tools>",
    ], "special ids do not follow the v1 layout"
    try:
        from custom_components.needle.engine.tokenizer import convert_sentencepiece

        model.with_suffix(".json").write_text(convert_sentencepiece(model.read_bytes()))
    except ImportError:
        print("engine tokenizer converter not available yet; wrote only the .model")
    print(f"wrote {model}")


if __name__ == "__main__":
    main()
