"""Story: a semantic false positive ("I think she is septic" -> shock, similarity 0.748)
suppressed the real "blood pressure is 70 over 40" 13 s later through the 30 s
per-category limit, with no event at all. A stronger match (lexicon or rule after a
semantic one) or a new phrase now alerts again, marked as an escalation, and held-back
detections are counted."""

from __future__ import annotations

from clinivox.alerts import AlertMonitor, AlertOptions
from clinivox.asr.streaming import StreamEvent


def _final(text: str, end_s: float, utt: int) -> StreamEvent:
    return StreamEvent("final", utt, text, text, end_s - 2.0, end_s, end_s + 0.3, 0.3)


def test_rule_hit_after_a_semantic_one_escalates():
    monitor = AlertMonitor()
    first = monitor.process(_final("I think she is septic", 10.0, 0))
    assert [(a.category, a.method) for a in first] == [("shock", "semantic")]
    again = monitor.process(_final("I think she is septic, honestly", 12.0, 1))
    assert again == [] and monitor.suppressed == {"shock": 1}
    real = monitor.process(_final("Blood pressure is 70 over 40.", 23.0, 2))
    assert [(a.category, a.method, a.escalation) for a in real] == [("shock", "rule", True)]
    assert real[0].suppressed == 1 and real[0].to_dict()["escalation"] is True


def test_a_new_phrase_escalates_and_a_repeat_does_not():
    monitor = AlertMonitor(options=AlertOptions(semantic=False))
    assert len(monitor.process(_final("He's in cardiac arrest", 5.0, 0))) == 1
    assert monitor.process(_final("cardiac arrest, still", 8.0, 1)) == []
    more = monitor.process(_final("I can't feel a pulse", 12.0, 2))
    assert [a.escalation for a in more] == [True]
