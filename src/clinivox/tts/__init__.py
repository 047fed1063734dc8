"""Speech synthesis: the bundled Piper voice (`clinivox[tts]`), for test fixtures, synthetic
training speech and (later) the assistant's replies."""
