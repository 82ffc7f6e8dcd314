"""What a serving policy is asked to serve: request lengths and speculative decoding."""

from __future__ import annotations

from dataclasses import dataclass

from ..arch import ModelArch
from ..errors import InvalidInputError

__all__ = ["SpecDecode", "Workload"]


@dataclass(frozen=True)
class Workload:
    """Nominal prompt and output lengths (tokens), spread of the uniform length distribution.

    Lengths are uniform in [spread L, L] (the measured data's convention is spread = 0.8).
    """

    isl: int
    osl: int
    spread: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.spread <= 1:
            raise InvalidInputError(f"length spread must be in (0, 1], got {self.spread}")

    @property
    def isl_mean(self) -> float:
        return self.isl * (1 + self.spread) / 2

    @property
    def osl_mean(self) -> float:
        return max(self.osl * (1 + self.spread) / 2, 1.0)

    @property
    def decode_context(self) -> float:
        """Mean context a decode step attends to (tokens): prompt + half the output."""
        return self.isl_mean + self.osl_mean / 2

    @property
    def kv_context(self) -> float:
        """Tokens of KV each admitted sequence reserves: its full length (capacity rule)."""
        return self.isl_mean + self.osl_mean


@dataclass(frozen=True)
class SpecDecode:
    """Speculative decoding: ``k`` drafted tokens, per-token acceptance ``acceptance``.

    ``acceptance_lengths`` (probabilities of accepting 0..k drafts) overrides the rate.
    ``draft`` is ``"mtp"`` (the model's own MTP head) or a draft model's
    :class:`~tokenfrontier.step.ModelTerms`.
    """

    k: int
    acceptance: float = 0.7
    draft: object = "mtp"
    acceptance_lengths: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 16:
            raise InvalidInputError(f"speculative k must be 1..16, got {self.k}")
        if not 0 <= self.acceptance <= 1:
            raise InvalidInputError(f"acceptance rate must be in [0, 1], got {self.acceptance}")
        if self.acceptance_lengths:
            if len(self.acceptance_lengths) != self.k + 1:
                raise InvalidInputError("acceptance_lengths needs k + 1 probabilities (0..k)")
            if abs(sum(self.acceptance_lengths) - 1) > 1e-6 or min(self.acceptance_lengths) < 0:
                raise InvalidInputError("acceptance_lengths must be probabilities summing to 1")

    @property
    def tokens_per_step(self) -> float:
        """Expected tokens emitted per verify step (accepted drafts + the verifier's token)."""
        if self.acceptance_lengths:
            return 1.0 + sum(i * p for i, p in enumerate(self.acceptance_lengths))
        a = self.acceptance
        return float(self.k + 1) if a == 1 else (1 - a ** (self.k + 1)) / (1 - a)

    @property
    def uses_mtp(self) -> bool:
        return isinstance(self.draft, str) and self.draft == "mtp"

    def check(self, arch: ModelArch) -> None:
        """MTP drafting needs MTP layers in the checkpoint; say how to fix it otherwise."""
        if self.uses_mtp and not arch.mtp_layers:
            raise InvalidInputError(
                f"--spec-decode draft=mtp: {arch.id} ships no MTP layers "
                "(num_nextn_predict_layers is 0 or absent); use a draft model instead, e.g. "
                "draft=MODEL with a smaller catalog model of the same family"
            )
