"""Transcript output formats: txt, json, srt, vtt."""

from clinivox.io.writers import FORMATS, transcript_dict, write_outputs

__all__ = ["FORMATS", "transcript_dict", "write_outputs"]
