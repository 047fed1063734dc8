"""`import clinivox` stays light: no torch, CTranslate2 or onnxruntime until used."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light():
    code = ("import sys, clinivox, clinivox.asr, clinivox.io; "
            "heavy = [m for m in ('torch', 'ctranslate2', 'onnxruntime', 'faster_whisper') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_recognizer_never_imports_torch():
    code = ("import sys, numpy as np; from clinivox import Recognizer; "
            "r = Recognizer('tiny.en', device='cpu'); s, _ = r.transcribe(np.zeros(16000, "
            "np.float32)); list(s); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
