"""Diarization scoring: RTTM/UEM/STM readers, DER with pyannote.metrics, cpWER."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from clinivox.errors import InputError
from clinivox.io.text import read_user_text


class RttmError(InputError):
    """A reference file (RTTM, UEM, STM) is malformed; the message names the line."""


def _lines(path: Path):
    text = read_user_text(path, RttmError, "reference")
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith((";;", "#")):
            yield n, line.split()


def read_rttm(path: Path) -> dict[str, list[tuple[float, float, str]]]:
    """uri -> [(start_s, end_s, speaker)]. Only SPEAKER lines are used."""
    out: dict[str, list[tuple[float, float, str]]] = {}
    for n, f in _lines(Path(path)):
        if f[0] != "SPEAKER":
            if f[0] in ("SPKR-INFO", "LEXEME", "NON-SPEECH", "NON-LEX", "SEGMENT"):
                continue
            raise RttmError(f"{Path(path).name}:{n}: not an RTTM line (type {f[0][:20]!r})")
        if len(f) < 8:
            raise RttmError(f"{Path(path).name}:{n}: RTTM SPEAKER lines need at least 8 fields")
        try:
            start, dur = float(f[3]), float(f[4])
        except ValueError:
            raise RttmError(f"{Path(path).name}:{n}: onset/duration are not numbers") from None
        if start < 0 or dur < 0:
            raise RttmError(f"{Path(path).name}:{n}: negative onset or duration")
        out.setdefault(f[1], []).append((start, start + dur, f[7]))
    if not out:
        raise RttmError(f"{Path(path).name}: no SPEAKER lines")
    return out


def read_uem(path: Path) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for n, f in _lines(Path(path)):
        try:
            out.setdefault(f[0], []).append((float(f[2]), float(f[3])))
        except (IndexError, ValueError):
            raise RttmError(f"{Path(path).name}:{n}: UEM lines are 'uri channel start end'") \
                from None
    return out


def read_stm(path: Path) -> dict[str, list[tuple[str, str]]]:
    """uri -> [(speaker, text)] in time order (STM: uri channel speaker start end text)."""
    rows: dict[str, list[tuple[float, str, str]]] = {}
    for n, f in _lines(Path(path)):
        if len(f) < 5:
            raise RttmError(f"{Path(path).name}:{n}: STM lines need uri channel speaker "
                            "start end [text]")
        try:
            start = float(f[3])
        except ValueError:
            raise RttmError(f"{Path(path).name}:{n}: start is not a number") from None
        rows.setdefault(f[0], []).append((start, f[2], " ".join(f[5:])))
    return {u: [(spk, t) for _, spk, t in sorted(r)] for u, r in rows.items()}


def _annotation(uri: str, turns):
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri=uri)
    for i, (s, e, spk) in enumerate(turns):
        if e > s:
            ann[Segment(s, e), i] = spk
    return ann


def der_report(refs: dict, hyps: dict, uems: dict | None = None) -> dict:
    """DER at collar 0 and 0.25 s (pyannote.metrics collar semantics, overlap scored),
    per file and over all files, plus the speaker-count error."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metrics = {c: DiarizationErrorRate(collar=c, skip_overlap=False) for c in (0.0, 0.25)}
    files = {}
    count_err = 0
    for uri, hyp in hyps.items():
        ref = _annotation(uri, refs[uri])
        h = _annotation(uri, [(t.start_s, t.end_s, t.speaker) for t in hyp.turns])
        regions = (uems or {}).get(uri) or [(0.0, max(hyp.duration_s, ref.get_timeline()
                                                      .extent().end if ref else 0.0))]
        uem = Timeline([Segment(s, e) for s, e in regions])
        n_ref = len({spk for _, _, spk in refs[uri]})
        files[uri] = {
            "der_collar_0": round(float(metrics[0.0](ref, h, uem=uem)), 4),
            "der_collar_0.25": round(float(metrics[0.25](ref, h, uem=uem)), 4),
            "speakers_ref": n_ref, "speakers_hyp": len(hyp.speakers),
        }
        count_err += abs(n_ref - len(hyp.speakers))
    return {
        "files": files,
        "total": {"der_collar_0": round(abs(metrics[0.0]), 4),
                  "der_collar_0.25": round(abs(metrics[0.25]), 4),
                  "speaker_count_abs_error": count_err,
                  "files_with_exact_count": sum(f["speakers_ref"] == f["speakers_hyp"]
                                                for f in files.values())},
        "collar_note": "pyannote.metrics collar: total width removed around reference "
                       "boundaries (0.25 = +-0.125 s)",
    }


def cp_wer(reference: Sequence[tuple[str, str]], hypothesis: Sequence[tuple[str, str]],
           language: str | None = "en") -> dict:
    """Concatenated minimum-permutation WER: each speaker's words joined, speakers matched
    one to one to minimise errors; unmatched speakers' words are all errors."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    from clinivox.eval.metrics import error_counts, normalize_text

    def by_speaker(pairs):
        out: dict[str, list[str]] = {}
        for spk, text in pairs:
            out.setdefault(spk, []).append(text)
        return {k: " ".join(v) for k, v in out.items()}

    ref, hyp = by_speaker(reference), by_speaker(hypothesis)
    r_keys, h_keys = list(ref), list(hyp)
    size = max(len(r_keys), len(h_keys))
    cost = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            r = ref[r_keys[i]] if i < len(r_keys) else ""
            h = hyp[h_keys[j]] if j < len(h_keys) else ""
            if r:
                c = error_counts(r, h, language)
                cost[i, j] = c.substitutions + c.deletions + c.insertions
            else:
                cost[i, j] = len(normalize_text(h, language).split())
    rows, cols = linear_sum_assignment(cost)
    errors = float(cost[rows, cols].sum())
    ref_words = sum(len(normalize_text(t, language).split()) for t in ref.values())
    plain = error_counts(" ".join(t for _, t in reference), " ".join(t for _, t in hypothesis),
                         language)
    return {"cpwer": round(errors / max(ref_words, 1), 4),
            "wer": round(plain.rate, 4), "reference_words": ref_words,
            "speakers_ref": len(r_keys), "speakers_hyp": len(h_keys)}
