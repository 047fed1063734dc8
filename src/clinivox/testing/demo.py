"""`make demo`: synthesise a short clinical dictation, transcribe it with `--medical`, print
the transcript, then what the clinical NLU reads in it (entities, codes, assertions) and the
transcript with its PHI redacted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEMO_TEXT = (
    "Patient is a sixty two year old man with chest pain radiating to the left arm. "
    "He denies shortness of breath. His father had a heart attack. "
    "Blood pressure is one hundred forty over ninety. "
    "Plan: start aspirin and arrange an urgent E C G. Seen by Doctor Patel."
)


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import soundfile as sf

    from clinivox.cli.main import main as cli_main
    from clinivox.testing.synth import silence, synthesize

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=Path("demo_out"))
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    sample = args.output_dir / "demo_dictation.wav"
    # 44.1 kHz stereo with leading and trailing silence: exercises decode, resample and VAD.
    import soxr

    speech = np.concatenate([silence(1.5), synthesize(DEMO_TEXT), silence(2.0)])
    hi = soxr.resample(speech, 16_000, 44_100).astype(np.float32)
    sf.write(sample, np.stack([hi, 0.8 * hi], axis=1), 44_100, subtype="PCM_16")
    print(f"demo: synthesised {sample} ({speech.shape[0] / 16_000:.1f} s, 44.1 kHz stereo)",
          file=sys.stderr)
    print(f"demo: reference: {DEMO_TEXT}", file=sys.stderr)
    sys.stderr.flush()
    # --medical: the clinical tiny.en (built from the bundled patch on first use) with the
    # medical vocabulary layer, what clinivox is for
    code = cli_main(["transcribe", str(sample), "--medical", "--output-dir",
                     str(args.output_dir), "--output-format", "all", "--quiet"])
    if code == 0:
        text = (args.output_dir / "demo_dictation.txt").read_text()
        print("transcript:")
        print(text.strip())
        print(f"(JSON, SRT and VTT with word timestamps in {args.output_dir}/)", file=sys.stderr)
        transcript = str(args.output_dir / "demo_dictation.json")
        print(f"\nclinical entities (clinivox extract {transcript} --format table):")
        sys.stdout.flush()
        code = cli_main(["extract", transcript, "--format", "table"])
        if code == 0:
            print(f"\nPHI redacted (clinivox redact "
                  f"{args.output_dir / 'demo_dictation.txt'}):")
            sys.stdout.flush()
            code = cli_main(["redact", str(args.output_dir / "demo_dictation.txt")])
    return code


if __name__ == "__main__":
    sys.exit(main())
