"""What a study claims to show, declared in its YAML next to the arms it compares, so the report speaks to the arms
the study defines and a renamed or new arm needs no code: ``claims: [{claim: ..., arm: a, baseline: b}]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from omegaconf import MISSING

from mosaicbert.config.loading import ConfigError
from mosaicbert.did_you_mean import did_you_mean


@dataclass
class Claim:
    """One comparison the report makes: ``arm`` against ``baseline`` (``arm`` doing better supports ``claim``), or,
    without a baseline, ``arm`` alone (e.g. the same arm scored at several lengths)."""

    claim: str = MISSING
    arm: str = MISSING
    baseline: Optional[str] = None


def check_claims(claims: Iterable[Claim], arms: Iterable[str], *, need_baseline: bool, key: str = "claims") -> None:
    """Every claim names arms of the study (one line naming the key, with a did-you-mean otherwise)."""
    arms = list(arms)
    for index, claim in enumerate(claims):
        if need_baseline and claim.baseline is None:
            raise ConfigError(f"config key '{key}[{index}].baseline': the claim {claim.claim!r} compares "
                              f"'{claim.arm}' with another arm; name it")
        for field, arm in (("arm", claim.arm), ("baseline", claim.baseline)):
            if arm is not None and arm not in arms:
                raise ConfigError(f"config key '{key}[{index}].{field}': unknown arm {arm!r}"
                                  f"{did_you_mean(arm, arms)}; the study's arms: {', '.join(arms)}")



def check_run_arms(arms: Iterable[str], run_arms: Optional[Iterable[str]]) -> None:
    """A study declares at least one arm and runs only arms it declares (one line naming the key otherwise)."""
    arms = list(arms)
    if not arms:
        raise ConfigError("config key 'arms': give at least one arm")
    for name in run_arms or ():
        if name not in arms:
            raise ConfigError(f"config key 'run_arms': unknown arm {name!r}; choose from: {', '.join(arms)}")
