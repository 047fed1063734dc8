// Captures microphone audio and posts ~100 ms frames of PCM16 (at the context's rate).
class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buffer = new Int16Array(Math.round(sampleRate / 10));
    this.fill = 0;
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.buffer[this.fill++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.fill === this.buffer.length) {
        this.port.postMessage(this.buffer.buffer.slice(0));
        this.fill = 0;
      }
    }
    return true;
  }
}
registerProcessor("pcm-capture", PcmCapture);
