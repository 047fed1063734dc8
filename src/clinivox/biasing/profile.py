"""`BiasProfile`: the rescoring weights and switches, and the profiles clinivox ships.

`clinivox tune` writes a tuned profile into the cache; `--bias-profile NAME|FILE` picks one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from clinivox.errors import InputError

HERE = Path(__file__).parent
DEFAULT_PROFILE = HERE / "default_profile.json"
# tuned for the clinical models (`asr.clinical`) on the synthetic corpus's validation split
CLINICAL_PROFILE = HERE / "clinical_profile.json"
# Profiles shipped with clinivox, by name (`--bias-profile fast`). `thorough` (the acoustic
# screen) became the default on 2026-12-02; the name is kept for existing scripts.
# `primed` adds domain priming (`BiasProfile.prime`), for conversational clinical audio.
BUILTIN_PROFILES = {"default": DEFAULT_PROFILE,
                    "fast": HERE / "fast_profile.json",
                    "primed": HERE / "primed_profile.json",
                    "thorough": DEFAULT_PROFILE, "clinical": CLINICAL_PROFILE}


@dataclass(frozen=True)
class BiasProfile:
    am_weight: float = 1.0  # a: Whisper's log-probability of the rewritten chunk text
    lm_weight: float = 0.3  # b: domain LM log-probability of the rewritten segment
    length_weight: float = 0.0  # c: per word of length change (words in - words out)
    bias: float = 4.0  # log-domain bonus per inserted term (times the term's weight)
    gate_logprob: float = -0.15  # spans Whisper wrote above this mean token log-prob stay
    min_similarity: float = 0.7  # retrieval cut-off on sound similarity
    per_span: int = 4  # retrieved forms per span
    max_candidates: int = 24  # rewrites rescored per segment
    glossary: int = 12  # retrieved forms listed in the scoring prompt (0: no prompt)
    # written before the listed forms: "Terms: " for a model trained with term-list prompts
    # (the clinical models, `train.finetune.data.format_prompt`), "" for Whisper as released
    glossary_prefix: str = ""
    # decode with the user's terms (`--vocab`, a stream's `vocab`) listed in the prompt, up
    # to this many (0: off): for models trained with term-list prompts
    term_prompt: int = 0
    n_best: int = 5  # beam hypotheses used as retrieval keys (1: the best only)
    score_tail: int = 4  # tokens after a rewrite that are scored (0: to the segment's end)
    rare_penalty: float = 0.0  # log-domain cost of inserting a rare drug (`LexiconEntry.rare`)
    reprime: int = 0  # forms left out of the glossary rescored under a prompt of their own
    reprime_floor: float = -10.0  # ... when their gain without it is above this
    screen: int = 0  # per unsure word: common drug forms screened by Whisper (0: off)
    screen_keep: int = 2  # ... of which the best by Whisper's score become candidates
    screen_words: int = 2  # unsure words screened per segment, least sure first
    screen_logprob: float = -0.7  # a word Whisper wrote below this mean log-prob is unsure
    screen_similarity: float = 0.5  # sound similarity floor of screened forms
    screen_penalty: float = 0.0  # log-domain cost of a form only the screen found
    prime: bool = False  # decode with the LM's domain prompt, rescore the beam without it
    propose: int = 0  # beam width of a primed re-decode from the first unsure word (0: off)
    propose_logprob: float = -0.5  # ... a word Whisper wrote below this mean log-prob
    # a rewrite is applied only when its score gain (a correction's `score`) exceeds this:
    # raise it to trade recall for fewer machine substitutions
    min_score: float = 0.0
    # a learned check on each rewrite (`biasing.verifier`): a shipped verifier's name or a
    # file from `clinivox tune --verifier`; "" for none
    verifier: str = ""
    # rewrites the verifier finds less likely than this to be right are skipped (None: the
    # verifier's own threshold; 0: every rewrite passes, as without a verifier)
    verifier_threshold: float | None = None
    # with a clinical build (`asr.clinical`): a chunk it wrote as plain English, with no
    # lexicon term, no correction and no word outside Whisper's everyday vocabulary, is
    # decoded again by the bundled model it was made from, whose text is kept (the
    # clinical decoder reads general English worse; docs/models.md "General fallback")
    general_fallback: bool = False
    # the beam of that second decode (0: the caller's beam; 1: greedy). docs/models.md
    # "A cheaper second search" measures beam 5, 2 and greedy (bench/bench_fallback_beam.py)
    fallback_beam: int = 0

    @classmethod
    def load(cls, path: str | Path) -> BiasProfile:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read bias profile {path.name}: {exc}") from None
        known = {f.name for f in fields(cls)}
        weights = data.get("weights", data) if isinstance(data, dict) else None
        if not isinstance(weights, dict) or set(weights) - known:
            raise InputError(f"{path.name}: not a clinivox bias profile")
        for name, low in (("n_best", 1), ("score_tail", 0), ("reprime", 0), ("screen", 0),
                          ("screen_keep", 1), ("screen_words", 1), ("propose", 0),
                          ("term_prompt", 0), ("fallback_beam", 0)):
            v = weights.get(name, low)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InputError(f"{path.name}: {name} must be a whole number >= {low}")
        vt = weights.get("verifier_threshold")
        if vt is not None and (isinstance(vt, bool) or not isinstance(vt, int | float)
                               or not 0 <= vt <= 1):
            raise InputError(f"{path.name}: verifier_threshold must be a number in [0, 1]")
        for name in ("glossary_prefix", "verifier"):
            if not isinstance(weights.get(name, ""), str):
                raise InputError(f"{path.name}: {name} must be text")
        for name in ("prime", "general_fallback"):
            if not isinstance(weights.get(name, False), bool):
                raise InputError(f"{path.name}: {name} must be true or false")
        return cls(**weights)

    def save(self, path: Path, **meta: object) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"weights": asdict(self), **meta}, indent=2) + "\n",
                        encoding="utf-8")


def default_profile_path(clinical: bool = False) -> Path:
    """Where `clinivox tune` writes the profile `--medical` then uses: one for Whisper as
    released, one for the models trained with term-list prompts (`clinical`), whose
    weights differ (a profile tuned on one kind would otherwise be used with the other)."""
    from clinivox.medical.vocabulary import medical_dir

    return medical_dir() / ("profile.clinical.json" if clinical else "profile.json")


def resolve_profile(profile: str | Path | None, clinical: bool = False) -> Path:
    """The bias profile file: `profile` as a path, or the name of a built-in profile
    (`fast`); None: the cache's tuned profile, else the built-in default (for a model
    trained with term-list prompts, `clinical`: the tuned clinical one, else the shipped
    clinical profile)."""
    if profile is None:
        cached = default_profile_path(clinical)
        if cached.is_file():
            return cached
        return CLINICAL_PROFILE if clinical else DEFAULT_PROFILE
    path = Path(profile)
    if path.is_file():
        return path
    if str(profile) in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[str(profile)]
    raise InputError(f"bias profile not found: {path.name} (give a profile file from "
                     f"`clinivox tune`, or one of: {', '.join(BUILTIN_PROFILES)})")
