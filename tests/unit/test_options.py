from __future__ import annotations

import dataclasses

import pytest

from clinivox.asr.types import TranscribeOptions, VadOptions


def test_defaults_are_valid():
    TranscribeOptions().validate()


@pytest.mark.parametrize("bad", [dict(beam_size=0), dict(batch_size=0), dict(task="summarise"),
                                 dict(temperatures=()),
                                 dict(vad_options=VadOptions(threshold=1.5))])
def test_invalid_options_raise_value_error_with_remedy(bad):
    with pytest.raises(ValueError):
        dataclasses.replace(TranscribeOptions(), **bad).validate()


def test_from_dict_converts_and_rejects_unknown_keys():
    o = TranscribeOptions.from_dict({"beam_size": 2, "temperatures": 0,
                                     "vad_options": {"threshold": 0.4}})
    assert o.beam_size == 2 and o.temperatures == (0.0,) and o.vad_options.threshold == 0.4
    with pytest.raises(ValueError, match="unknown transcribe option"):
        TranscribeOptions.from_dict({"beam": 2})


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TranscribeOptions().beam_size = 3  # type: ignore[misc]
