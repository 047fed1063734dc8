"""Story: a probe found the server's files and transport open.

- The SQLite database and its WAL files were 0644 in a 0755 directory: any local user read
  the transcripts.
- There was no TLS, so the page's microphone could not work from another machine, and
  nothing warned when a non-loopback address was served in clear text.
- The page kept the API key in `localStorage` and sent it in the WebSocket URL, with no CSP
  and no `frame-ancestors`.
- A `--database-url` password showed in `ps`.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time

import httpx
import pytest

from clinivox.serve.db import Store, database_url
from tests.serve.conftest import free_port


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_files_are_owner_only(tmp_path):
    data = tmp_path / "data"
    store = Store(database_url(data, None))
    sid = store.open_session("stream", "tiny.en", None)
    store.add_segment(sid, 0, 0.0, 1.0, "text", [])
    assert _mode(data) == 0o700
    files = [p for p in data.iterdir() if p.name.startswith("clinivox.db")]
    assert any(p.name.endswith("-wal") for p in files)
    assert all(_mode(p) == 0o600 for p in files), {p.name: oct(_mode(p)) for p in files}


def test_page_keeps_the_key_in_memory_and_has_a_csp(client):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    js = client.get("/static/app.js").text
    assert "localStorage.setItem" not in js and "localStorage.getItem" not in js
    assert "?api_key=" not in js


def _serve(tmp_path, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "clinivox.cli.main", "serve", "--data-dir",
                             str(tmp_path / "d"), "--device", "cpu", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_tls_serves_https(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    port = free_port()
    proc = _serve(tmp_path, "--port", str(port), "--tls-cert", str(cert), "--tls-key",
                  str(key))
    try:
        deadline, status = time.time() + 60, None
        while time.time() < deadline and status is None:
            try:
                status = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False,
                                   timeout=1).status_code
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_tls_flags_and_clear_text_warning(tmp_path):
    run = [sys.executable, "-m", "clinivox.cli.main", "serve", "--data-dir", str(tmp_path)]
    bad = subprocess.run([*run, "--tls-cert", str(tmp_path / "missing.pem")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "go together" in bad.stderr
    port = free_port()
    proc = _serve(tmp_path, "--host", "0.0.0.0", "--port", str(port))
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "without TLS" in proc.stderr.read().decode()


def test_database_url_from_the_environment_or_a_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    run = [sys.executable, "-m", "clinivox.cli.main", "keys", "--data-dir", str(tmp_path / "d")]
    subprocess.run([*run, "create", "k"], check=True, capture_output=True,
                   env={**os.environ, "CLINIVOX_DATABASE_URL": url})
    assert (tmp_path / "elsewhere.db").exists() and not (tmp_path / "d").exists()
    secret = tmp_path / "db-url"
    secret.write_text(url + "\n")
    out = subprocess.run([*run, "--database-url-file", str(secret), "list"], check=True,
                         capture_output=True, text=True)
    assert '"name": "k"' in out.stdout
    warned = subprocess.run([*run, "--database-url", "postgresql+psycopg://u:hunter2@h/db",
                             "list"], capture_output=True, text=True, timeout=60)
    assert "process list" in warned.stderr
