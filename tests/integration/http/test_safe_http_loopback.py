"""The SSRF-guarded client against a real HTTP server on loopback (uvicorn, ephemeral port).

Loopback is allowed here only through ``allow_loopback=True``. The connector is wrapped by
:class:`LoopbackOnly`, which passes requests for 127.0.0.1/::1 to a real
``httpx.HTTPTransport`` and fails the test — without dialling — for any other address, so
even a broken guard could not make these tests reach a private, link-local or public host.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from aicmo.transports.safe_http import (
    FetchError,
    ResponseTooLargeError,
    RobotsDisallowedError,
    SafeHttpClient,
    UnsafeUrlError,
    default_resolver,
)
from tests.http_server import serve

HITS: Counter[str] = Counter()
BIG = 300_000
CAP = 100_000


async def page(request: Request) -> Response:
    return PlainTextResponse("hello from the lead's site")


async def moved(request: Request) -> Response:
    return RedirectResponse("/page", status_code=302)


async def redirect_to(request: Request) -> Response:
    """Redirect wherever the X-To header says (the attacker-controlled Location)."""
    return Response(status_code=302, headers={"Location": request.headers["x-to"]})


async def echo(request: Request) -> Response:
    """Echo the submitted form, parsed the way a server does (urlencoded or multipart)."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    fields: dict[str, str] = {}
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            filename = part.get_filename()
            fields[name] = f"{filename}:{payload.decode()}" if filename else payload.decode()
    else:
        fields = dict(parse_qsl(body.decode()))
    return JSONResponse({"method": request.method, "fields": fields})


async def submit(request: Request) -> Response:
    HITS[f"{request.method} /submit"] += 1
    return RedirectResponse("/thanks", status_code=303)


async def thanks(request: Request) -> Response:
    HITS[f"{request.method} /thanks"] += 1
    return PlainTextResponse("thanks")


async def set_cookie(request: Request) -> Response:
    response = PlainTextResponse("cookie set")
    response.set_cookie("csrftoken", "tok123", path="/", samesite="lax")
    return response


async def whoami(request: Request) -> Response:
    return JSONResponse({"cookie": request.headers.get("cookie"), "host": request.headers["host"]})


async def robots(request: Request) -> Response:
    HITS["robots"] += 1
    return PlainTextResponse("User-agent: aicmo\nDisallow: /private\n")


async def private(request: Request) -> Response:
    HITS["private"] += 1
    return PlainTextResponse("not for crawlers")


async def big(request: Request) -> Response:
    return Response(b"x" * BIG, media_type="application/octet-stream")


async def big_stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(BIG // 10_000):
            yield b"y" * 10_000

    return StreamingResponse(chunks(), media_type="application/octet-stream")


APP = Starlette(
    routes=[
        Route("/page", page),
        Route("/moved", moved),
        Route("/redirect", redirect_to),
        Route("/echo", echo, methods=["POST"]),
        Route("/submit", submit, methods=["POST"]),
        Route("/thanks", thanks, methods=["GET", "POST"]),
        Route("/set-cookie", set_cookie),
        Route("/whoami", whoami),
        Route("/robots.txt", robots),
        Route("/private", private),
        Route("/big", big),
        Route("/big-stream", big_stream),
    ]
)


class LoopbackOnly(httpx.BaseTransport):
    """A real connector that only ever dials loopback; anything else fails undialled."""

    ALLOWED = frozenset({"127.0.0.1", "::1"})

    def __init__(self, verify: ssl.SSLContext | bool = True) -> None:
        self.inner = httpx.HTTPTransport(verify=verify)
        self.requests: list[httpx.Request] = []
        self.forbidden: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in self.ALLOWED:
            self.forbidden.append(str(request.url))
            raise AssertionError(f"the guard let a request to {request.url} through")
        self.requests.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class RecordingResolver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return default_resolver(host, port)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(APP) as url:
        yield url


@pytest.fixture
def connector() -> Iterator[LoopbackOnly]:
    transport = LoopbackOnly()
    yield transport
    assert transport.forbidden == []


def loopback_client(
    connector: LoopbackOnly, *, respect_robots: bool = False, max_bytes: int = 2_000_000
) -> SafeHttpClient:
    return SafeHttpClient(
        allow_loopback=True,
        transport=connector,
        respect_robots=respect_robots,
        max_bytes=max_bytes,
    )


def test_get_a_page(base_url: str, connector: LoopbackOnly) -> None:
    with loopback_client(connector) as client:
        response = client.get(f"{base_url}/page")
    assert response.status_code == 200
    assert response.text == "hello from the lead's site"
    assert response.address == "127.0.0.1"
    assert len(connector.requests) == 1


def test_localhost_by_name_with_the_default_resolver(
    base_url: str, connector: LoopbackOnly
) -> None:
    port = httpx.URL(base_url).port
    resolver = RecordingResolver()
    client = SafeHttpClient(
        allow_loopback=True, resolver=resolver, transport=connector, respect_robots=False
    )
    with client:
        response = client.get(f"http://localhost:{port}/whoami")
    assert response.json()["host"] == f"localhost:{port}"
    assert resolver.calls == [("localhost", port)]
    assert response.url == f"http://localhost:{port}/whoami"


def test_follow_a_redirect(base_url: str, connector: LoopbackOnly) -> None:
    with loopback_client(connector) as client:
        response = client.get(f"{base_url}/moved")
    assert response.text == "hello from the lead's site"
    assert response.url == f"{base_url}/page"
    assert response.redirects == [f"{base_url}/moved"]
    assert [r.url.path for r in connector.requests] == ["/moved", "/page"]


def test_post_a_form_and_read_the_echo(base_url: str, connector: LoopbackOnly) -> None:
    form = {"name": "Ana Müller", "message": "Hello & welcome\r\nline 2"}
    with loopback_client(connector) as client:
        response = client.post(f"{base_url}/echo", data=form)
    assert response.json() == {"method": "POST", "fields": form}


def test_post_multipart_with_a_file(base_url: str, connector: LoopbackOnly) -> None:
    with loopback_client(connector) as client:
        response = client.post(
            f"{base_url}/echo",
            data=[("name", "Ana")],
            files={"attachment": ("note.txt", b"see you", "text/plain")},
        )
    assert response.json() == {
        "method": "POST",
        "fields": {"name": "Ana", "attachment": "note.txt:see you"},
    }


def test_303_after_post_becomes_get(base_url: str, connector: LoopbackOnly) -> None:
    HITS.clear()
    with loopback_client(connector) as client:
        response = client.post(f"{base_url}/submit", data={"a": "1"})
    assert response.text == "thanks"
    assert HITS["POST /submit"] == 1
    assert HITS["GET /thanks"] == 1
    assert HITS["POST /thanks"] == 0


def test_cookies_round_trip(base_url: str, connector: LoopbackOnly) -> None:
    with loopback_client(connector) as client:
        assert json.loads(client.get(f"{base_url}/whoami").text)["cookie"] is None
        client.get(f"{base_url}/set-cookie")
        assert client.get(f"{base_url}/whoami").json()["cookie"] == "csrftoken=tok123"
    with loopback_client(LoopbackOnly()) as fresh:  # a new session starts without cookies
        assert fresh.get(f"{base_url}/whoami").json()["cookie"] is None


def test_robots_txt_is_honoured(base_url: str, connector: LoopbackOnly) -> None:
    HITS.clear()
    with loopback_client(connector, respect_robots=True) as client:
        assert client.get(f"{base_url}/page").status_code == 200
        with pytest.raises(RobotsDisallowedError):
            client.get(f"{base_url}/private")
        assert not client.robots_allows(f"{base_url}/private")
    assert HITS["private"] == 0
    assert HITS["robots"] == 1


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_a_response_bigger_than_the_cap_is_refused(
    base_url: str, connector: LoopbackOnly, path: str
) -> None:
    with loopback_client(connector, max_bytes=CAP) as client:
        with pytest.raises(ResponseTooLargeError):
            client.get(f"{base_url}{path}")
        assert len(client.get(f"{base_url}/page").content) < CAP  # the session still works


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://0xa9fea9fe/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::ffff:192.168.0.1]/",
        "http://[fe80::1]/",
        "http://intranet.test/",
    ],
)
def test_a_redirect_off_loopback_is_refused_before_connecting(
    base_url: str, connector: LoopbackOnly, location: str
) -> None:
    with loopback_client(connector) as client, pytest.raises(UnsafeUrlError):
        client.get(f"{base_url}/redirect", headers={"X-To": location})
    assert [r.url.path for r in connector.requests] == ["/redirect"]


def test_without_allow_loopback_the_real_server_is_never_contacted(base_url: str) -> None:
    HITS.clear()
    connector = LoopbackOnly()
    resolver = RecordingResolver()
    port = httpx.URL(base_url).port
    with SafeHttpClient(transport=connector, resolver=resolver) as client:
        for url in (
            f"{base_url}/private",
            f"http://localhost:{port}/private",
            f"http://[::1]:{port}/private",
            f"http://2130706433:{port}/private",
        ):
            with pytest.raises(UnsafeUrlError):
                client.get(url)
            with pytest.raises(UnsafeUrlError):
                client.post(url, data={"a": "b"})
            with pytest.raises(UnsafeUrlError):
                client.robots_allows(url)
    assert connector.requests == []
    assert connector.forbidden == []
    assert resolver.calls == []
    assert HITS["private"] == 0
    assert HITS["robots"] == 0


# --- TLS: the certificate is verified for the name, though the connection goes to the IP ------


def name_only_certificate(directory: Path, dns_name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``dns_name`` only: no IP address in it, so verification
    can only succeed when the client checks the name (SNI), not the address it dialled."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def serve_tls(cert: Path, key: Path) -> Iterator[int]:
    """Serve APP over HTTPS on 127.0.0.1; yield the port."""
    config = uvicorn.Config(
        APP,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not (server.started and server.servers):
        if time.monotonic() > deadline:
            raise RuntimeError("the test HTTPS server did not start")
        time.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def loopback_resolver(host: str, port: int) -> list[str]:
    assert host == "localhost"
    return ["127.0.0.1"]


def test_https_to_the_checked_ip_verifies_the_certificate_for_the_name(tmp_path: Path) -> None:
    cert, key = name_only_certificate(tmp_path, "localhost")
    connector = LoopbackOnly(verify=ssl.create_default_context(cafile=str(cert)))
    with serve_tls(cert, key) as port:
        client = SafeHttpClient(
            allow_loopback=True,
            resolver=loopback_resolver,
            transport=connector,
            respect_robots=False,
        )
        with client:
            response = client.get(f"https://localhost:{port}/whoami")
            assert response.json()["host"] == f"localhost:{port}"
            assert response.url == f"https://localhost:{port}/whoami"
            # The same server by IP: the certificate names no IP, so verification fails.
            with pytest.raises(FetchError):
                client.get(f"https://127.0.0.1:{port}/whoami")
    assert [r.url.host for r in connector.requests] == ["127.0.0.1", "127.0.0.1"]
    assert connector.requests[0].extensions["sni_hostname"] == "localhost"
    assert connector.forbidden == []


def test_https_refuses_a_certificate_for_another_name(tmp_path: Path) -> None:
    cert, key = name_only_certificate(tmp_path, "www.lead-site.net")
    connector = LoopbackOnly(verify=ssl.create_default_context(cafile=str(cert)))
    with serve_tls(cert, key) as port:
        client = SafeHttpClient(
            allow_loopback=True,
            resolver=loopback_resolver,
            transport=connector,
            respect_robots=False,
        )
        with client, pytest.raises(FetchError) as err:
            client.get(f"https://localhost:{port}/whoami")
    assert "CERTIFICATE_VERIFY_FAILED" in str(err.value) or "certificate" in str(err.value)
