"""Files in and out: transcript formats (txt, json, srt, vtt), subtitles, manifests."""

from clinivox.io.writers import FORMATS, transcript_dict, write_outputs

__all__ = ["FORMATS", "transcript_dict", "write_outputs"]
