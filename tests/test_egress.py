"""The outbound URL policy (``boomerang.egress``): every notation of a non-public address is
refused, the allow list, connections go to the address that was checked (HTTP and HTTPS, with
the URL's host in ``Host``, SNI and the certificate check), redirects are not followed."""

from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from boomerang import egress
from boomerang.config import Settings, load_settings
from boomerang.errors import ConfigError

BLOCKED = {
    "http://127.0.0.1/": "127.0.0.1 points to a loopback address (127.0.0.1)",
    "http://localhost:8080/": "localhost is this machine",
    "http://hooks.localhost/": "hooks.localhost is this machine",
    "http://[::1]/": "::1 points to a loopback address (::1)",
    "http://10.1.2.3/": "10.1.2.3 points to a private address (10.1.2.3)",
    "https://192.168.0.7/": "192.168.0.7 points to a private address (192.168.0.7)",
    "http://100.64.0.1/": "100.64.0.1 points to a private address (100.64.0.1)",
    "http://0177.0.0.1/": "0177.0.0.1 points to a loopback address (127.0.0.1)",
    "http://2130706433/": "2130706433 points to a loopback address (127.0.0.1)",
    "http://0x7f.1/": "0x7f.1 points to a loopback address (127.0.0.1)",
    "http://127.1:9/": "127.1 points to a loopback address (127.0.0.1)",
    "http://169.254.169.254/latest/meta-data/": (
        "169.254.169.254 points to a link-local address (169.254.169.254)"
    ),
    "http://metadata.google.internal/computeMetadata/v1/": (
        "metadata.google.internal is a cloud metadata service"
    ),
    "http://METADATA.google.internal./": "metadata.google.internal is a cloud metadata service",
    "http://[::ffff:127.0.0.1]/": "::ffff:127.0.0.1 points to a loopback address (127.0.0.1)",
    "http://[::ffff:a00:5]/": "::ffff:a00:5 points to a private address (10.0.0.5)",
    "http://[64:ff9b::7f00:1]/": "64:ff9b::7f00:1 points to a loopback address (64:ff9b::7f00:1)",
    "http://[2002:a9fe:a9fe::]/": "2002:a9fe:a9fe:: points to a link-local address (2002:a9fe:a9fe::)",
    "http://[fd00:ec2::254]/": "fd00:ec2::254 points to a private address (fd00:ec2::254)",
    "http://[fe80::1]/": "fe80::1 points to a link-local address (fe80::1)",
    "http://224.0.0.1/": "224.0.0.1 points to a multicast address (224.0.0.1)",
    "http://0.0.0.0/": "0.0.0.0 points to an unspecified address (0.0.0.0)",
    "http://[::]/": ":: points to an unspecified address (::)",
}


@pytest.mark.parametrize("url", list(BLOCKED))
def test_every_notation_of_a_non_public_address_is_refused(url: str) -> None:
    with pytest.raises(egress.Refused) as saved:
        egress.validate(url, field="url", allow="")
    assert saved.value.message == f"url: {BLOCKED[url]}"
    assert saved.value.status_code == 422
    with pytest.raises(egress.Refused) as sent:  # and again when sending
        egress.post(url, b"{}", {}, allow="")
    assert sent.value.reason == BLOCKED[url]


def test_what_is_not_an_http_url_is_refused() -> None:
    for url, message in [
        ("ftp://files.example/x", "url: 'ftp://files.example/x' is not an http(s) URL"),
        ("http:///path", "url: 'http:///path' is not an http(s) URL"),
        ("http://a.example:99999/", "url: 'http://a.example:99999/' is not an http(s) URL"),
        ("http://a.example/\x00", "url: 'http://a.example/\\x00' is not an http(s) URL"),
        ("https://u:p@8.8.8.8/", "url: a user name or password in the URL is not supported"),
    ]:
        with pytest.raises(egress.Refused) as refused:
            egress.validate(url, allow="")
        assert refused.value.message == message


def test_public_addresses_pass_and_a_name_is_checked_by_every_address() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return {"public.test": ["93.184.215.14", "2606:2800:21f:cb07::1"]}.get(
            host, ["93.184.215.14", "10.0.0.5"]
        )

    target = egress.check("https://public.test/in?a=1", allow="", resolve=resolve)
    assert (target.host, target.port, target.path) == ("public.test", 443, "/in?a=1")
    assert target.addresses == ("93.184.215.14", "2606:2800:21f:cb07::1")
    assert egress.check("http://8.8.8.8:8080/", allow="").addresses == ("8.8.8.8",)
    with pytest.raises(egress.Refused, match=r"mixed.test points to a private address \(10.0.0.5"):
        egress.check("https://mixed.test/", allow="", resolve=resolve)


def test_a_host_that_does_not_resolve_is_saved_but_not_sent() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    url = "https://crm.example/in"
    assert egress.validate(f" {url} ", allow="", resolve=nowhere) == url
    with pytest.raises(egress.Unresolved, match=r"^crm.example does not resolve$"):
        egress.post(url, b"{}", {}, allow="", resolve=nowhere)


def test_the_allow_list_lets_hosts_addresses_and_networks_through() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return {"hooks.internal": ["10.9.9.9"], "other.internal": ["10.9.9.10"]}[host]

    allow = "127.0.0.1, 10.0.0.0/8 ,hooks.internal,[::1]"
    assert egress.check("http://127.0.0.1:8080/", allow=allow).addresses == ("127.0.0.1",)
    assert egress.check("http://0177.0.0.1/", allow=allow).addresses == ("127.0.0.1",)
    assert egress.check("http://[::ffff:127.0.0.1]/", allow=allow).addresses == ("127.0.0.1",)
    assert egress.check("http://[::1]/", allow=allow).addresses == ("::1",)
    assert egress.check("http://10.200.0.1/", allow=allow).addresses == ("10.200.0.1",)
    assert egress.check("http://other.internal/", allow=allow, resolve=resolve).addresses == (
        "10.9.9.10",
    )
    assert egress.check("http://hooks.internal/", allow="hooks.internal", resolve=resolve)
    with pytest.raises(egress.Refused, match=r"other.internal points to a private address"):
        egress.check("http://other.internal/", allow="hooks.internal", resolve=resolve)
    for still in ("http://127.0.0.2/", "http://192.168.1.1/", "http://localhost/"):
        with pytest.raises(egress.Refused):
            egress.check(still, allow=allow)
    assert egress.check("http://localhost/", allow="localhost").host == "localhost"
    with pytest.raises(egress.Refused, match="is a cloud metadata service"):
        egress.check("http://metadata.google.internal/", allow=allow)


def test_the_allow_list_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        Settings(outbound_allow=" 127.0.0.1,10.0.0.0/8 ").outbound_allow == "127.0.0.1,10.0.0.0/8"
    )
    assert Settings().outbound_allow == ""
    for bad in ("0177.0.0.1", "2130706433", "hooks internal", "10.0.0.0/33"):
        monkeypatch.setenv("BOOMERANG_OUTBOUND_ALLOW", bad)
        with pytest.raises(ConfigError, match=f"BOOMERANG_OUTBOUND_ALLOW: {bad!r} is not a host"):
            load_settings()


def test_the_default_allow_list_is_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from boomerang.config import get_settings

    with pytest.raises(egress.Refused):
        egress.check("http://127.0.0.1/")
    monkeypatch.setenv("BOOMERANG_OUTBOUND_ALLOW", "127.0.0.0/8")
    get_settings.cache_clear()
    assert egress.check("http://127.0.0.1/").addresses == ("127.0.0.1",)


# -- sending ----------------------------------------------------------------------------------


@dataclass
class Got:
    path: str
    host: str
    body: bytes


@dataclass
class Hook:
    """A real HTTP(S) server on loopback recording what it gets, answering from a script."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    got: list[Got] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)

    def start(self, tls: ssl.SSLContext | None = None) -> Hook:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.got.append(Got(self.path, self.headers.get("Host", ""), body))
                status, headers = outer.answers.pop(0) if outer.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:

            def remember(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
                self.server_names.append(name)

            tls.sni_callback = remember
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks() -> Iterator[list[Hook]]:
    """Start hooks with ``hooks.append(Hook().start())``; all are stopped at the end."""
    started: list[Hook] = []
    yield started
    for hook in started:
        hook.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_connection_goes_to_the_address_that_was_checked(hooks: list[Hook]) -> None:
    hook = Hook().start()
    hooks.append(hook)
    answers = [["127.0.0.1"], ["10.0.0.5"]]  # the second answer of the name: rebound
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return answers.pop(0)

    url = f"http://hooks.test:{hook.port}/in?x=1"  # a name no real resolver knows
    headers = {"Content-Type": "application/json"}
    assert egress.post(url, b'{"a":1}', headers, allow="127.0.0.1", resolve=resolve) == 200
    assert asked == [("hooks.test", hook.port)]  # resolved once, to check and to connect
    assert hook.got == [Got("/in?x=1", f"hooks.test:{hook.port}", b'{"a":1}')]
    # Each send resolves again, and what it finds is checked before anything goes out.
    with pytest.raises(
        egress.Refused, match=r"hooks.test points to a private address \(10.0.0.5\)"
    ):
        egress.post(url, b"{}", headers, allow="127.0.0.1", resolve=resolve)
    assert len(hook.got) == 1


def test_redirects_are_not_followed(hooks: list[Hook]) -> None:
    target = Hook().start()
    hook = Hook([(302, {"Location": f"http://127.0.0.1:{target.port}/stolen"})]).start()
    hooks += [target, hook]
    with pytest.raises(egress.SendFailed, match=r"^answered 302: redirect refused$"):
        egress.post(f"http://127.0.0.1:{hook.port}/in", b"{}", {}, allow="127.0.0.1")
    assert len(hook.got) == 1 and target.got == []


def test_failures_say_what_happened_not_why(hooks: list[Hook]) -> None:
    hook = Hook([(503, {})]).start()
    hooks.append(hook)
    with pytest.raises(egress.SendFailed, match=r"^answered 503 Service Unavailable$"):
        egress.post(f"http://127.0.0.1:{hook.port}/", b"{}", {}, allow="127.0.0.1")
    closed = _free_port()
    with pytest.raises(egress.SendFailed) as failed:  # no errno, no "refused" or "timed out"
        egress.post(f"http://127.0.0.1:{closed}/", b"{}", {}, allow="127.0.0.1")
    assert str(failed.value) == "could not connect"
    # A refused address reads the same whether something listens on the port or not.
    refusals = []
    for port in (hook.port, closed):
        with pytest.raises(egress.Refused) as refused:
            egress.post(f"http://127.0.0.1:{port}/", b"{}", {}, allow="")
        refusals.append(refused.value.message)
    assert refusals == ["url: 127.0.0.1 points to a loopback address (127.0.0.1)"] * 2
    assert len(hook.got) == 1


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the name ``hooks.test`` only."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=hooks.test"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-addext", "subjectAltName=DNS:hooks.test", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_goes_to_the_checked_address_with_the_urls_host_name(
    hooks: list[Hook], certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    hook = Hook().start(tls=server_tls)
    hooks.append(hook)
    client_tls = ssl.create_default_context(cafile=str(cert))

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    sent = egress.post(
        f"https://hooks.test:{hook.port}/in",
        b"{}",
        {},
        allow="127.0.0.1",
        resolve=resolve,
        tls=client_tls,
    )
    assert sent == 200
    assert hook.server_names == ["hooks.test"]
    assert hook.got == [Got("/in", f"hooks.test:{hook.port}", b"{}")]
    # Another name pinned to the same address: its certificate does not match, nothing sent.
    with pytest.raises(egress.SendFailed, match=r"certificate not valid.*other.test"):
        egress.post(
            f"https://other.test:{hook.port}/in",
            b"{}",
            {},
            allow="127.0.0.1",
            resolve=resolve,
            tls=client_tls,
        )
    assert hook.server_names[-1] == "other.test" and len(hook.got) == 1
