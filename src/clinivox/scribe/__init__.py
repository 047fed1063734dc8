"""The clinical scribe: a consultation recording to a structured, speaker-attributed record."""

from clinivox.scribe.record import Chapter, ConsultationRecord, build_record

__all__ = ["Chapter", "ConsultationRecord", "build_record"]
