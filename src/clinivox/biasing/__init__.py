"""The medical decode hook: lexicon-scale biasing as small stages on a per-chunk context.

`load_biaser(engine)` builds a `MedicalBiaser`; pass it to `Recognizer.transcribe(...,
biaser=)`. Stages: `reselect`, `retrieval` (retrieve + rescore), `screen`, `proposals`,
`scoring`; what they share per chunk is a `context.ChunkContext`, what they know of words a
`knowledge.TermKnowledge`, the weights a `profile.BiasProfile`. See `hook.py`.
"""

from clinivox.biasing.build import load_biaser
from clinivox.biasing.hook import CollectingHook, MedicalBiaser
from clinivox.biasing.profile import BiasProfile, resolve_profile
from clinivox.biasing.rewrites import ChunkRewrites, Correction, Rewrite

__all__ = ["BiasProfile", "ChunkRewrites", "CollectingHook", "Correction", "MedicalBiaser",
           "Rewrite", "load_biaser", "resolve_profile"]
