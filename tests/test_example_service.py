"""examples/service: per request a config is resolved and named on an OpenTelemetry span."""

from __future__ import annotations

import http.client
import importlib.util
import io
import json
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import setup_testing_defaults

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_export import canary_copy

from conftest import PROJECT
from modelreg import BundleError, Registry

Cli = Callable[..., Any]


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "example_service", PROJECT / "examples" / "service" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bundle(
    cli: Cli, signed: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Path:
    repo = canary_copy(cli, signed, tmp_path_factory, tmp_path)
    out = tmp_path / "bundle.json"
    result = cli("export", "--stage", "development", "-o", str(out), cwd=repo)
    assert result.code == 0, result.err
    return out


class Service:
    def __init__(self, env: dict[str, str]) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.app = load_example().create_app(env, tracer_provider=provider)

    def get(self, query: str = "", **headers: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(status, JSON body, attributes of the request's span)."""
        environ: dict[str, Any] = {"QUERY_STRING": query, "wsgi.input": io.BytesIO()}
        environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
        setup_testing_defaults(environ)
        seen: list[str] = []
        body = b"".join(self.app(environ, lambda status, headers: seen.append(status)))
        spans = self.exporter.get_finished_spans()
        self.exporter.clear()
        assert len(spans) == 1
        return seen[0], json.loads(body), dict(spans[0].attributes or {})


def test_each_request_names_its_config_on_a_span(bundle: Path) -> None:
    service = Service({"MODELREG_BUNDLE": str(bundle), "MODELREG_MODEL": "summarizer"})
    data = json.loads(bundle.read_text())["models"]["summarizer"]
    reg = Registry.from_bundle(bundle)
    seen = set()
    for i in range(40):
        user = f"user-{i}"
        status, body, attrs = service.get(f"user={user}")
        assert status == "200 OK"
        expected = reg.resolve("summarizer", "development", user)
        assert (body["version"], body["digest"], body["variant"]) == (
            expected.version,
            expected.digest,
            expected.variant,
        )
        assert attrs["modelreg.version"] == body["version"]
        assert attrs["modelreg.digest"] == body["digest"]
        assert attrs["modelreg.variant"] == body["variant"]
        assert attrs["modelreg.stage"] == "development"
        assert attrs["gen_ai.request.model"] == "claude-sonnet-4-5-20250929"
        assert attrs["gen_ai.request.temperature"] in (0.3, 0.2)
        seen.add((body["version"], body["digest"]))
    # both sides of the 25% canary, each named by the bundle's version and digest
    assert seen == {
        (data["version"], data["digest"]),
        (data["canary"]["version"], data["canary"]["digest"]),
    }


def test_a_user_is_sticky_by_header_or_query(bundle: Path) -> None:
    service = Service({"MODELREG_BUNDLE": str(bundle)})  # the bundle's stage, summarizer
    for i in range(10):
        first = service.get(f"user=u{i}")[1]
        assert service.get(f"user=u{i}")[1] == first
        assert service.get(X_USER_ID=f"u{i}")[1] == first
    anonymous = service.get()[1]
    assert anonymous["variant"] == "stable"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_non_ascii_user_is_sticky_by_header_query_and_library(bundle: Path) -> None:
    """Through a real WSGI server: the header's UTF-8 bytes reach the app as a Latin-1
    str (PEP 3333), the query's as percent-escapes; both route the bytes the client
    sent, which is what the library routes for the same id given as a str."""
    service = Service({"MODELREG_BUNDLE": str(bundle)})
    reg = Registry.from_bundle(bundle)
    server = make_server("127.0.0.1", 0, service.app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def variant(path: str, headers: dict[str, bytes]) -> str:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        try:
            conn.putrequest("GET", path)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            assert response.status == 200
            found: str = json.loads(response.read())["variant"]
            return found
        finally:
            conn.close()

    try:
        sides = set()
        for i in range(60):
            user = f"josé-{i}"
            library = reg.resolve("summarizer", "development", user).variant
            assert reg.resolve("summarizer", "development", user.encode()).variant == library
            by_query = variant(f"/?user={quote(user)}", {})
            by_header = variant("/", {"X-User-Id": user.encode("utf-8")})
            assert (user, by_query, by_header) == (user, library, library)
            sides.add(library)
        assert sides == {"stable", "canary"}
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_user_key_is_the_bytes_the_client_sent() -> None:
    user_key = load_example().user_key
    utf8 = "josé-59".encode()
    assert user_key({"HTTP_X_USER_ID": utf8.decode("latin-1")}) == utf8
    assert user_key({"QUERY_STRING": "user=jos%C3%A9-59"}) == utf8
    assert user_key({"QUERY_STRING": "a=1&user=jos%C3%A9-59"}) == utf8
    assert user_key({"QUERY_STRING": "user=" + utf8.decode("latin-1")}) == utf8  # unescaped
    assert user_key({"QUERY_STRING": "user=%FF%00x"}) == b"\xff\x00x"  # any bytes, unchanged
    assert user_key({"HTTP_X_USER_ID": "\xff"}) == b"\xff"
    assert user_key({"QUERY_STRING": "user="}) is None
    assert user_key({}) is None


def test_a_registry_folder_and_a_bad_bundle(bundle: Path, tmp_path: Path) -> None:
    repo = tmp_path / "canary"  # where canary_copy put the registry the bundle came from
    folder = Service({"MODELREG_REGISTRY": str(repo), "MODELREG_STAGE": "development"})
    from_bundle = Service({"MODELREG_BUNDLE": str(bundle)})
    for i in range(10):
        assert folder.get(f"user=u{i}")[1] == from_bundle.get(f"user=u{i}")[1]

    bad = tmp_path / "bad.json"
    bad.write_text(bundle.read_text().replace('"weight": 25', '"weight": 250'))
    with pytest.raises(BundleError, match="weight: 250 is not above 0 and at most 100"):
        Service({"MODELREG_BUNDLE": str(bad)})
