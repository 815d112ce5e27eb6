"""An example service: resolve a config per request and trace which one served it.

A stdlib WSGI app (no web framework). It loads the registry once at start, and
for every request resolves the config of one model for the request's user key,
opens an OpenTelemetry span, puts `cfg.attributes()` on it (the `gen_ai.*` and
`modelreg.*` keys: every trace names the exact config), and answers JSON naming
the version, digest and variant. It calls no model: that is where yours would.

Configuration, from the environment:

    MODELREG_BUNDLE    a bundle from `modelreg export --stage S -o FILE`, or
    MODELREG_REGISTRY  a registry folder (its work tree, e.g. a checkout)
    MODELREG_STAGE     the stage to serve (default: production; a bundle's own)
    MODELREG_MODEL     the model to serve (default: summarizer)

The user key is the `X-User-Id` header or the `user` query parameter; with
neither, the request gets the stable version. Either way the key routed is the
bytes the client sent (`josé` as UTF-8, in the header or percent-encoded in the
query), so a user lands on the same side by either, and where the library is
given the same id as a str.

    pip install 'modelreg[otel]'
    MODELREG_BUNDLE=bundle.json python examples/service/app.py   # http://127.0.0.1:8000/
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from opentelemetry import trace

from modelreg import Registry, RegistryError

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def load_registry(env: Mapping[str, str]) -> Registry:
    """The registry named by the environment: a bundle file, or a registry folder."""
    if env.get("MODELREG_BUNDLE"):
        return Registry.from_bundle(env["MODELREG_BUNDLE"])
    if env.get("MODELREG_REGISTRY"):
        return Registry.open(env["MODELREG_REGISTRY"])
    raise SystemExit("set MODELREG_BUNDLE (a bundle file) or MODELREG_REGISTRY (a folder)")


def user_key(environ: Mapping[str, Any]) -> bytes | None:
    """The request's user key as the bytes the client sent, or None."""
    header = environ.get("HTTP_X_USER_ID")
    if header:
        return _wsgi_bytes(header)
    # Decoded as Latin-1, the percent-escapes and any raw byte each become one
    # character, which _wsgi_bytes turns back into that byte.
    users = parse_qs(environ.get("QUERY_STRING", ""), encoding="latin-1").get("user")
    return _wsgi_bytes(users[0]) if users else None


def _wsgi_bytes(text: str) -> bytes:
    """TEXT as the bytes it was read from: PEP 3333 gives header values and the query
    string as str decoded from the request's bytes as Latin-1."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:  # not from a PEP 3333 server: already decoded text
        return text.encode("utf-8", "surrogatepass")


def create_app(
    env: Mapping[str, str] | None = None,
    tracer_provider: trace.TracerProvider | None = None,
) -> WSGIApp:
    """The WSGI app; the registry is loaded here, once (a bad bundle stops the start)."""
    env = os.environ if env is None else env
    registry = load_registry(env)
    default_stage = registry.stages[0] if len(registry.stages) == 1 else "production"
    stage = env.get("MODELREG_STAGE") or default_stage
    model = env.get("MODELREG_MODEL") or "summarizer"
    registry.resolve(model, stage)  # fail at start, not on the first request
    tracer = trace.get_tracer("modelreg.example.service", tracer_provider=tracer_provider)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with tracer.start_as_current_span(
            f"{environ.get('REQUEST_METHOD', 'GET')} {model}", kind=trace.SpanKind.SERVER
        ) as span:
            try:
                cfg = registry.resolve(model, stage, key=user_key(environ))
            except RegistryError as e:  # a registry opened lazily can fail on a new stage
                span.set_status(trace.StatusCode.ERROR, str(e))
                return _json(start_response, "503 Service Unavailable", {"error": str(e)})
            span.set_attributes(cfg.attributes())
            # ... call cfg.config["model"]["id"] with cfg.config["params"] here ...
            return _json(
                start_response,
                "200 OK",
                {
                    "model": cfg.model,
                    "stage": cfg.stage,
                    "version": cfg.version,
                    "digest": cfg.digest,
                    "variant": cfg.variant,
                },
            )

    return app


def _json(start_response: StartResponse, status: str, data: dict[str, Any]) -> list[bytes]:
    body = json.dumps(data).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    port = int(os.environ.get("PORT", "8000"))
    with make_server("127.0.0.1", port, create_app()) as server:
        print(f"serving on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        server.serve_forever()
