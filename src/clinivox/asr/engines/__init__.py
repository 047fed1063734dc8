"""ASR engines: each implements `clinivox.asr.engine.Engine` (and `RescoringEngine` where it
can score a transcript teacher-forced, as the medical hook needs). `whisper_ct2` is Whisper
on CTranslate2; a CTC/ONNX engine or a fine-tuned Whisper directory plugs in here."""
