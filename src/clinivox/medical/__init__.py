"""The medical layer: lexicon of drugs, diagnoses and clinical terms (more to come)."""
