"""Privacy: PHI detection and redaction of text (`phi`) and of transcripts and their audio
(`transcript`)."""

from clinivox.privacy.phi import CATEGORIES, POLICIES, PhiSpan, find_phi, redact

__all__ = ["CATEGORIES", "POLICIES", "PhiSpan", "find_phi", "redact"]
