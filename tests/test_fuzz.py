"""Schema-driven fuzzing of the whole REST API with schemathesis.

Every operation of the OpenAPI document the session server serves (``/openapi.json``)
gets a bounded number of generated requests, schema-valid and schema-invalid, sent
over real HTTP to the session's ``evergraph dev``. Path parameters are generated
too (mostly not UUIDs), and once more with the ids of a real assistant, thread, run
and checkpoint so the handlers behind the id checks are reached as well.

Checks: no 5xx; JSON where JSON is documented; response bodies match the documented
response schemas where there are any.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

#: generated requests per operation and pass; with about 55 operations and up to three
#: passes each (positive, negative, positive with real ids) the test takes about a
#: minute on 2 cores
MAX_EXAMPLES = 40

#: seconds a single request may take (run creation can execute a graph)
REQUEST_TIMEOUT = 30

#: operations whose response never ends on an existing thread (SSE until the client
#: leaves): fuzzed with generated ids only
ENDLESS_ON_REAL_IDS = {
    ("GET", "/threads/{thread_id}/stream"),
    ("POST", "/threads/{thread_id}/stream/events"),
}


#: operations that still answer some generated requests with a 5xx from code outside
#: the API layer this test's author may change; they are left out of the fuzzing and
#: each known 5xx is pinned by :func:`test_known_server_errors_remain` instead
KNOWN_5XX: dict[tuple[str, str], str] = {}

#: one request per known 5xx: (method, path, JSON body)
#: requests that used to answer 5xx (fixed): they must stay 4xx
FIXED_5XX_REQUESTS = [
    ("PUT", "/store/items", {"namespace": ["fuzz"], "key": "k", "value": {"n": 2**64}}),
    ("POST", "/store/items/search", {"namespace_prefix": ["fuzz"], "filter": {"bad key!": 1}}),
    ("POST", "/store/items/search", {"namespace_prefix": ["fuzz"], "offset": 2**70}),
]


@pytest.fixture(scope="module")
def real_ids(server: str) -> dict[str, str]:
    """Ids of real objects for the path parameters: an assistant of graph ``chain``,
    a thread with one finished run of it, that run and its last checkpoint."""
    with httpx.Client(base_url=server, timeout=60) as http:
        assistant = http.post("/assistants", json={"graph_id": "chain", "name": "fuzz"}).json()
        thread = http.post("/threads", json={"metadata": {"fuzz": True}}).json()
        tid = thread["thread_id"]
        r = http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "chain", "input": {"log": [], "n": 0}})
        assert r.status_code == 200, r.text
        run = http.get(f"/threads/{tid}/runs").json()[0]
        state = http.get(f"/threads/{tid}/state").json()
    return {
        "assistant_id": assistant["assistant_id"],
        "thread_id": tid,
        "run_id": run["run_id"],
        "checkpoint_id": state["checkpoint"]["checkpoint_id"],
        "cron_id": "00000000-0000-4000-8000-000000000000",
        "namespace": "inner",
    }


@pytest.fixture(scope="module")
def api_schema(server: str):
    """Our own OpenAPI document, as the session server serves it."""
    return schemathesis.openapi.from_url(f"{server}/openapi.json")


def _run_operation(operation, server: str, mode, failures: list[str], path_parameters=None) -> int:
    """Fuzz one operation; returns the number of requests sent. A 5xx or a response
    not matching the document is appended to ``failures`` (first one per pass)."""
    sent = 0
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case) -> None:
        nonlocal sent
        sent += 1
        try:
            response = case.call(base_url=server, timeout=REQUEST_TIMEOUT)
        except Exception as exc:  # a dropped connection is as bad as a 5xx
            raise AssertionError(f"{case.method} {case.formatted_path}: {type(exc).__name__}: {exc}") from None
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}\n"
            f"  {case.as_curl_command()}"
        )
        case.validate_response(response, checks=[content_type_conformance, response_schema_conformance])

    try:
        fuzz()
    except Unsatisfiable:  # nothing of this operation can be made invalid
        pass
    except (Exception, BaseExceptionGroup) as exc:  # hypothesis re-raises the first failure
        failures.append(f"[{mode.value}{' real ids' if path_parameters else ''}] {exc}")
    return sent


def _fuzz(operations, server: str, real_ids: dict[str, str]) -> tuple[list[str], int]:
    """Fuzz ``operations`` in every pass; returns the failures and requests sent."""
    failures: list[str] = []
    sent = 0
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        sent += _run_operation(operation, server, GenerationMode.POSITIVE, failures)
        sent += _run_operation(operation, server, GenerationMode.NEGATIVE, failures)
        names = [p.name for p in operation.path_parameters]
        if names and key not in ENDLESS_ON_REAL_IDS:
            ids = {name: real_ids[name] for name in names if name in real_ids}
            if ids:
                sent += _run_operation(operation, server, GenerationMode.POSITIVE, failures, path_parameters=ids)
    return failures, sent


def _operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


def test_no_server_errors(api_schema, server: str, real_ids: dict[str, str]):
    """Every operation (but :data:`KNOWN_5XX`), fuzzed: no generated request gets a
    5xx, and responses carry the documented content types and shapes."""
    started = time.monotonic()
    operations = _operations(api_schema)
    assert len(operations) >= 40, "the OpenAPI document lost operations"
    tested = [op for op in operations if (op.method.upper(), op.path) not in KNOWN_5XX]
    failures, sent = _fuzz(tested, server, real_ids)
    elapsed = time.monotonic() - started
    assert not failures, f"{len(failures)} failing fuzz passes:\n\n" + "\n\n".join(failures)
    assert sent >= len(tested) * MAX_EXAMPLES, f"only {sent} requests were generated"
    print(f"fuzzed {len(tested)} operations with {sent} requests in {elapsed:.0f}s")


# ------------------------------------------ hostile values in every parameter and body field

#: integers beyond the signed 64-bit range (SQLite, PostgreSQL and orjson stop there)
HUGE_NUMBERS = (2**63, 10**20)
#: nesting depths a body value gets: just past api.models.MAX_JSON_DEPTH, past
#: Python's parser (its recursion limit), far past
DEEP_LEVELS = (201, 1_000, 100_000)
#: generated requests per operation that get the hostile values
HOSTILE_EXAMPLES = 2


def _numeric(schema: dict) -> bool:
    """Whether a parameter schema admits a number (``anyOf`` included)."""
    if schema.get("type") in ("integer", "number"):
        return True
    return any(_numeric(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []) if isinstance(s, dict))


def _examples(operation, path_parameters=None) -> list:
    """A few schema-valid generated cases of ``operation``."""
    found: list = []

    @settings(
        max_examples=HOSTILE_EXAMPLES, deadline=None, derandomize=True, database=None,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=path_parameters))
    def collect(case) -> None:
        found.append(case)

    try:
        collect()
    except Unsatisfiable:
        pass
    return found


def _raw(body, key=None, value_text: str = "") -> str:
    """``body`` as JSON text, with ``body[key]`` (or, ``key=None``, the whole body)
    replaced by ``value_text`` (JSON that Python's encoder may not be able to write)."""
    marker = "__hostile_value__"
    if key is None:
        return value_text
    if isinstance(body, list):
        shaped = [marker, *body[1:]]
    else:
        shaped = {**body, key: marker}
    return json.dumps(shaped).replace(json.dumps(marker), value_text, 1)


def _hostile_variants(operation, case):
    """``(label, query, raw body, too_deep)`` variants of a generated ``case``:
    each numeric query parameter beyond 64 bits; each top-level body field (or the
    body itself) beyond 64 bits and nested too deep."""
    query = {k: v for k, v in (case.query or {}).items()}
    body = case.body if isinstance(case.body, (dict, list)) else None
    has_body = bool(list(operation.body))
    base_raw = json.dumps(body) if body is not None else None
    for param in operation.query:
        if _numeric(param.definition.get("schema", {})):
            for n in HUGE_NUMBERS:
                yield f"query {param.name}={n}", {**query, param.name: str(n)}, base_raw, False
    if not has_body:
        return
    keys = list(body) if isinstance(body, dict) else ([0] if isinstance(body, list) and body else [])
    for key in [*keys, None]:
        for n in HUGE_NUMBERS:
            yield f"body {key}={n}", query, _raw(body, key, str(n)), False
        for levels in DEEP_LEVELS:
            yield f"body {key} {levels} levels deep", query, _raw(body, key, "[" * levels + "]" * levels), True


def _send_hostile(http: httpx.Client, operation, case, failures: list[str]) -> int:
    """Send every hostile variant of ``case``; a 5xx, a dropped connection, or (deep
    nesting) anything but a 422 that names the depth limit is appended to
    ``failures``. Returns requests sent."""
    sent = 0
    for label, query, raw, too_deep in _hostile_variants(operation, case):
        sent += 1
        where = f"{case.method} {case.formatted_path} [{label}]"
        try:
            with http.stream(
                case.method, case.formatted_path, params=query,
                content=raw.encode() if raw is not None else None,
                headers={"content-type": "application/json"} if raw is not None else None,
            ) as response:  # SSE answers are not read: only the status counts
                status = response.status_code
                text = response.read().decode(errors="replace") if status >= 400 else ""
        except Exception as exc:  # a dropped connection is as bad as a 5xx
            failures.append(f"{where}: {type(exc).__name__}: {exc}")
            continue
        if status >= 500 or (too_deep and (status != 422 or "nested deeper than" not in text)):
            failures.append(f"{where} -> {status}: {text[:300]}")
    return sent


def test_no_server_errors_on_hostile_values(api_schema, server: str, real_ids: dict[str, str]):
    """Every operation, with generated requests whose numeric query parameters are
    beyond 64 bits and whose body fields (each, and the whole body) are beyond 64
    bits or nested too deep (201, 1 000, 100 000 levels): never a 5xx, and a too-deep
    body is always a 422 naming the depth limit. Path parameters are real ids where there are any, so the
    handlers behind the id checks see the values."""
    started = time.monotonic()
    failures: list[str] = []
    sent = 0
    with httpx.Client(base_url=server, timeout=REQUEST_TIMEOUT) as http:
        for operation in _operations(api_schema):
            names = [p.name for p in operation.path_parameters]
            key = (operation.method.upper(), operation.path)
            ids = {n: real_ids[n] for n in names if n in real_ids} if key not in ENDLESS_ON_REAL_IDS else {}
            for case in _examples(operation, ids or None):
                sent += _send_hostile(http, operation, case, failures)
    elapsed = time.monotonic() - started
    assert not failures, f"{len(failures)} hostile requests failed:\n\n" + "\n".join(failures)
    print(f"sent {sent} hostile requests in {elapsed:.0f}s")


@pytest.mark.parametrize("method,path,body", FIXED_5XX_REQUESTS)
def test_former_server_errors_are_clear_client_errors(http, method: str, path: str, body: dict):
    """Requests the fuzzer once made fail with 5xx now get a 422 that says what was
    wrong."""
    r = http.request(method, path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert r.json()["detail"]


# ------------------------------------------------- the 5xx the fuzzer found, as regressions

BIG = 2**64


@pytest.mark.parametrize(
    "method,path,body,field",
    [
        ("POST", "/assistants", {"graph_id": "chain", "metadata": {"n": BIG}}, "metadata.n"),
        ("POST", "/threads", {"metadata": {"a": [1, {"b": -BIG}]}}, "metadata.a[1].b"),
        ("POST", "/runs/wait", {"assistant_id": "chain", "stream_mode": [BIG]}, "stream_mode[0]"),
        ("POST", "/runs/crons", {"assistant_id": "chain", "schedule": "* * * * *", "input": {"x": BIG}}, "input.x"),
    ],
)
def test_integers_beyond_64_bits_are_422_naming_the_field(http, method, path, body, field):
    """Python parses integers of any size; storing or echoing them failed with 500."""
    r = http.request(method, path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json() == {"detail": f"{field}: integer {body_value(body, field)} is outside the signed 64-bit range"}


def body_value(body, field):
    """The value at ``field`` (``a.b[0]``) of ``body``."""
    value = body
    for part in field.replace("[", ".[").split("."):
        value = value[int(part[1:-1])] if part.startswith("[") else value[part]
    return value


def test_unpaired_surrogates_and_deep_nesting_are_422(http):
    """A lone UTF-16 surrogate (valid JSON, not valid Unicode) and nesting orjson
    cannot write are refused before anything is stored."""
    raw = '{"graph_id": "chain", "name": "x", "metadata": {"k": "\\udc00"}}'
    r = http.post("/assistants", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("metadata.k: text with an unpaired UTF-16 surrogate")

    deep: dict = {}
    node = deep
    for _ in range(300):
        node["d"] = {}
        node = node["d"]
    r = http.post("/threads", json={"metadata": deep})
    assert r.status_code == 422, r.text
    assert "nested deeper than 200 levels" in r.json()["detail"]
    assert r.json()["detail"].startswith("metadata.d.d.")


def test_thread_search_extract_with_an_invalid_path_is_422(http):
    """``extract: {"x": ""}`` extracted the thread into itself (500 on encoding)."""
    http.post("/threads", json={"metadata": {"fuzz_extract": True}})
    for path in ["", "a..b", "[0]", "values."]:
        r = http.post("/threads/search", json={"metadata": {"fuzz_extract": True}, "extract": {"x": path}})
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"].startswith(f"extract.x: invalid path {path!r}")
    r = http.post("/threads/search", json={"metadata": {"fuzz_extract": True}, "extract": {"f": "metadata.fuzz_extract"}})
    assert r.status_code == 200 and r.json()[0]["extracted"] == {"f": True}
