"""Model configuration with the Needle v1 defaults, special token ids and window sizes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# Special ids of the v1 tokenizer (reference README).
PAD, EOS, BOS, UNK, TOOL_CALL, TOOLS = 0, 1, 2, 3, 4, 5

MAX_ENCODER_TOKENS = 1024  # encoder window of v1
MAX_QUERY_TOKENS = 1022  # the query is cut here before <tools> and the tools JSON follow
MAX_DECODER_TOKENS = 512  # longest decoder sequence v1 was trained on

# Keys a training run may record that do not change inference of a no-FFN model.
_INERT_KEYS = frozenset(
    {"d_ff", "max_seq_len", "dtype", "num_memory_slots", "activation", "dropout_rate"}
)


class ConfigError(ValueError):
    """The model config is inconsistent or names something this engine cannot run."""


@dataclass(frozen=True, slots=True)
class ModelConfig:
    vocab_size: int = 8192
    d_model: int = 128
    num_heads: int = 4
    num_kv_heads: int = 2
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    pad_token_id: int = 0
    rope_theta: float = 10000.0
    contrastive_dim: int = 128
    no_feedforward: bool = True

    @property
    def head_dim(self) -> int:
        return self.d_model // self.num_heads

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        """Fill the v1 defaults for what the training run did not pass, and check consistency."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known - _INERT_KEYS
        if unknown:
            raise ConfigError(f"unknown config keys: {sorted(unknown)}")
        try:
            values = {k: type(getattr(cls(), k))(v) for k, v in raw.items() if k in known}
            config = cls(**values)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"invalid config value: {err}") from err
        config.validate()
        return config

    def validate(self) -> None:
        if not self.no_feedforward:
            raise ConfigError("only no-feedforward (v1) models are supported")
        for name in ("vocab_size", "d_model", "num_heads", "num_kv_heads", "contrastive_dim"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if self.num_encoder_layers < 1 or self.num_decoder_layers < 1:
            raise ConfigError("the model needs at least one encoder and one decoder layer")
        if self.d_model % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ConfigError("d_model must divide into heads, and heads into KV heads")
        if self.head_dim % 2 or self.d_model % 4:
            raise ConfigError("head_dim must be even (RoPE) and d_model divisible by 4")
        if self.vocab_size <= TOOLS:
            raise ConfigError("vocab_size must hold the special ids")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
