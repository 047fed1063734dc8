"""Clinical NLU: entities (problems, drugs with dose/route/frequency, procedures, tests,
anatomy, allergies, vitals) with codes, ConText-style assertions and sections.

    from clinivox.nlu import extract
    for e in extract("He denies chest pain. Started on Lipitor 20 mg once daily."):
        print(e.label, e.normalized, e.code, e.assertion)
"""

from clinivox.nlu.context import ASSERTIONS, assertion
from clinivox.nlu.entities import Entity, extract
from clinivox.nlu.sections import Section, find_sections

__all__ = ["ASSERTIONS", "Entity", "Section", "assertion", "extract", "find_sections"]
