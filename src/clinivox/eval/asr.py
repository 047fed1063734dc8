"""`clinivox eval asr`: WER/CER, term recall, RTF and a per-utterance table over a manifest."""

from __future__ import annotations

import html
import json
import platform
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clinivox.errors import ClinivoxError
from clinivox.eval.metrics import ErrorCounts, error_counts, term_recall, uses_cer
from clinivox.io.manifest import ManifestRow, read_manifest


@dataclass
class UtteranceResult:
    audio: str
    language: str | None
    reference: str
    hypothesis: str
    errors: int
    reference_length: int
    rate: float  # WER, or CER for CJK languages
    duration_s: float
    decode_s: float
    terms_found: int = 0
    terms_total: int = 0
    hyp_terms: int = 0  # lexicon terms in the hypothesis (when a lexicon is given)
    inserted_terms: int = 0  # ... of which the reference does not have
    error: str | None = None  # set when the file failed; it is then left out of the totals


@dataclass
class SystemReport:
    system: str
    utterances: list[UtteranceResult] = field(default_factory=list)

    def _ok(self) -> list[UtteranceResult]:
        return [u for u in self.utterances if u.error is None]

    def totals(self) -> dict[str, Any]:
        ok = self._ok()
        words = [u for u in ok if not uses_cer(u.language)]
        chars = [u for u in ok if uses_cer(u.language)]

        def rate(rows: list[UtteranceResult]) -> float | None:
            n = sum(u.reference_length for u in rows)
            return sum(u.errors for u in rows) / n if n else None

        audio = sum(u.duration_s for u in ok)
        decode = sum(u.decode_s for u in ok)
        t_total = sum(u.terms_total for u in ok)
        hyp_terms = sum(u.hyp_terms for u in ok)
        inserted = sum(u.inserted_terms for u in ok)
        ref_words = sum(u.reference_length for u in words)
        return {
            "system": self.system,
            "utterances": len(ok),
            "failed": len(self.utterances) - len(ok),
            "wer": rate(words),
            "cer": rate(chars),
            "term_recall": (sum(u.terms_found for u in ok) / t_total) if t_total else None,
            "terms_total": t_total,
            "term_precision": 1.0 - inserted / hyp_terms if hyp_terms else None,
            "inserted_terms": inserted,
            "inserted_terms_per_1k_words": 1000.0 * inserted / ref_words if ref_words else None,
            "audio_s": round(audio, 3),
            "decode_s": round(decode, 3),
            "rtf": decode / audio if audio else None,
        }


Transcriber = Callable[[ManifestRow], tuple[str, float]]  # row -> (hypothesis, duration_s)


def term_bag(text: str, matcher) -> Counter[str]:
    """The lexicon terms `matcher` finds in `text`, by canonical name, with their counts."""
    return Counter(h.entry.canonical.lower() for h in matcher.find(text))


def inserted_terms(reference: str, hypothesis: str, matcher) -> tuple[int, int]:
    """(lexicon terms in the hypothesis, how many of them the reference does not have)."""
    hyp, ref = term_bag(hypothesis, matcher), term_bag(reference, matcher)
    return sum(hyp.values()), sum((hyp - ref).values())


def evaluate(rows: list[ManifestRow], system: str, transcribe: Transcriber,
             progress: Callable[[], None] | None = None,
             term_matcher=None) -> SystemReport:
    """Run `transcribe` on every row; a failing file is recorded, the rest continue.
    With `term_matcher` (a medical TermMatcher), lexicon-term insertions are counted."""
    report = SystemReport(system)
    for row in rows:
        t0 = time.perf_counter()
        try:
            hyp, duration_s = transcribe(row)
            err = None
        except ClinivoxError as exc:
            hyp, duration_s, err = "", row.duration_s or 0.0, f"{type(exc).__name__}: {exc}"
        dt = time.perf_counter() - t0
        counts = error_counts(row.text or "", hyp, row.language) if err is None \
            else ErrorCounts(0, 0, 0, 0)
        found, total = term_recall(list(row.terms), hyp, row.language)
        n_hyp, n_ins = inserted_terms(row.text or "", hyp, term_matcher) \
            if term_matcher is not None and err is None else (0, 0)
        report.utterances.append(UtteranceResult(
            audio=str(row.audio), language=row.language, reference=row.text or "",
            hypothesis=hyp, errors=counts.errors, reference_length=counts.reference_length,
            rate=counts.rate, duration_s=duration_s, decode_s=dt, terms_found=found,
            terms_total=total, hyp_terms=n_hyp, inserted_terms=n_ins, error=err))
        if progress is not None:
            progress()
    return report


def machine_description() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def _fmt(x: float | None, pct: bool = True) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.2f}%" if pct else f"{x:.3f}"


def render_markdown(reports: list[SystemReport], meta: dict[str, Any]) -> str:
    lines = [f"# ASR evaluation: {meta.get('manifest', '')}", "",
             f"Machine: {meta.get('machine', '')}", "",
             "| system | utts | failed | WER | CER | term recall | term precision | "
             "inserted terms /1k words | RTF |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in reports:
        t = r.totals()
        ins = t["inserted_terms_per_1k_words"]
        lines.append(f"| {t['system']} | {t['utterances']} | {t['failed']} | {_fmt(t['wer'])} | "
                     f"{_fmt(t['cer'])} | {_fmt(t['term_recall'])} | "
                     f"{_fmt(t['term_precision'])} | {'-' if ins is None else f'{ins:.2f}'} | "
                     f"{_fmt(t['rtf'], False)} |")
    for r in reports:
        lines += ["", f"## {r.system}: per utterance", "",
                  "| audio | dur s | errors/ref | rate | terms | hypothesis |",
                  "|---|---|---|---|---|---|"]
        for u in r.utterances:
            hyp = u.error or u.hypothesis
            terms = f"{u.terms_found}/{u.terms_total}" if u.terms_total else "-"
            lines.append(f"| {Path(u.audio).name} | {u.duration_s:.1f} | "
                         f"{u.errors}/{u.reference_length} | {_fmt(u.rate)} | {terms} | "
                         f"{hyp.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def render_html(reports: list[SystemReport], meta: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(t['system'])}</td><td>{t['utterances']}</td><td>{t['failed']}</td>"
        f"<td>{_fmt(t['wer'])}</td><td>{_fmt(t['cer'])}</td><td>{_fmt(t['term_recall'])}</td>"
        f"<td>{_fmt(t['rtf'], False)}</td></tr>" for t in (r.totals() for r in reports))
    detail = ""
    for r in reports:
        body = "".join(
            f"<tr class='{'bad' if u.error or u.rate > 0.2 else ''}'><td>{e(Path(u.audio).name)}"
            f"</td><td>{u.duration_s:.1f}</td><td>{_fmt(u.rate)}</td><td>{e(u.reference)}</td>"
            f"<td>{e(u.error or u.hypothesis)}</td></tr>" for u in r.utterances)
        detail += (f"<h2>{e(r.system)}</h2><table><tr><th>audio</th><th>dur s</th><th>rate</th>"
                   f"<th>reference</th><th>hypothesis</th></tr>{body}</table>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>clinivox ASR evaluation</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}"
        "tr.bad{background:#fee}</style></head><body>"
        f"<h1>ASR evaluation</h1><p>{e(str(meta.get('manifest', '')))}<br>"
        f"{e(str(meta.get('machine', '')))}</p><table><tr><th>system</th><th>utts</th>"
        f"<th>failed</th><th>WER</th><th>CER</th><th>term recall</th><th>RTF</th></tr>{rows}"
        f"</table>{detail}</body></html>"
    )


def write_reports(reports: list[SystemReport], meta: dict[str, Any], out_dir: Path,
                  stem: str = "eval_asr") -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / f"{stem}.json", "md": out_dir / f"{stem}.md",
             "html": out_dir / f"{stem}.html"}
    payload = {"meta": meta, "systems": [
        {"totals": r.totals(), "utterances": [asdict(u) for u in r.utterances]} for r in reports]}
    # owner-only, as every transcript clinivox writes: the reports hold every hypothesis,
    # and an evaluation may run on a hospital's own recordings (they were 0644)
    from clinivox.io.writers import _atomic_write

    _atomic_write(paths["json"], json.dumps(payload, indent=2, ensure_ascii=False))
    _atomic_write(paths["md"], render_markdown(reports, meta))
    _atomic_write(paths["html"], render_html(reports, meta))
    return paths


def manifest_rows(path: str | Path) -> list[ManifestRow]:
    return read_manifest(path, require_text=True)
