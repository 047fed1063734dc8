"""Rich progress bars on stderr for long jobs."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def audio_progress(disable: bool = False) -> Progress:
    """A progress bar counting seconds of audio processed."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s audio"),
        TimeElapsedColumn(), TimeRemainingColumn(),
        console=Console(file=sys.stderr), disable=disable, transient=False,
    )


def item_progress(disable: bool = False) -> Progress:
    """A progress bar counting items (files, utterances)."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(),
        console=Console(file=sys.stderr), disable=disable,
    )
