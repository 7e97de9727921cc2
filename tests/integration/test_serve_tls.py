"""`gridgov serve --cert FILE --key FILE` speaks HTTPS (phone issue, item B):
phones give GPS, the camera, service workers and the wake lock only to secure
pages. A self-signed certificate made here with the openssl command line (the
`cryptography` package is not installed) is the test's certificate authority.
"""

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from web.cli import main

pytestmark = pytest.mark.db


def _self_signed(folder, name="server"):
    """A certificate for 127.0.0.1 and its key, PEM files in ``folder``."""
    if not shutil.which("openssl"):
        pytest.fail("the openssl command line is needed to make a test certificate")
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return cert, key


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """`gridgov serve ARGS` as a subprocess, stopped with SIGTERM."""

    def __init__(self, url, home, *args):
        env = os.environ | {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(home)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from web.cli import main; main()", "serve",
             "--processes", "1", "--threads", "2", *args], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def wait_for(self, fetch, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return fetch()
            except (OSError, ssl.SSLError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(self.output) from None
                time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output = self.proc.stdout.read().decode()
        self.proc.stdout.close()
        return self.output


def test_serve_with_a_certificate_answers_over_https(migrated_url, tmp_path):
    cert, key = _self_signed(tmp_path)
    port = _free_port()
    trust = ssl.create_default_context(cafile=str(cert))
    server = _Server(migrated_url, tmp_path, "--port", str(port),
                     "--cert", str(cert), "--key", str(key))
    base = f"https://127.0.0.1:{port}"
    try:
        def health():
            with urllib.request.urlopen(base + "/api/v1/health", context=trust,
                                        timeout=5) as r:
                return r.status, r.read()

        status, _ = server.wait_for(health)
        assert status == 200
        # the session cookie is sent over HTTPS only
        with urllib.request.urlopen(base + "/login", context=trust, timeout=5) as r:
            cookies = r.headers.get_all("Set-Cookie") or []
        session = [c for c in cookies if c.startswith("gridgov_session=")]
        assert session and "Secure" in session[0].split("; "), cookies
        # plain HTTP on that port gets no page (a TLS alert, or nothing)
        with pytest.raises((OSError, http.client.HTTPException)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                   timeout=5).read()
        # a client that does not trust the certificate is refused
        with pytest.raises(urllib.error.URLError) as refused:
            urllib.request.urlopen(base + "/api/v1/health",
                                   context=ssl.create_default_context(), timeout=5)
        assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    finally:
        output = server.stop()
    assert f"gridgov serving at https://127.0.0.1:{port}" in output
    assert "warning" not in output


def test_plain_http_on_a_network_address_warns_that_phones_need_https(
        migrated_url, tmp_path):
    port = _free_port()
    server = _Server(migrated_url, tmp_path, "--host", "0.0.0.0", "--port", str(port))

    def health():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                    timeout=5) as r:
            return r.status

    try:
        assert server.wait_for(health) == 200
    finally:
        output = server.stop()
    warnings = [line for line in output.splitlines() if "warning" in line]
    # one line, Chinese first (the CLI's catalogue), the English in brackets
    assert len(warnings) == 1, output
    assert warnings[0].startswith("警告：0.0.0.0 以明文 HTTP 提供服务"), output
    assert ("warning: serving 0.0.0.0 over plain HTTP: phones give GPS, the camera "
            "and offline use only to HTTPS pages (use --cert and --key)"
            in warnings[0]), output


def test_loopback_without_a_certificate_does_not_warn(migrated_url, tmp_path):
    port = _free_port()
    server = _Server(migrated_url, tmp_path, "--port", str(port))

    def health():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                    timeout=5) as r:
            return r.status

    try:
        assert server.wait_for(health) == 200
    finally:
        output = server.stop()
    assert "warning" not in output
    # http://127.0.0.1 counts as secure in a browser: nothing to warn about, and
    # the session cookie is not restricted to HTTPS
    assert f"gridgov serving at http://127.0.0.1:{port}" in output


def _cli(args, url, tmp_path, env=None):
    env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path),
           "GRIDGOV_TLS_CERT": None, "GRIDGOV_TLS_KEY": None} | (env or {})
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


@pytest.mark.parametrize("command", ["serve", "up"])
def test_a_missing_or_unreadable_certificate_is_one_line(
        command, migrated_url, tmp_path):
    cert, key = _self_signed(tmp_path)
    missing = tmp_path / "nowhere.crt"
    result = _cli([command, "--port", str(_free_port()), "--cert", str(missing),
                   "--key", str(key)], migrated_url, tmp_path)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: 无法读取 --cert {missing}（No such file or directory）"
        f"（cannot read --cert {missing} (No such file or directory)）"]

    # a path that cannot be read as a file (a mode-000 file would be read by root)
    unreadable = tmp_path / "keys"
    unreadable.mkdir()
    result = _cli([command, "--cert", str(cert), "--key", str(unreadable)],
                  migrated_url, tmp_path)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: 无法读取 --key {unreadable}（Is a directory）"
        f"（cannot read --key {unreadable} (Is a directory)）"]


def test_certificate_and_key_go_together_and_must_match(migrated_url, tmp_path):
    cert, key = _self_signed(tmp_path)
    _, other_key = _self_signed(tmp_path, "other")
    # from the environment, as a service file would give them
    only_cert = _cli(["serve"], migrated_url, tmp_path,
                     env={"GRIDGOV_TLS_CERT": str(cert)})
    assert only_cert.exit_code == 1
    assert only_cert.output.splitlines() == [
        "Error: --cert 与 --key 须同时给出（GRIDGOV_TLS_CERT、GRIDGOV_TLS_KEY）："
        "请同时给出 --key（--cert and --key go together (GRIDGOV_TLS_CERT, "
        "GRIDGOV_TLS_KEY): give --key too）"]
    mismatched = _cli(["serve", "--cert", str(cert), "--key", str(other_key)],
                      migrated_url, tmp_path)
    assert mismatched.exit_code == 1
    lines = mismatched.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"Error: --cert {cert} 与 --key {other_key} 不是 PEM 证书及其私钥")
    swapped = _cli(["serve", "--cert", str(key), "--key", str(cert)],
                   migrated_url, tmp_path)
    assert swapped.exit_code == 1
    assert len(swapped.output.splitlines()) == 1
    assert "are not a PEM certificate and its private key" in swapped.output
