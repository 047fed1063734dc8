// clinivox live page: microphone -> AudioWorklet -> WebSocket /v1/stream -> transcript.
"use strict";
const $ = (id) => document.getElementById(id);
const keyInput = $("apikey");
// The key lives in this page's memory only: never in localStorage (any script of the origin
// could read it later) and never in a URL (URLs reach proxy logs). It travels in the
// Authorization header and in the stream's config message.
localStorage.removeItem("clinivox-key");  // left by older versions of this page
let ws = null, ctx = null, media = null;

function headers() {
  const key = keyInput.value.trim();
  return key ? { Authorization: "Bearer " + key } : {};
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
                                         '"': "&quot;", "'": "&#39;" }[c]));
}

function highlight(text, terms, critical) {
  let html = escapeHtml(text);
  const mark = (phrase, cls) => {
    if (!phrase) return;
    const re = new RegExp("(" + phrase.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + ")", "gi");
    html = html.replace(re, `<mark class="${cls}">$1</mark>`);
  };
  (terms || []).forEach((t) => mark(escapeHtml(t.text || t), "term"));
  (critical || []).forEach((t) => mark(escapeHtml(t), "critical"));
  return html;
}

const criticalPhrases = [];

function fmt(t) { return t.toFixed(1).padStart(6, " ") + "s"; }

function onEvent(ev) {
  if (ev.type === "partial") {
    $("partial").textContent = ev.text;
  } else if (ev.type === "final") {
    const p = document.createElement("p");
    p.className = "final";
    p.innerHTML = `<span class="time">${fmt(ev.start_s)}</span>` +
      highlight(ev.text, ev.terms, criticalPhrases);
    $("transcript").insertBefore(p, $("partial"));
    $("partial").textContent = "";
  } else if (ev.type === "alert") {
    criticalPhrases.push(ev.text);
    $("noalerts").style.display = "none";
    const div = document.createElement("div");
    div.className = "alert";
    div.innerHTML = `<b>${escapeHtml(ev.category.replace("_", " "))}</b> at ${fmt(ev.audio_end_s)}` +
      `<br>&ldquo;${escapeHtml(ev.text)}&rdquo; <small>(+${ev.latency_s.toFixed(2)} s)</small>`;
    $("alerts").prepend(div);
  } else if (ev.type === "ready") {
    $("status").textContent = "listening (session " + ev.session_id.slice(0, 8) + ")";
  } else if (ev.type === "error") {
    $("status").textContent = "error: " + ev.code + " - " + ev.message;
  } else if (ev.type === "done") {
    $("status").textContent = "stopped";
    loadSessions();
  }
}

async function start() {
  $("start").disabled = true;
  $("status").textContent = "starting microphone";
  try {
    media = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1,
      echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    ctx = new AudioContext();
    await ctx.audioWorklet.addModule("/static/worklet.js");
    const source = ctx.createMediaStreamSource(media);
    const node = new AudioWorkletNode(ctx, "pcm-capture");
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const key = keyInput.value.trim();
    ws = new WebSocket(`${proto}://${location.host}/v1/stream`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      const config = { type: "config", sample_rate_hz: ctx.sampleRate, alerts: true };
      if (key) config.api_key = key;
      ws.send(JSON.stringify(config));
      node.port.onmessage = (e) => { if (ws.readyState === 1) ws.send(e.data); };
      source.connect(node);
      $("stop").disabled = false;
    };
    ws.onmessage = (e) => onEvent(JSON.parse(e.data));
    ws.onclose = () => { $("start").disabled = false; $("stop").disabled = true; cleanup(); };
  } catch (err) {
    $("status").textContent = "cannot start: " + err;
    $("start").disabled = false;
    cleanup();
  }
}

function cleanup() {
  if (media) media.getTracks().forEach((t) => t.stop());
  if (ctx) ctx.close();
  media = null; ctx = null;
}

function stop() {
  $("stop").disabled = true;
  $("status").textContent = "finishing";
  if (media) media.getTracks().forEach((t) => t.stop());
  if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "end" }));
}

async function loadSessions() {
  try {
    const r = await fetch("/v1/sessions?limit=10", { headers: headers() });
    if (!r.ok) return;
    const list = $("sessions");
    list.innerHTML = "";
    for (const s of (await r.json()).data) {
      const li = document.createElement("li");
      li.textContent = `${s.created_at.slice(0, 19).replace("T", " ")} - ${s.kind}, ` +
        `${s.audio_s.toFixed(0)} s, ${s.segments_count} segments, ${s.status}`;
      list.appendChild(li);
    }
  } catch (err) { /* the list is a convenience */ }
}

$("start").onclick = start;
$("stop").onclick = stop;
loadSessions();
