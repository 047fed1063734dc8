"""A self-contained HTML consultation report: summary, speaker timeline plot (matplotlib,
embedded as PNG), chapters, alerts and the speaker-attributed transcript with medical
terms highlighted. No external assets: it opens offline."""

from __future__ import annotations

import base64
import html
import io
import re

from clinivox.scribe.record import CHAPTERS, ConsultationRecord

_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
            "#17becf"]
_CHAPTER_COLOURS = {"complaint": "#fde2e2", "history": "#e2ecfd", "examination": "#e6f6e2",
                    "plan": "#f6efd9"}


def timeline_png(record: ConsultationRecord) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    turns = (record.diarization or {}).get("turns") or [
        {"start_s": s.start_s, "end_s": s.end_s, "speaker": s.speaker or "?"}
        for s in record.segments]
    speakers = list(record.speakers) or sorted({t["speaker"] for t in turns})
    fig, ax = plt.subplots(figsize=(10, 0.7 * len(speakers) + 1.4), dpi=110)
    for ch in record.chapters:
        ax.axvspan(ch.start_s, ch.end_s, color=_CHAPTER_COLOURS.get(ch.name, "#eee"), zorder=0)
        ax.text(0.5 * (ch.start_s + ch.end_s), len(speakers) - 0.35, ch.name, ha="center",
                va="bottom", fontsize=8, color="#555")
    for i, spk in enumerate(speakers):
        bars = [(t["start_s"], t["end_s"] - t["start_s"]) for t in turns
                if t["speaker"] == spk and not t.get("overlap")]
        ax.broken_barh(bars, (i - 0.35, 0.7), color=_COLOURS[i % len(_COLOURS)], zorder=2)
    for a in record.alerts:
        ax.axvline(a["start_s"], color="#b00020", lw=1.5, ls="--", zorder=3)
    ax.set_yticks(range(len(speakers)))
    ax.set_yticklabels([f"{s} ({record.speakers.get(s, '?')})" for s in speakers])
    ax.set_xlim(0, max(record.duration_s, 1.0))
    ax.set_ylim(-0.6, len(speakers) + 0.2)
    ax.set_xlabel("time (s)")
    ax.set_title("Who spoke when")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _highlight(text: str, terms: list[str]) -> str:
    out = html.escape(text)
    for term in sorted(set(terms), key=len, reverse=True):
        out = re.sub(rf"(?<![\w>])({re.escape(html.escape(term))})(?![\w<])",
                     r'<mark class="term">\1</mark>', out, flags=re.I)
    return out


def _review(corrections) -> str:
    """A marker under a segment for each word the medical layer replaced: a machine
    substitution a clinician should confirm (it can be wrong)."""
    e = html.escape
    def likely(c) -> str:
        v = c.verified
        return f" (verifier: {round(100 * v)}% likely right)" if v is not None else ""

    return "".join(f'<div class="review" title="machine substitution: check it against the '
                   f'audio">review: heard “{e(c.original)}”, written '
                   f'“{e(c.replacement)}”{likely(c)}</div>' for c in corrections
                   if c.score != 0.0 or c.original.lower() != c.replacement.lower())


def render_html(record: ConsultationRecord, title: str) -> str:
    e = html.escape
    png = base64.b64encode(timeline_png(record)).decode("ascii")
    spk_index = {s: i for i, s in enumerate(record.speakers)}
    by_seg: dict[int, list[str]] = {}
    for t in record.terms:
        by_seg.setdefault(t["segment"], []).append(t["term"])
    chapter_of = {sid: ch.name for ch in record.chapters for sid in ch.segment_ids}
    rows = []
    last_chapter = None
    for s in record.segments:
        ch = chapter_of.get(s.id)
        if ch != last_chapter:
            rows.append(f'<tr class="chapter"><td colspan="3">{e(ch or "")}</td></tr>')
            last_chapter = ch
        colour = _COLOURS[spk_index.get(s.speaker or "", 0) % len(_COLOURS)]
        role = record.speakers.get(s.speaker or "", "")
        rows.append(f'<tr><td class="t">{_clock(s.start_s)}</td>'
                    f'<td class="spk" style="color:{colour}">{e(s.speaker or "?")}'
                    f'<br><small>{e(role)}</small></td>'
                    f'<td>{_highlight(s.text, by_seg.get(s.id, []))}'
                    f'{_review(s.corrections)}</td></tr>')
    summ = record.summary
    alerts = "".join(f'<li><b>{e(a["category"].replace("_", " "))}</b> at '
                     f'{_clock(a["start_s"])}: “{e(a["text"])}”</li>' for a in record.alerts)
    terms: dict[tuple, int] = {}
    for t in record.terms:
        terms.setdefault((t["canonical"], t["category"], t.get("code")), 0)
        terms[(t["canonical"], t["category"], t.get("code"))] += 1
    term_rows = "".join(f"<tr><td>{e(c)}</td><td>{e(cat)}</td><td>{e(code or '')}</td>"
                        f"<td>{n}</td></tr>" for (c, cat, code), n in sorted(terms.items()))
    n_fixes = sum(1 for s in record.segments for c in s.corrections
                  if c.score != 0.0 or c.original.lower() != c.replacement.lower())
    chapters = " → ".join(f"{e(c.name)} ({_clock(c.start_s)})" for c in record.chapters)
    plan = "".join(f"<li>{e(p)}</li>" for p in summ.get("plan", [])) or "<li>-</li>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}: consultation record</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.1em; margin-top: 1.5em; }}
.summary {{ display: grid; grid-template-columns: 12em 1fr; gap: .3em 1em; }}
.summary dt {{ font-weight: 600; }}
.alerts {{ background: #fdecea; border-left: 5px solid #b00020; padding: .5em 1em; }}
table {{ border-collapse: collapse; width: 100%; }}
td {{ padding: .25em .5em; vertical-align: top; border-bottom: 1px solid #eee; }}
td.t {{ color: #777; white-space: nowrap; }} td.spk {{ font-weight: 600; width: 8em; }}
tr.chapter td {{ background: #f3f3f3; font-weight: 600; text-transform: capitalize; }}
mark.term {{ background: #fff3a3; }}
.review {{ color: #a33; font-size: .85em; margin-top: .2em; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Consultation record: {e(title)}</h1>
<p>{_clock(record.duration_s)} of audio, {len(record.speakers)} speaker(s):
{", ".join(f"{e(s)} = {e(r)}" for s, r in record.speakers.items())}</p>
<h2>Summary</h2>
<dl class="summary">
<dt>Presenting complaint</dt><dd>{e(summ.get("presenting_complaint") or "-")}</dd>
<dt>Medications</dt><dd>{e(", ".join(summ.get("medications", [])) or "-")}</dd>
<dt>Diagnoses mentioned</dt><dd>{e(", ".join(summ.get("diagnoses", [])) or "-")}</dd>
<dt>Symptoms mentioned</dt><dd>{e(", ".join(summ.get("symptoms", [])) or "-")}</dd>
<dt>Allergies</dt><dd>{e(_allergies(summ))}</dd>
<dt>Denied</dt><dd>{e(", ".join(summ.get("denied", [])) or "-")}</dd>
<dt>Past history</dt><dd>{e(", ".join(summ.get("past_history", [])) or "-")}</dd>
<dt>Family history</dt><dd>{e(", ".join(summ.get("family_history", [])) or "-")}</dd>
<dt>Vitals</dt><dd>{e(", ".join(f"{v['kind']} {v['value']}" for v in summ.get("vitals", []))
                      or "-")}</dd>
<dt>Plan</dt><dd><ul>{plan}</ul></dd>
</dl>
{f'<h2>Critical alerts</h2><ul class="alerts">{alerts}</ul>' if alerts else ""}
<h2>Timeline</h2>
<img alt="speaker timeline" src="data:image/png;base64,{png}">
<p>Chapters: {chapters or "-"}</p>
{f'<h2>Machine substitutions to review ({n_fixes})</h2><p>The medical layer replaced '
  'these words; each is marked in the transcript. Confirm them against the audio.</p>'
  if n_fixes else ""}
<h2>Medical terms</h2>
<table><tr><th>term</th><th>category</th><th>code</th><th>mentions</th></tr>{term_rows}</table>
<h2>Transcript</h2>
<table id="transcript">{"".join(rows)}</table>
<p><small>Generated by clinivox scribe. Machine transcription and speaker labels can be
wrong: check against the recording before clinical use.</small></p>
</body></html>
"""


def _allergies(summary: dict) -> str:
    """The allergies as a record must show them: the allergens, "none known" when that was
    said, or "not stated" (an empty list would read as none)."""
    if summary.get("allergies"):
        return ", ".join(summary["allergies"])
    return {"none known": "none known (stated)"}.get(summary.get("allergy_status", ""),
                                                     "not stated")


def _clock(t: float) -> str:
    m, s = divmod(round(t), 60)
    return f"{m}:{s:02d}"


__all__ = ["CHAPTERS", "render_html", "timeline_png"]
