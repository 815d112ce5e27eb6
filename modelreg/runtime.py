"""Runtime library: `Registry.open` / `from_bundle` / `resolve` for services at request time.

A service loads the registry once and resolves a config per request:

    reg = Registry.from_bundle("bundle.json")       # or Registry.open("path/to/registry")
    cfg = reg.resolve("summarizer", stage="production", key=user_id)
    span.set_attributes(cfg.attributes())

Everything a request needs is computed at load: per model and stage, the two
prebuilt, immutable results (stable and canary), the canary's threshold and the
hash prefix. `resolve` is a dict lookup, one sha256 and a compare.

Sticky canary routing: with a key, the request goes to the canary when the first
8 bytes (big-endian) of sha256(model NUL stage NUL canary_digest NUL key) are
below weight/100 * 2**64. The same key stays on the same side for one canary; a
new canary (another digest) reshuffles; raising the weight keeps every key that
was on the canary there. Without a key a request always gets the stable version.

At import this module loads only the standard library and modelreg.core.digest:
no git, typer, rich, YAML or JSON Schema code. `Registry.open` reads a registry
through modelreg.services.export, imported when it is called.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import struct
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Union

from modelreg.core.digest import CanonicalizationError, digest
from modelreg.core.strictjson import no_duplicates, refuse_constant

if TYPE_CHECKING:
    from modelreg.services.export import BundleSource

BUNDLE_SCHEMA = "modelreg/bundle/v1"
STABLE, CANARY = "stable", "canary"

# An OpenTelemetry attribute value: a primitive or a homogeneous sequence of them.
AttributeValue = Union[str, bool, int, float, tuple[str, ...]]

# Version-file params -> OpenTelemetry GenAI semantic-convention attributes, with the
# type semconv gives each (double or int): the canonical-JSON round trip of a bundle
# turns `temperature: 0.0` into the number 0, so the type is set here, not kept from it.
GEN_AI_PARAMS: tuple[tuple[str, str, type[float] | type[int]], ...] = (
    ("temperature", "gen_ai.request.temperature", float),
    ("max_tokens", "gen_ai.request.max_tokens", int),
    ("top_p", "gen_ai.request.top_p", float),
    ("top_k", "gen_ai.request.top_k", int),
    ("seed", "gen_ai.request.seed", int),
    ("frequency_penalty", "gen_ai.request.frequency_penalty", float),
    ("presence_penalty", "gen_ai.request.presence_penalty", float),
)

# The deepest nesting of a config: the same limit as modelreg.yamlio.MAX_DEPTH (not
# imported: that module loads the YAML parser). The top value is level 0.
MAX_DEPTH = 64
# A canary's config sits 4 levels below the top of a bundle (models.M.canary.config).
MAX_BUNDLE_DEPTH = MAX_DEPTH + 4
# The largest bundle file read: a bundle holds at most every model's config of one
# stage (its stable version and its canary), each a version file of at most 1 MiB
# (modelreg.yamlio.MAX_BYTES) and in practice a few KiB; 64 MiB is far beyond any real
# registry and still small enough to read into memory at service start.
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
_INT64 = 2**63
_OUT_OF_MEMORY = "too large to load in the memory available"

_U64: Callable[[bytes], tuple[int, ...]] = struct.Struct(">Q").unpack_from
_SHA256 = hashlib.sha256
_STAGE_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}\Z")
_RESERVED_STAGE = "archived"  # the archive lifecycle state, never a stage
_VERSION_RE = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}\Z")
_COMMIT_RE = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
# The patterns of schemas/bundle.schema.json ($defs timestamp, serving.tag), `$(?!\n)` as `\Z`.
_TIME_RE = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])\Z"
)
_TAG_RE = re.compile(r"[^\s]+\Z")


# --- errors ------------------------------------------------------------------------------


class RegistryError(Exception):
    """Base of every error the runtime raises; its text is one line naming the file,
    model or stage at fault."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        super().__init__(where + message)


class BundleError(RegistryError, ValueError):
    """A bundle that cannot be served: unreadable, malformed, or a config whose digest
    is not the one recorded beside it."""


class SourceError(RegistryError):
    """`Registry.open` could not turn the registry into a bundle (a bad file, a state
    digest that its version file does not match, git failing); `__cause__` is the
    original modelreg error."""


class UnknownModel(RegistryError, LookupError):
    """No such model in the registry (or the bundle)."""


class UnknownStage(RegistryError, LookupError):
    """No such stage in the registry's policy, or not the stage the bundle holds."""


class NotServing(RegistryError, LookupError):
    """The model exists but serves nothing on that stage."""


# --- results -----------------------------------------------------------------------------


def _freeze(value: Any) -> Any:
    """VALUE as immutable data: mappings become read-only views, lists tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _param_value(value: Any, kind: type[float] | type[int]) -> float | int | None:
    """VALUE as the OTel attribute type KIND (double or int), or None when it is no
    such number (a boolean, text, a fraction where an int is due)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if kind is float:
        try:
            return float(value)  # exact: a bundle's ints are exact doubles (digest checks)
        except OverflowError:
            return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if -_INT64 <= value < _INT64 else None  # an OTel int is 64 bits


def _attributes(
    model: str, stage: str, version: str, dg: str, variant: str, config: Mapping[str, Any]
) -> tuple[tuple[str, AttributeValue], ...]:
    out: dict[str, AttributeValue] = {}
    spec = config.get("model")
    if isinstance(spec, Mapping):
        if isinstance(spec.get("id"), str):
            out["gen_ai.request.model"] = spec["id"]
        if isinstance(spec.get("provider"), str):
            out["gen_ai.provider.name"] = spec["provider"]
            out["gen_ai.system"] = spec["provider"]  # the name before semconv 1.37
    params = config.get("params")
    if isinstance(params, Mapping):
        for name, key, kind in GEN_AI_PARAMS:
            value = _param_value(params.get(name), kind)
            if value is not None:
                out[key] = value
        stop = params.get("stop")
        if isinstance(stop, str):
            out["gen_ai.request.stop_sequences"] = (stop,)
        elif isinstance(stop, tuple) and stop and all(isinstance(s, str) for s in stop):
            out["gen_ai.request.stop_sequences"] = stop
    out.update(
        {
            "modelreg.model": model,
            "modelreg.version": version,
            "modelreg.digest": dg,
            "modelreg.stage": stage,
            "modelreg.variant": variant,
        }
    )
    return tuple(out.items())


class ResolvedConfig:
    """The config one request gets: immutable, shared by every request on the same side.

    `config` is the parsed version file, deep-frozen (read-only mappings, tuples):
    handing out the prebuilt object costs nothing, where a copy per request would
    cost tens of microseconds. `as_json()` gives a mutable copy.
    """

    __slots__ = (
        "_attributes",
        "_json",
        "config",
        "digest",
        "model",
        "stage",
        "variant",
        "version",
        "weight",
    )

    model: str
    stage: str
    version: str
    digest: str
    variant: str  # "stable" or "canary"
    weight: float | None  # the canary's share in percent on this model and stage, or None
    config: Mapping[str, Any]
    _attributes: tuple[tuple[str, AttributeValue], ...]
    _json: str

    def __init__(
        self,
        model: str,
        stage: str,
        version: str,
        digest: str,
        variant: str,
        weight: float | None,
        config: dict[str, Any],
    ) -> None:
        frozen = _freeze(config)
        values = {
            "model": model,
            "stage": stage,
            "version": version,
            "digest": digest,
            "variant": variant,
            "weight": weight,
            "config": frozen,
            "_attributes": _attributes(model, stage, version, digest, variant, frozen),
            "_json": json.dumps(config, ensure_ascii=False, sort_keys=True),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ResolvedConfig is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ResolvedConfig is immutable (cannot delete {name!r})")

    def attributes(self) -> dict[str, AttributeValue]:
        """A fresh dict of OpenTelemetry attributes: `gen_ai.*` (GenAI semantic
        conventions) and `modelreg.*` (model, version, digest, stage, variant)."""
        return dict(self._attributes)

    def config_dict(self) -> dict[str, Any]:
        """A mutable copy of the config (plain dicts and lists)."""
        data: dict[str, Any] = json.loads(self._json)
        return data

    def as_json(self) -> dict[str, Any]:
        """`{"model", "stage", "version", "digest", "variant", "config", "weight"}`."""
        return {
            "model": self.model,
            "stage": self.stage,
            "version": self.version,
            "digest": self.digest,
            "variant": self.variant,
            "config": self.config_dict(),
            "weight": self.weight,
        }

    def __repr__(self) -> str:
        return (
            f"ResolvedConfig({self.model}@{self.version} on {self.stage}, "
            f"{self.variant}, {self.digest})"
        )


class _Route:
    """One model on one stage: what `resolve` needs, computed at load."""

    __slots__ = ("canary", "prefix", "stable", "threshold")

    def __init__(
        self,
        stable: ResolvedConfig,
        canary: ResolvedConfig | None,
        threshold: int,
        prefix: bytes,
    ) -> None:
        self.stable = stable
        self.canary = canary
        self.threshold = threshold
        self.prefix = prefix


def canary_threshold(weight: float) -> int:
    """The exact integer T with: h < T  <=>  h < weight/100 * 2**64, for every integer h."""
    num, den = weight.as_integer_ratio()  # exact: a float is a binary fraction
    return -((-num * 2**64) // (den * 100))  # the ceiling of num/den * 2**64 / 100


def routing_prefix(model: str, stage: str, canary_digest: str) -> bytes:
    return f"{model}\0{stage}\0{canary_digest}\0".encode()


# --- bundle validation --------------------------------------------------------------------


class _Checker:
    """Checks a parsed bundle by hand (no JSON Schema code at runtime)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, message: str) -> BundleError:
        return BundleError(f"{path}: {message}" if path else message, file=self.origin)

    def obj(
        self, value: Any, path: str, keys: tuple[str, ...], extensions: bool = False
    ) -> dict[str, Any]:
        """VALUE, an object with exactly KEYS (and `x-...` keys where EXTENSIONS)."""
        if not isinstance(value, dict):
            raise self.fail(path, f"must be an object, not {_type_name(value)}")
        for key in keys:
            if key not in value:
                raise self.fail(path, f"missing {key!r}")
        for key in value:
            if key not in keys and not (extensions and key.startswith("x-")):
                raise self.fail(path, f"unknown key {key!r}")
        return value

    def text(
        self, value: Any, path: str, pattern: re.Pattern[str] | None = None, what: str = ""
    ) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, not {_type_name(value)}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(path, f"{value!r} is not {what}")
        return value

    def optional_text(
        self, value: Any, path: str, pattern: re.Pattern[str] | None = None, what: str = ""
    ) -> str | None:
        return None if value is None else self.text(value, path, pattern, what)

    def weight(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"must be a number, not {_type_name(value)}")
        if not 0 < value <= 100:
            raise self.fail(path, f"{value!r} is not above 0 and at most 100 (percent)")
        return value

    def config(
        self, value: Any, path: str, model: str, version: str, recorded: str
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be an object, not {_type_name(value)}")
        if value.get("name") != model or value.get("version") != version:
            raise self.fail(
                path,
                f"is the config of {value.get('name')!r}@{value.get('version')!r}, "
                f"not {model}@{version}",
            )
        if _too_deep(value, MAX_DEPTH) is not None:  # before digest and _freeze recurse
            raise self.fail(path, _nests_too_deep(MAX_DEPTH))
        try:
            actual = digest(value)
        except CanonicalizationError as e:
            raise self.fail(path, f"has no canonical JSON form: {e}") from None
        if actual != recorded:
            raise self.fail(
                path,
                f"digest is {actual}, but the bundle records {recorded} for {model}@{version}: "
                "the config was changed after export; refusing to serve it",
            )
        return value


def _too_deep(value: Any, limit: int) -> list[str] | None:
    """The path (keys and indexes) to an object or array in VALUE holding something
    deeper than LIMIT levels (VALUE itself is level 0, as in modelreg.yamlio), or None.

    Iterative, so no depth raises RecursionError; a cycle is endless nesting and is
    found too.
    """
    stack: list[tuple[Any, int, Any]] = [(value, 0, None)]  # (node, level, (parent link, key))
    while stack:
        node, level, link = stack.pop()
        if isinstance(node, Mapping):
            items: Any = iter(node.items())
        elif isinstance(node, (list, tuple)):
            items = enumerate(node)
        else:
            continue
        if level < limit:
            stack.extend((child, level + 1, (link, key)) for key, child in items)
        elif next(items, None) is not None:
            path: list[str] = []
            while link is not None:
                link, key = link
                path.append(str(key))
            return path[::-1]
    return None


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value),
        "null"
        if value is None
        else "a number"
        if isinstance(value, (int, float))
        else type(value).__name__,
    )


def parse_bundle(text: str | bytes, origin: str) -> dict[str, Any]:
    """Strict JSON in UTF-8: no duplicate keys, no NaN or Infinity."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")  # json.loads would guess UTF-16 or UTF-32 from bytes
        data = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=refuse_constant)
    except UnicodeDecodeError as e:
        raise BundleError(f"not UTF-8 ({e.reason} at byte {e.start})", file=origin) from None
    except json.JSONDecodeError as e:
        raise BundleError(f"not valid JSON: {e.msg}", file=origin, line=e.lineno) from None
    except (ValueError, RecursionError) as e:
        raise BundleError(f"not valid JSON: {e}", file=origin) from None
    if not isinstance(data, dict):
        raise BundleError(f"a bundle is a JSON object, not {_type_name(data)}", file=origin)
    return data


def read_bundle(file: str | os.PathLike[str], origin: str) -> bytes:
    """The bytes of FILE, a regular file of at most MAX_BUNDLE_BYTES, else BundleError.

    Opened non-blocking, so a FIFO with no writer does not hang the open, then
    checked with fstat (the file opened, not whatever the name points to later);
    at most MAX_BUNDLE_BYTES + 1 bytes are read, so neither /dev/zero nor a file
    growing while it is read can exhaust memory.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(file, flags)
    except OSError as e:
        raise BundleError(f"cannot read: {e.strerror or e}", file=origin) from None
    too_large = f"over the {MAX_BUNDLE_BYTES // 2**20} MiB limit of a bundle"
    try:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, device or socket"
                raise BundleError(f"not a regular file ({kind})", file=origin)
            if info.st_size > MAX_BUNDLE_BYTES:
                raise BundleError(too_large, file=origin)
            with os.fdopen(fd, "rb", closefd=False) as f:
                raw = f.read(MAX_BUNDLE_BYTES + 1)  # the file may grow after fstat
        finally:
            os.close(fd)
    except OSError as e:
        raise BundleError(f"cannot read: {e.strerror or e}", file=origin) from None
    except MemoryError:
        raise BundleError(_OUT_OF_MEMORY, file=origin) from None
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleError(too_large, file=origin)
    return raw


def check_bundle(data: Any, origin: str) -> dict[str, Any]:
    """DATA if it is a valid bundle, else BundleError naming ORIGIN and the field."""
    from modelreg.core.names import is_model_name

    c = _Checker(origin)
    top = c.obj(data, "", ("schema", "stage", "source", "models"), extensions=True)
    if top["schema"] != BUNDLE_SCHEMA:
        raise c.fail(
            "schema",
            f"is {top['schema']!r}, not {BUNDLE_SCHEMA!r} (not a modelreg bundle, or a newer format)",
        )
    stage = c.text(top["stage"], "stage", _STAGE_RE, "a stage name")
    if stage == _RESERVED_STAGE:
        raise c.fail("stage", f"{stage!r} is the archive state, not a stage")
    source = c.obj(top["source"], "source", ("commit", "ref", "registry"))
    c.optional_text(source["commit"], "source.commit", _COMMIT_RE, "a commit id")
    c.optional_text(source["ref"], "source.ref")
    c.text(source["registry"], "source.registry")
    models = top["models"]
    if not isinstance(models, dict):
        raise c.fail("models", f"must be an object, not {_type_name(models)}")
    for name, entry in models.items():
        where = f"models.{name}"
        if not is_model_name(name):
            raise c.fail(where, f"{name!r} is not a model name")
        if entry is None:
            continue
        c.obj(entry, where, ("version", "digest", "since", "tag", "config", "canary"))
        version = c.text(entry["version"], f"{where}.version", _VERSION_RE, "a version")
        dg = c.text(entry["digest"], f"{where}.digest", _DIGEST_RE, "a sha256 digest")
        c.text(entry["since"], f"{where}.since", _TIME_RE, "a timestamp")
        c.optional_text(entry["tag"], f"{where}.tag", _TAG_RE, "a tag name")
        c.config(entry["config"], f"{where}.config", name, version, dg)
        canary = entry["canary"]
        if canary is None:
            continue
        cw = f"{where}.canary"
        c.obj(canary, cw, ("version", "digest", "weight", "since", "config"))
        cv = c.text(canary["version"], f"{cw}.version", _VERSION_RE, "a version")
        cd = c.text(canary["digest"], f"{cw}.digest", _DIGEST_RE, "a sha256 digest")
        c.weight(canary["weight"], f"{cw}.weight")
        c.text(canary["since"], f"{cw}.since", _TIME_RE, "a timestamp")
        c.config(canary["config"], f"{cw}.config", name, cv, cd)
    too_deep = _too_deep(top, MAX_BUNDLE_DEPTH)  # in an `x-` key: configs are checked above
    if too_deep is not None:
        raise c.fail("", _where_too_deep(too_deep))
    return top


def _nests_too_deep(limit: int) -> str:
    limit_of = "a version file" if limit == MAX_DEPTH else "a bundle"
    return f"nests deeper than {limit} levels, the limit of {limit_of}"


def _where_too_deep(path: list[str]) -> str:
    """The message for a bundle nesting deeper than MAX_BUNDLE_DEPTH at PATH: it names
    the config (then deeper than MAX_DEPTH) or the top-level key."""
    head = path[:5]  # models.M.config or models.M.canary.config
    if head[:1] == ["models"] and "config" in head:
        return f"{'.'.join(head[: head.index('config') + 1])}: {_nests_too_deep(MAX_DEPTH)}"
    return f"{path[0]}: {_nests_too_deep(MAX_BUNDLE_DEPTH)}"


# --- the registry ------------------------------------------------------------------------


class _Stage:
    """One stage's bundle, loaded: routes per model, and who serves nothing."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle
        self.name: str = bundle["stage"]
        self.routes: dict[str, _Route] = {}
        self.idle: set[str] = set()
        for model, entry in bundle["models"].items():
            if entry is None:
                self.idle.add(model)
                continue
            self.routes[model] = _route(model, self.name, entry)


def _route(model: str, stage: str, entry: dict[str, Any]) -> _Route:
    canary = entry["canary"]
    weight = canary["weight"] if canary else None
    stable = ResolvedConfig(
        model, stage, entry["version"], entry["digest"], STABLE, weight, entry["config"]
    )
    if canary is None:
        return _Route(stable, None, 0, b"")
    side = ResolvedConfig(
        model, stage, canary["version"], canary["digest"], CANARY, weight, canary["config"]
    )
    return _Route(
        stable,
        side,
        canary_threshold(canary["weight"]),
        routing_prefix(model, stage, canary["digest"]),
    )


class Registry:
    """Serving configs, loaded once, resolved per request.

    `Registry.open(path, ref=None)` reads a registry (its work tree, or one commit
    with REF), one stage at a time on first use; `Registry.from_bundle(file)` loads
    an exported bundle (one stage). Safe to share between threads.
    """

    def __init__(self, *, origin: str, source: BundleSource | None = None) -> None:
        self.origin = origin
        self._source = source
        self._stages: dict[str, _Stage] = {}
        self._routes: dict[tuple[str, str], _Route] = {}
        self._lock = threading.Lock()

    # --- constructors ------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], ref: str | None = None) -> Registry:
        """The registry in folder PATH (holding modelreg.yaml): its work tree as it is, or,
        with REF, that commit's files, read from git without a checkout.

        Each stage is read (and every served config checked against the digest its
        state file records) on its first `resolve`; `load(stage)` does it now.
        """
        from pathlib import Path

        from modelreg.errors import ModelregError
        from modelreg.services.export import BundleSource

        try:
            source = BundleSource.open(Path(path), ref)
        except ModelregError as e:
            raise SourceError(e.message, file=e.file, line=e.line) from e
        origin = str(path) if ref is None else f"{path} at {ref}"
        return cls(origin=origin, source=source)

    @classmethod
    def from_bundle(cls, file: str | os.PathLike[str]) -> Registry:
        """The registry of one stage from a bundle written by `modelreg export`: a
        regular file of at most MAX_BUNDLE_BYTES."""
        origin = str(file)
        raw = read_bundle(file, origin)
        try:
            return cls._loaded(check_bundle(parse_bundle(raw, origin), origin), origin)
        except MemoryError:
            pass  # raised below: a traceback kept on the error would keep the parsed data
        del raw
        raise BundleError(_OUT_OF_MEMORY, file=origin)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, origin: str = "<bundle>") -> Registry:
        """The registry of one stage from a parsed bundle (checked as `from_bundle` does)."""
        too_deep = _too_deep(data, MAX_BUNDLE_DEPTH)  # before json.dumps recurses into it
        if too_deep is not None:
            raise BundleError(_where_too_deep(too_deep), file=origin)
        out_of_memory = False
        try:  # a copy: the caller's dict may change later, the registry does not
            copied = json.loads(json.dumps(data, allow_nan=False))
        except (TypeError, ValueError, RecursionError) as e:
            raise BundleError(f"not JSON data: {e}", file=origin) from None
        except MemoryError:
            out_of_memory = True  # raised below, as in from_bundle
        if out_of_memory:
            raise BundleError(_OUT_OF_MEMORY, file=origin)
        return cls._loaded(check_bundle(copied, origin), origin)

    @classmethod
    def _loaded(cls, bundle: dict[str, Any], origin: str) -> Registry:
        reg = cls(origin=origin)
        reg._add(_Stage(bundle))
        return reg

    # --- questions -----------------------------------------------------------------

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages this registry can resolve: the policy's, or the bundle's one."""
        if self._source is not None:
            return self._source.stages
        return tuple(self._stages)

    def load(self, stage: str) -> None:
        """Read STAGE now rather than on its first `resolve` (UnknownStage, SourceError)."""
        self._stage(stage)

    def bundle(self, stage: str) -> dict[str, Any]:
        """STAGE's bundle as exported (a copy): source, and every model's configs."""
        data: dict[str, Any] = json.loads(json.dumps(self._stage(stage).bundle))
        return data

    def models(self, stage: str) -> tuple[str, ...]:
        """Every model of the registry, serving STAGE or not, sorted."""
        return tuple(sorted(self._stage(stage).bundle["models"]))

    def resolve(self, model: str, stage: str, key: str | bytes | None = None) -> ResolvedConfig:
        """The config a request for MODEL on STAGE gets.

        Without KEY: the stable version. With KEY (a user or session id, str or
        bytes): the canary's side when its hash falls under the canary's weight,
        the same side every time for the same key and canary.
        """
        route = self._routes.get((model, stage))
        if route is None:
            route = self._missing(model, stage)
        if key is None:
            return route.stable
        if isinstance(key, str):
            raw = key.encode("utf-8", "surrogatepass")
        elif isinstance(key, bytes):
            raw = key
        else:
            raise TypeError(f"key must be str or bytes, not {type(key).__name__}")
        if (
            route.canary is not None
            and _U64(_SHA256(route.prefix + raw).digest())[0] < route.threshold
        ):
            return route.canary
        return route.stable

    # --- internals -----------------------------------------------------------------

    def _add(self, loaded: _Stage) -> None:
        routes = {(model, loaded.name): route for model, route in loaded.routes.items()}
        self._stages[loaded.name] = loaded
        self._routes = {**self._routes, **routes}  # swapped whole: readers never see it half-built

    def _stage(self, stage: str) -> _Stage:
        found = self._stages.get(stage)
        if found is not None:
            return found
        if self._source is None:
            held = ", ".join(self._stages)
            raise UnknownStage(
                f"this bundle holds stage {held!r} only, not {stage!r}: export {stage!r} too",
                file=self.origin,
            )
        if stage not in self._source.stages:
            raise UnknownStage(
                f"unknown stage {stage!r} (stages: {', '.join(self._source.stages)})",
                file=self.origin,
            )
        with self._lock:
            found = self._stages.get(stage)
            if found is None:
                found = _Stage(check_bundle(self._build(stage), self.origin))
                self._add(found)
            return found

    def _build(self, stage: str) -> dict[str, Any]:
        from modelreg.errors import ModelregError

        assert self._source is not None
        try:
            return self._source.build(stage)
        except ModelregError as e:
            raise SourceError(e.message, file=e.file, line=e.line) from e

    def _missing(self, model: str, stage: str) -> _Route:
        loaded = self._stage(stage)
        route = loaded.routes.get(model)
        if route is not None:  # the stage was just read
            return route
        if model in loaded.idle:
            raise NotServing(f"{model} serves nothing on {stage}", file=self.origin)
        known = ", ".join(sorted(loaded.bundle["models"])) or "none"
        raise UnknownModel(f"unknown model {model!r} (models: {known})", file=self.origin)

    def __repr__(self) -> str:
        return f"Registry({self.origin!r}, stages loaded: {', '.join(self._stages) or 'none'})"
