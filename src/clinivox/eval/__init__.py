"""Evaluation: WER/CER, medical-term recall, real-time factor, reports."""
