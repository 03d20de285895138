"""What a study claims to show, declared in its YAML next to the arms it compares, so the report speaks to the arms
the study defines and a renamed or new arm needs no code: ``claims: [{claim: ..., arm: a, baseline: b}]``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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


def claims_of(results: dict) -> list[dict]:
    """The claims a report makes from ``results``: those its study config recorded. Results written before studies
    declared their claims recorded none: theirs are the claims the study's YAML (named in the results' command,
    relative to the repository or the working directory) declares now, next to the same arms."""
    recorded = results["study"].get("claims")
    if recorded is not None:
        return recorded
    import shlex

    import yaml

    repo = Path(__file__).resolve().parents[3]
    for word in shlex.split(results.get("command", "")):
        if word.endswith((".yaml", ".yml")):
            path = next((p for p in (Path(word), repo / word) if p.is_file()), None)
            if path is not None:
                declared = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("claims") or []
                return [{"claim": c["claim"], "arm": c["arm"], "baseline": c.get("baseline")} for c in declared]
    return []
