"""Build a consultation record from speaker-attributed segments.

Chapters: each segment is compared (MiniLM sentence embeddings, numpy) with short examples
of what is said in each part of a consultation, keyword cues add to that, and a dynamic
programme picks one chapter per segment, paying for every switch and more for going back
(consultations mostly move forward: complaint, history, examination, plan).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from clinivox.asr.types import Segment

CHAPTERS = ("complaint", "history", "examination", "plan")
_EXAMPLES = {
    "complaint": [
        "What brings you in today?", "How can I help you today?",
        "I've been having chest pain since yesterday.", "What seems to be the problem?",
        "I've had a bad cough for a week.", "I came because my stomach hurts.",
        "Tell me what's been going on."],
    "history": [
        "How long have you had it?", "Do you have any other medical conditions?",
        "Are you taking any medications at the moment?", "Do you have any allergies?",
        "Does anyone in your family have heart problems?", "Do you smoke or drink alcohol?",
        "Have you had this before?", "Any fever, nausea or vomiting?",
        "I've been on tablets for my blood pressure for years."],
    "examination": [
        "I'm going to examine you now.", "Let me listen to your chest.",
        "Your blood pressure is a bit high.", "Can you take a deep breath in?",
        "Does it hurt when I press here?", "Your temperature is normal.",
        "Your heart rate and oxygen levels are fine."],
    "plan": [
        "I'm going to prescribe you some antibiotics.", "We'll arrange some blood tests.",
        "I'd like you to come back in a week.", "I'll refer you to a specialist.",
        "If it gets worse, call an ambulance or go to A&E.",
        "Take paracetamol regularly and drink plenty of fluids.",
        "I think this is most likely a viral infection."],
}
_CUES = {
    "complaint": r"\b(?:brings you|how can i help|what seems|the problem|"
                 r"what's (?:been )?going on)\b",
    "history": r"\b(?:how long|any (?:other|allerg|medic|fever|family)|do you (?:smoke|drink)|"
               r"family|past|before|medical history|medications?|allerg\w+)\b",
    "examination": r"\b(?:examin\w+|listen to|blood pressure|temperature|deep breath|press|"
                   r"oxygen|heart rate|pulse|look at|feel your)\b",
    "plan": r"\b(?:prescrib\w+|refer\w*|arrange|come back|follow[- ]up|take (?:some|one|two)|"
            r"plan|advise|recommend|if it gets worse|safety|a&e|ambulance|most likely|"
            r"i think (?:this|it)|blood tests?)\b",
}
_PLAN_SENTENCE = re.compile(_CUES["plan"] + r"|\b(?:i'?ll|we'?ll|i'?d like you to|you should|"
                            r"make sure)\b", re.I)
# An order given in the room ("Give adrenaline now.", "Start compressions.", "Get IV
# access."): a plan wherever it is said, not only in the plan chapter.
# An order may open the sentence or a clause after a comma or a semicolon ("He's in
# VF, charge the defibrillator."): emergency speech states the finding, then the order.
_ORDER = re.compile(r"(?:^|[,;]\s*)(?:and\s+|then\s+|now\s+)?(?:please\s+)?"
                    r"(?:give|start|stop|administer|increase|decrease|prescribe|get|draw|send|"
                    r"order|check|repeat|book|arrange|refer|call|continue|switch|add|hold|"
                    r"withhold|push|bolus|prepare|apply|activate|begin|charge|intubate|bag|"
                    r"resume|commence)\b(?!\s+(?:better|worse|well|on with)\b)", re.I)

# A clinician's stated next step, wherever in the consultation it is said ("OK, we will do
# an ECG and start aspirin now", "I'm going to refer you to the TIA clinic", "let's book
# some bloods"): the speaker commits to an action a plan records. The verbs are actions
# on the patient's care; a vaguer "let's start with your cough", "I'll just get my
# stopwatch" or "let's try" is no plan.
_INTENT = re.compile(
    r"\b(?:(?:we|i)(?:'ll| will| are going to|'re going to| am going to|'m going to|"
    r"'d like to| would like to)|let's)\s+(?:(?:just|also|then|now|probably|definitely|"
    r"quickly|go ahead and)\s+)?"
    r"(?:arrange|book|refer|prescribe|order|organi[sz]e|request|admit|increase|reduce|"
    r"switch|swab|examine|repeat|send (?:you|a|an|the|off|it|that|them)|start (?:you|him|her|"
    r"them)\b|put (?:you|him|her) on|give (?:you|him|her|them)\b|stop (?:the|your|his|her)|"
    r"take (?:some )?(?:bloods?|a (?:swab|sample|blood))|do (?:a|an|some|the|your|his|her|"
    r"all the) (?:\w+ )?(?:tests?|bloods?|ecg|scan|x-?ray|swab|referral|check|examination|"
    r"ultrasound|urine|screen|assessment)|check (?:your|his|her|the|for)|"
    r"run (?:some|a|an))", re.I)


@dataclass
class Chapter:
    name: str
    start_s: float
    end_s: float
    segment_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3), "segments": self.segment_ids}


@dataclass
class ConsultationRecord:
    segments: list[Segment]
    speakers: dict[str, str]  # speaker -> role
    chapters: list[Chapter]
    terms: list[dict]
    alerts: list[dict]
    summary: dict
    duration_s: float
    diarization: dict | None = None

    def to_dict(self) -> dict:
        return {
            "duration_s": round(self.duration_s, 3),
            "speakers": [{"speaker": s, "role": r} for s, r in self.speakers.items()],
            "summary": self.summary,
            "chapters": [c.to_dict() for c in self.chapters],
            "terms": self.terms,
            "alerts": self.alerts,
            "segments": [s.to_dict() for s in self.segments],
            **({"diarization": self.diarization} if self.diarization else {}),
        }


def chapter_scores(texts: Sequence[str], encoder=None) -> np.ndarray:
    """(segments, 4) evidence for each chapter."""
    scores = np.zeros((len(texts), len(CHAPTERS)))
    for j, ch in enumerate(CHAPTERS):
        pat = re.compile(_CUES[ch], re.I)
        for i, t in enumerate(texts):
            scores[i, j] += 0.25 * len(pat.findall(t))
    if encoder is not None and texts:
        seg = encoder.encode(list(texts))
        for j, ch in enumerate(CHAPTERS):
            ex = encoder.encode(_EXAMPLES[ch])
            scores[:, j] += (seg @ ex.T).max(axis=1)
    return scores


def segment_chapters(scores: np.ndarray, switch: float = 0.35, back: float = 0.6) -> list[int]:
    """One chapter index per segment: best total evidence minus switching costs."""
    n, k = scores.shape
    if n == 0:
        return []
    cost = np.full((n, k), -np.inf)
    prev = np.zeros((n, k), int)
    cost[0] = scores[0] - 0.1 * np.arange(k)  # consultations start at the beginning
    for i in range(1, n):
        for j in range(k):
            trans = cost[i - 1] - np.where(np.arange(k) == j, 0.0,
                                           switch + back * (np.arange(k) > j))
            prev[i, j] = int(np.argmax(trans))
            cost[i, j] = trans[prev[i, j]] + scores[i, j]
    path = [int(np.argmax(cost[-1]))]
    for i in range(n - 1, 0, -1):
        path.append(prev[i, path[-1]])
    return path[::-1]


def build_record(segments: Sequence[Segment], speakers: dict[str, str], *, duration_s: float,
                 term_finder=None, alert_monitor=None, encoder=None,
                 diarization: dict | None = None) -> ConsultationRecord:
    segments = list(segments)
    texts = [s.text for s in segments]
    labels = segment_chapters(chapter_scores(texts, encoder))
    chapters: list[Chapter] = []
    for seg, lab in zip(segments, labels, strict=True):
        name = CHAPTERS[lab]
        if chapters and chapters[-1].name == name:
            chapters[-1].end_s = seg.end_s
            chapters[-1].segment_ids.append(seg.id)
        else:
            chapters.append(Chapter(name, seg.start_s, seg.end_s, [seg.id]))
    terms: list[dict] = []
    if term_finder is not None:
        for seg in segments:
            for t in term_finder(seg.text):
                terms.append({**t, "segment": seg.id, "start_s": round(seg.start_s, 3),
                              "speaker": seg.speaker})
    alerts: list[dict] = []
    if alert_monitor is not None:
        for seg in segments:
            for det in alert_monitor.detect(seg.text):
                alerts.append({"category": det.category, "text": det.matched_text,
                               "method": det.method, "score": round(det.score, 3),
                               "segment": seg.id, "start_s": round(seg.start_s, 3),
                               "speaker": seg.speaker})
    summary = _summary(segments, labels, speakers, terms)
    return ConsultationRecord(segments, speakers, chapters, terms, alerts, summary, duration_s,
                              diarization)


def _summary(segments: list[Segment], labels: list[int], speakers: dict[str, str],
             terms: list[dict]) -> dict:
    """Presenting complaint, medications, problems and plan from the NLU's entities: a
    problem counts only where asserted present for the patient ("he denies any chest pain"
    is not a symptom, "my brother had neurofibromatosis" is family history, "they all call
    me" is no leukaemia); `terms` (the lexicon's matches) only where the NLU found none."""
    from clinivox.nlu import extract
    from clinivox.nlu.allergies import no_known_allergies
    from clinivox.nlu.dialogue import answered

    role = {s: r for s, r in speakers.items()}
    # a finding asked about and answered ("Any chest pain?" - "No.") counts as answered:
    # most of a consultation's pertinent negatives are said that way
    entities = [replace(e, assertion=answered(e)) for e in extract(segments)]
    seg_of = _segment_of_offsets(segments)
    patient_segs = [s for s in segments if role.get(s.speaker or "") == "patient"]
    complaint_segs = [s for s, lab in zip(segments, labels, strict=True)
                      if CHAPTERS[lab] == "complaint"]
    pool = [s for s in complaint_segs if s in patient_segs] or patient_segs[:3] \
        or complaint_segs[:2] or segments[:1]
    present = [e for e in entities if e.assertion == "present"]
    problems = [e for e in present if e.label == "problem"]
    if problems:  # the first problem the patient (or anyone) names as present
        first = min(problems, key=lambda e: (role.get(e.speaker or "") != "patient",
                                             e.start_s or 0.0))
        seg = seg_of(first.start)
        complaint = seg.text if seg is not None else first.text
    else:
        complaint = pool[0].text if pool else ""
    meds: list[str] = []
    for e in present:
        if e.label == "drug" and e.normalized.lower() not in meds:
            meds.append(e.normalized.lower())
    plan = []
    for s, lab in zip(segments, labels, strict=True):
        if role.get(s.speaker or "") == "patient":
            continue
        for sentence in re.split(r"(?<=[.?!])\s+", s.text.strip()):
            planned = CHAPTERS[lab] == "plan" and _PLAN_SENTENCE.search(sentence) \
                and len(sentence.split()) >= 3
            if planned or _ORDER.search(sentence) or _INTENT.search(sentence):
                plan.append(sentence.strip())

    def names(kind: str, assertion: str) -> list[str]:
        return sorted({e.normalized for e in entities if e.label == "problem"
                       and e.category == kind and e.assertion == assertion})

    allergies = sorted({e.normalized for e in entities if e.label == "allergy"
                        and e.assertion not in ("absent", "hypothetical", "family")})
    # an empty list says neither "none" nor "not asked": the record says which
    status = "recorded" if allergies else "none known" if no_known_allergies(
        " ".join(s.text.strip() for s in segments)) else "not stated"
    return {"presenting_complaint": _clip(complaint, 40), "medications": meds,
            "allergies": allergies, "allergy_status": status,
            "diagnoses": names("diagnosis", "present"),
            "symptoms": names("symptom", "present"),
            "denied": sorted({e.normalized for e in entities if e.label == "problem"
                              and e.assertion == "absent"}),
            "family_history": sorted({e.normalized for e in entities
                                      if e.label == "problem" and e.assertion == "family"}),
            "past_history": sorted({e.normalized for e in entities
                                    if e.label == "problem" and e.assertion == "historical"}),
            "vitals": [{"kind": e.code, "value": e.normalized} for e in entities
                       if e.label == "vital"],
            "plan": plan[:10]}


def _segment_of_offsets(segments: list[Segment]):
    """offset in the segments' texts joined by spaces (as `nlu.extract` counts) -> segment"""
    bounds, offset = [], 0
    for seg in segments:
        n = len(seg.text.strip())
        bounds.append((offset, offset + n, seg))
        offset += n + 1

    def find(at: int) -> Segment | None:
        return next((seg for a, b, seg in bounds if a <= at < b), None)

    return find


def _clip(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")
