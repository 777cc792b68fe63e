"""Rejected requests: the status and body langgraph-api 0.16.7 answers, and nothing
written by any rejected request."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from langgraph_sdk.errors import BadRequestError, NotFoundError, UnprocessableEntityError

from tests.conftest import GRAPHS_CONFIG

GRAPH_IDS = list(json.loads(GRAPHS_CONFIG.read_text())["graphs"])
NOT_FOUND_FOR_RUN = {"detail": "Thread or assistant not found."}
CONTEXT_AND_CONFIGURABLE = {
    "detail": "Cannot specify both configurable and context. Prefer setting context alone. Context was "
    "introduced in LangGraph 0.6.0 and is the long term planned replacement for configurable."
}
RUN_BODY = {"assistant_id": "chain", "input": {"log": [], "n": 0}}


class _Snapshot(dict):
    """What a rejected request must leave unchanged. Thread and assistant ids are
    compared as "nothing new", so that other tests' stateless threads being removed
    meanwhile do not matter."""

    def __eq__(self, other) -> bool:
        if not isinstance(other, _Snapshot):
            return NotImplemented
        mine = {k: v for k, v in self.items() if k not in ("thread_ids", "assistant_ids")}
        theirs = {k: v for k, v in other.items() if k not in ("thread_ids", "assistant_ids")}
        return (
            mine == theirs
            and not (other["thread_ids"] - self["thread_ids"])
            and not (other["assistant_ids"] - self["assistant_ids"])
        )

    __hash__ = None


async def _snapshot(client, thread_id: str) -> _Snapshot:
    thread = await client.threads.get(thread_id)
    threads = await client.threads.search(limit=100_000, select=["thread_id"])
    assistants = await client.assistants.search(limit=100_000, select=["assistant_id"])
    return _Snapshot(
        thread_ids={t["thread_id"] for t in threads},
        assistant_ids={a["assistant_id"] for a in assistants},
        runs=[r["run_id"] for r in await client.runs.list(thread_id)],
        thread={k: thread[k] for k in ("status", "values", "metadata", "updated_at")},
        checkpoint=(await client.threads.get_state(thread_id))["checkpoint_id"],
    )


@pytest.fixture
async def thread_id(client) -> str:
    return (await client.threads.create(metadata={"purpose": "bad-input"}))["thread_id"]


# ------------------------------------------------------------------------ ids in paths

VALID = "00000000-0000-4000-8000-000000000000"

THREAD_PATHS = [
    ("GET", "/threads/{bad}", None),
    ("PATCH", "/threads/{bad}", {"metadata": {"a": 1}}),
    ("DELETE", "/threads/{bad}", None),
    ("POST", "/threads/{bad}/copy", None),
    ("GET", "/threads/{bad}/state", None),
    ("POST", "/threads/{bad}/state", {"values": {"log": ["x"]}}),
    ("GET", "/threads/{bad}/state/" + VALID, None),
    ("POST", "/threads/{bad}/state/checkpoint", {"checkpoint": {"checkpoint_id": VALID}}),
    ("POST", "/threads/{bad}/history", {"limit": 1}),
    ("GET", "/threads/{bad}/history", None),
    ("GET", "/threads/{bad}/runs", None),
    ("POST", "/threads/{bad}/runs", {**RUN_BODY, "if_not_exists": "create"}),
    ("POST", "/threads/{bad}/runs/wait", {**RUN_BODY, "if_not_exists": "create"}),
    ("POST", "/threads/{bad}/runs/stream", {**RUN_BODY, "if_not_exists": "create"}),
    ("GET", "/threads/{bad}/runs/" + VALID, None),
]
RUN_PATHS = [
    ("GET", "/threads/{tid}/runs/{bad}", None),
    ("DELETE", "/threads/{tid}/runs/{bad}", None),
    ("GET", "/threads/{tid}/runs/{bad}/join", None),
    ("GET", "/threads/{tid}/runs/{bad}/stream", None),
    ("POST", "/threads/{tid}/runs/{bad}/cancel", None),
]
ASSISTANT_PATHS = [
    ("GET", "/assistants/{bad}", None),
    ("PATCH", "/assistants/{bad}", {"name": "x"}),
    ("DELETE", "/assistants/{bad}", None),
    ("GET", "/assistants/{bad}/graph", None),
    ("GET", "/assistants/{bad}/schemas", None),
    ("GET", "/assistants/{bad}/subgraphs", None),
    ("POST", "/assistants/{bad}/versions", {"limit": 1}),
    ("POST", "/assistants/{bad}/latest", {"version": 1}),
]


@pytest.mark.parametrize("bad", ["abc", "chain", "not-a-uuid-at-all"])
async def test_non_uuid_ids_in_paths_are_422(client, http, thread_id, bad):
    """``Invalid <kind> ID: must be a UUID``, a graph id included (but in
    ``/assistants/{id}/graph``), on every route, as langgraph-api 0.16.7 answers;
    nothing is written."""
    before = await _snapshot(client, thread_id)
    cases = (
        [(m, p.format(bad=bad), b, "thread") for m, p, b in THREAD_PATHS]
        + [(m, p.format(bad=bad, tid=thread_id), b, "run") for m, p, b in RUN_PATHS]
        + [
            (m, p.format(bad=bad), b, "assistant") for m, p, b in ASSISTANT_PATHS
            # a graph id names its system assistant in /graph (tests/test_official_shapes.py)
            if not (bad == "chain" and p.endswith("/graph"))
        ]
    )
    for method, path, body, kind in cases:
        r = http.request(method, path, json=body)
        assert (r.status_code, r.json()) == (422, {"detail": f"Invalid {kind} ID: must be a UUID"}), (method, path)
    assert await _snapshot(client, thread_id) == before


async def test_non_uuid_ids_through_the_sdk(client, thread_id):
    for call, kind in [
        (client.threads.get("abc"), "thread"),
        (client.threads.get_state("abc"), "thread"),
        (client.runs.get(thread_id, "abc"), "run"),
        (client.assistants.get("chain"), "assistant"),
    ]:
        with pytest.raises(UnprocessableEntityError) as err:
            await call
        assert err.value.body == {"detail": f"Invalid {kind} ID: must be a UUID"}


# --------------------------------------------------------- unknown thread / assistant


async def test_run_on_an_unknown_thread_is_404(client, thread_id):
    """404 ``Thread or assistant not found.``, as langgraph-api 0.16.7 answers; no
    thread is made."""
    before = await _snapshot(client, thread_id)
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as err:
        await client.runs.create(missing, "chain", input={"log": []})
    assert err.value.body == NOT_FOUND_FOR_RUN
    with pytest.raises(NotFoundError) as err:
        async for _ in client.runs.stream(missing, "chain", input={"log": []}):
            pass
    assert err.value.body == NOT_FOUND_FOR_RUN
    # the SDK's runs.wait raises a plain httpx.HTTPStatusError (langgraph-sdk 0.4.14)
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.runs.wait(missing, "chain", input={"log": []})
    assert err.value.response.status_code == 404
    assert err.value.response.json() == NOT_FOUND_FOR_RUN
    with pytest.raises(NotFoundError):
        await client.threads.get(missing)
    assert await _snapshot(client, thread_id) == before


async def test_run_with_an_unknown_assistant_uuid_is_404(client, http, thread_id):
    """An unknown assistant UUID is 404 ``Thread or assistant not found.`` on every
    run-creating route, as langgraph-api 0.16.7 answers; nothing is written."""
    before = await _snapshot(client, thread_id)
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as err:
        await client.runs.create(thread_id, unknown, input={"log": []})
    assert err.value.body == NOT_FOUND_FOR_RUN
    for path in (f"/threads/{thread_id}/runs/wait", f"/threads/{thread_id}/runs/stream", "/runs", "/runs/wait"):
        r = http.post(path, json={"assistant_id": unknown, "input": {}})
        assert (r.status_code, r.json()) == (404, NOT_FOUND_FOR_RUN), path
    assert await _snapshot(client, thread_id) == before


async def test_run_with_an_assistant_that_is_neither_uuid_nor_graph_is_422(client, http, thread_id):
    """422 whose multi-line message lists the registered graphs, as langgraph-api
    0.16.7 answers."""
    before = await _snapshot(client, thread_id)
    expected = {
        "detail": "Invalid assistant: 'nope'. Must be either:\n- A valid assistant UUID, or\n"
        f"- One of the registered graphs: {', '.join(GRAPH_IDS)}"
    }
    with pytest.raises(UnprocessableEntityError) as err:
        await client.runs.create(thread_id, "nope", input={})
    assert err.value.body == expected
    for path in (f"/threads/{thread_id}/runs/stream", "/runs", "/runs/stream"):
        r = http.post(path, json={"assistant_id": "nope", "input": {}})
        assert (r.status_code, r.json()) == (422, expected), path
    assert await _snapshot(client, thread_id) == before


async def test_a_graph_id_is_accepted_in_a_run_body(client, thread_id):
    """In bodies (unlike paths) a graph id names its system assistant, as in
    langgraph-api 0.16.7."""
    run = await client.runs.create(thread_id, "chain", input={"log": [], "n": 0})
    await client.runs.join(thread_id, run["run_id"])
    assert (await client.runs.get(thread_id, run["run_id"]))["status"] == "success"


# --------------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    "path",
    ["/threads/{tid}/runs", "/threads/{tid}/runs/wait", "/threads/{tid}/runs/stream", "/threads", "/assistants"],
)
async def test_malformed_json_is_422(client, http, thread_id, path):
    """422 ``Invalid JSON in request body`` (the SDK's content type), as langgraph-api
    0.16.7 answers."""
    before = await _snapshot(client, thread_id)
    r = http.post(path.format(tid=thread_id), content=b"{not json", headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (422, {"detail": "Invalid JSON in request body"})
    assert await _snapshot(client, thread_id) == before


async def test_malformed_json_without_a_content_type_is_422(client, http, thread_id):
    """langgraph-api 0.16.7 parses a body as JSON whatever its content type: a raw body
    without ``Content-Type`` is the same invalid JSON as with the SDK's content type."""
    before = await _snapshot(client, thread_id)
    r = http.post(f"/threads/{thread_id}/runs", content=b"{not json")
    assert (r.status_code, r.json()) == (422, {"detail": "Invalid JSON in request body"})
    assert await _snapshot(client, thread_id) == before


async def test_empty_body_is_invalid_json(client, http, thread_id):
    """A POST without a body gives ``Invalid JSON in request body``, as in
    langgraph-api 0.16.7."""
    before = await _snapshot(client, thread_id)
    r = http.post(f"/threads/{thread_id}/runs", headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (422, {"detail": "Invalid JSON in request body"})
    assert await _snapshot(client, thread_id) == before


async def test_missing_assistant_id_is_422_naming_it(client, http, thread_id):
    """422 ``"assistant_id" is a required property…``, as langgraph-api 0.16.7 answers."""
    before = await _snapshot(client, thread_id)
    for path in (f"/threads/{thread_id}/runs", f"/threads/{thread_id}/runs/wait", "/runs"):
        r = http.post(path, json={"input": {}})
        assert r.status_code == 422, path
        detail = r.json()["detail"]
        assert "assistant_id" in detail and "is a required property" in detail, detail
    assert await _snapshot(client, thread_id) == before


@pytest.mark.parametrize(
    "path, field, value",
    [
        ("/threads/{tid}/runs", "multitask_strategy", "bogus"),
        ("/threads/{tid}/runs/stream", "stream_mode", "bogus"),
        ("/threads/{tid}/runs/stream", "stream_mode", "lifecycle"),  # in the SDK's type; langgraph-api 0.16.7 says 422
        ("/threads/{tid}/runs/stream", "stream_mode", ["values", "lifecycle"]),
        ("/threads/{tid}/runs", "durability", "never"),
        ("/threads/{tid}/runs/wait", "if_not_exists", "maybe"),
        ("/threads/{tid}/runs", "on_completion", "sometimes"),
    ],
)
async def test_bad_enum_in_a_run_body_is_422(client, http, thread_id, path, field, value):
    before = await _snapshot(client, thread_id)
    r = http.post(path.format(tid=thread_id), json={**RUN_BODY, field: value})
    assert r.status_code == 422
    detail = r.json()["detail"]
    bad_value = value if isinstance(value, str) else "lifecycle"
    assert field in detail and bad_value in detail, detail
    assert await _snapshot(client, thread_id) == before


async def test_unsupported_stream_modes_through_the_sdk(client, thread_id):
    """``lifecycle`` is in the SDK's ``StreamMode`` type, but langgraph-api 0.16.7
    says 422 to it as a run stream mode (and to ``tools``, which Evergraph serves:
    tests/test_tools_mode.py)."""
    before = await _snapshot(client, thread_id)
    for mode in ("lifecycle",):
        with pytest.raises(UnprocessableEntityError):
            async for _ in client.runs.stream(thread_id, "chain", input={}, stream_mode=mode):
                pass
    assert await _snapshot(client, thread_id) == before


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/threads", {"if_exists": "maybe"}, "if_exists"),
        ("/threads/search", {"limit": "ten"}, "limit"),
        ("/assistants", {}, "graph_id"),
        ("/assistants/search", {"sort_by": "colour"}, "sort_by"),
        ("/threads/search", {"status": "sleeping"}, "status"),
    ],
)
async def test_schema_violations_elsewhere_are_422(client, http, thread_id, path, body, field):
    before = await _snapshot(client, thread_id)
    r = http.post(path, json=body)
    assert r.status_code == 422
    assert field in r.json()["detail"]
    assert await _snapshot(client, thread_id) == before


async def test_context_and_configurable_in_a_run_is_400(client, http, thread_id):
    """``config.configurable`` with ``context`` in a run: 400, as langgraph-api 0.16.7
    answers; nothing is written."""
    before = await _snapshot(client, thread_id)
    with pytest.raises(BadRequestError) as err:
        await client.runs.create(
            thread_id, "chain", input={}, config={"configurable": {"a": 1}}, context={"b": 2}
        )
    assert err.value.body == CONTEXT_AND_CONFIGURABLE
    for path in (f"/threads/{thread_id}/runs/wait", "/runs/wait"):
        r = http.post(path, json={**RUN_BODY, "config": {"configurable": {"a": 1}}, "context": {"b": 2}})
        assert (r.status_code, r.json()) == (400, CONTEXT_AND_CONFIGURABLE), path
    assert await _snapshot(client, thread_id) == before


# ------------------------------------------------------------------- accepted oddities


async def test_unknown_body_fields_are_ignored(client, http, thread_id):
    """Unknown body fields pass silently, as in langgraph-api 0.16.7: ``{"zzz": 1}``,
    and ``strict_resume`` (which 0.16.7 never reads)."""
    r = http.post(f"/threads/{thread_id}/runs/wait", json={**RUN_BODY, "zzz": 1, "strict_resume": True})
    assert r.status_code == 200
    assert r.json() == {"log": ["step1", "step2", "step3"], "n": 3}

    r = http.post("/threads", json={"metadata": {"k": "v"}, "zzz": 1})
    assert r.status_code == 200
    assert "zzz" not in r.json() and r.json()["metadata"] == {"k": "v"}

    r = http.post("/assistants", json={"graph_id": "chain", "name": "extra-fields", "zzz": 1})
    assert r.status_code == 200
    assert "zzz" not in r.json() and r.json()["name"] == "extra-fields"

    r = http.post("/threads/search", json={"ids": [thread_id], "zzz": 1})
    assert r.status_code == 200 and [t["thread_id"] for t in r.json()] == [thread_id]


async def test_input_with_command_is_accepted(client, http, thread_id):
    """As in langgraph-api 0.16.7, both ``input`` and ``command`` are accepted (the
    command wins)."""
    r = http.post(f"/threads/{thread_id}/runs/wait", json=RUN_BODY)
    assert r.json() == {"log": ["step1", "step2", "step3"], "n": 3}
    r = http.post(
        f"/threads/{thread_id}/runs/wait", json={**RUN_BODY, "input": {"log": ["x"]}, "command": {"resume": 1}}
    )
    assert r.status_code == 200
    assert r.json() == {"log": ["step1", "step2", "step3"], "n": 3}
    assert (await client.threads.get(thread_id))["status"] == "idle"


# ------------------------------------------- numbers out of range, nesting too deep (issue 12)

BIG = 10**20


def _nest(levels: int) -> list:
    """A value ``levels`` arrays deep."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _deep_text(levels: int) -> str:
    """JSON text ``levels`` arrays deep (too deep for Python's own encoder)."""
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    "path, params, field",
    [
        ("/threads/{tid}/runs", {"offset": BIG}, "offset"),
        ("/threads/{tid}/runs", {"offset": 2**63}, "offset"),
        ("/threads/{tid}/runs", {"limit": BIG}, "limit"),
        ("/threads/{tid}/history", {"limit": 2**63}, "limit"),
        ("/threads/{tid}/history", {"limit": BIG}, "limit"),
    ],
)
async def test_query_numbers_beyond_64_bits_are_422(http, thread_id, path, params, field):
    """They answered 500 (SQLite cannot bind them); now 422 naming the parameter."""
    r = http.get(path.format(tid=thread_id), params=params)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(f"{field}: "), r.text


@pytest.mark.parametrize(
    "method, path, body, field",
    [
        ("POST", "/threads/{tid}/history", {"limit": 2**63}, "limit"),
        ("POST", "/threads/search", {"offset": BIG}, "offset"),
        ("POST", "/assistants/search", {"limit": BIG}, "limit"),
        ("POST", "/store/items/search", {"offset": BIG}, "offset"),
        ("POST", "/store/namespaces", {"max_depth": BIG}, "max_depth"),
        ("POST", "/threads/{tid}/runs", {**RUN_BODY, "after_seconds": 1e12}, "after_seconds"),
        ("POST", "/threads/{tid}/runs", {**RUN_BODY, "after_seconds": 1e300}, "after_seconds"),
        ("POST", "/threads", {"ttl": 1e20}, "ttl"),
        ("POST", "/threads", {"ttl": {"ttl": 1e20}}, "ttl"),
        ("PATCH", "/threads/{tid}", {"ttl": 1e20}, "ttl"),
        ("PUT", "/store/items", {"namespace": ["bad"], "key": "k", "value": {}, "ttl": 1e300}, "ttl"),
    ],
)
async def test_body_numbers_out_of_range_are_422(client, http, thread_id, method, path, body, field):
    """Numbers the server could not store or schedule (``after_seconds`` 1e12 was a
    workflow timer Python cannot represent; a store ``ttl`` of 1e300 minutes a
    ``datetime`` overflow, 500) answer 422 naming the field; nothing is written."""
    before = await _snapshot(client, thread_id)
    r = http.request(method, path.format(tid=thread_id), json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"], r.text
    assert await _snapshot(client, thread_id) == before


@pytest.mark.parametrize("raw", ['{"metadata": {"x": NaN}}', '{"metadata": {"x": 1e999}}', '{"ttl": Infinity}'])
async def test_non_finite_numbers_are_422(http, raw):
    """Python's parser reads ``NaN``, ``Infinity`` and ``1e999``; JSON has no such
    numbers and they were stored as ``null``."""
    r = http.post("/threads", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert "is not a finite number" in r.json()["detail"]


DEEP_BODIES = [
    # (method, path, body with "DEEP" where the too-deep value goes, the field named)
    ("POST", "/threads/{tid}/runs", {**RUN_BODY, "input": {"v": "DEEP"}}, "input.v"),
    ("POST", "/threads/{tid}/runs/wait", {**RUN_BODY, "config": {"configurable": {"v": "DEEP"}}}, "config.configurable.v"),
    ("POST", "/threads/{tid}/runs/stream", {**RUN_BODY, "metadata": {"v": "DEEP"}}, "metadata.v"),
    ("POST", "/threads/{tid}/runs", {**RUN_BODY, "command": {"resume": "DEEP"}}, "command.resume"),
    ("POST", "/runs/wait", {**RUN_BODY, "context": {"v": "DEEP"}}, "context.v"),
    ("POST", "/runs/batch", [{**RUN_BODY, "input": "DEEP"}], "[0].input"),
    ("POST", "/threads", {"metadata": {"v": "DEEP"}}, "metadata.v"),
    ("PATCH", "/threads/{tid}", {"metadata": {"v": "DEEP"}}, "metadata.v"),
    ("POST", "/threads/search", {"values": {"v": "DEEP"}}, "values.v"),
    ("POST", "/threads/{tid}/state", {"values": {"log": "DEEP"}}, "values.log"),
    ("POST", "/threads/{tid}/history", {"metadata": {"v": "DEEP"}}, "metadata.v"),
    ("POST", "/assistants", {"graph_id": "chain", "config": {"v": "DEEP"}}, "config.v"),
    ("POST", "/runs/crons", {**RUN_BODY, "schedule": "* * * * *", "input": "DEEP"}, "input"),
    ("PUT", "/store/items", {"namespace": ["deep"], "key": "k", "value": {"v": "DEEP"}}, "value.v"),
    ("POST", "/store/items/search", {"filter": {"v": "DEEP"}}, "filter.v"),
    ("POST", "/threads/{tid}/commands", {"id": 1, "method": "run.start", "params": {"input": "DEEP"}}, "params.input"),
]


@pytest.mark.parametrize("levels", [201, 1_000, 100_000])
async def test_bodies_nested_too_deep_are_422_naming_the_field(client, http, thread_id, levels):
    """Every JSON body, whatever its field: nested deeper than 200 levels
    (``api.models.MAX_JSON_DEPTH``) is 422 naming the field, before it is parsed. It
    answered 500 (the store: Python's parser hit its recursion limit) or an unnamed
    400 ("There was an error parsing the body"); nothing is written."""
    before = await _snapshot(client, thread_id)
    for method, path, body, field in DEEP_BODIES:
        depth_above = json.dumps(body).split('"DEEP"')[0]
        outer = depth_above.count("{") + depth_above.count("[") - depth_above.count("}") - depth_above.count("]")
        raw = json.dumps(body).replace('"DEEP"', _deep_text(levels - outer))
        r = http.request(
            method, path.format(tid=thread_id), content=raw, headers={"content-type": "application/json"}
        )
        assert r.status_code == 422, (method, path, r.status_code, r.text[:200])
        detail = r.json()["detail"]
        assert detail.startswith(field) and detail.endswith(": nested deeper than 200 levels"), (path, detail[:120])
    assert await _snapshot(client, thread_id) == before


async def test_bodies_nested_200_levels_deep_are_served(client, http, thread_id):
    """The deepest body accepted goes through: stored, run, and answered."""
    body = {**RUN_BODY, "input": {"log": [_nest(197)]}}  # body, input, log, 197 arrays: 200 levels
    r = http.post(f"/threads/{thread_id}/runs/wait", json=body)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["log"][-1] == "step3"
    assert http.get(f"/threads/{thread_id}/history").status_code == 200
    r = http.put("/store/items", json={"namespace": ["deep"], "key": "k", "value": {"v": _nest(198)}})
    assert r.status_code == 204, r.text
    assert http.get("/store/items", params={"namespace": "deep", "key": "k"}).json()["value"] == {"v": _nest(198)}


@pytest.mark.parametrize("value", [-1, 0, "x", True, 1.5])
async def test_recursion_limit_below_one_or_not_an_integer_is_422(client, http, thread_id, value):
    """langgraph-api 0.16.7 accepts ``-1`` and the run fails (``recursion_limit must
    be at least 1``); it refuses a string with 422. Both are 422 naming the field;
    nothing is written."""
    before = await _snapshot(client, thread_id)
    for method, path, body in [
        ("POST", f"/threads/{thread_id}/runs/wait", {**RUN_BODY, "config": {"recursion_limit": value}}),
        ("POST", "/runs", {**RUN_BODY, "config": {"recursion_limit": value}}),
        ("POST", "/assistants", {"graph_id": "chain", "config": {"recursion_limit": value}}),
    ]:
        r = http.request(method, path, json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"].startswith("config.recursion_limit must be an integer of at least 1"), r.text
    assert await _snapshot(client, thread_id) == before


async def test_recursion_limit_in_range_is_accepted(http, thread_id):
    r = http.post(f"/threads/{thread_id}/runs/wait", json={**RUN_BODY, "config": {"recursion_limit": 2**63 - 1}})
    assert r.status_code == 200 and r.json()["n"] == 3
    r = http.post(f"/threads/{thread_id}/runs/wait", json={**RUN_BODY, "config": {"recursion_limit": 1}})
    assert r.status_code == 200 and r.json()["__error__"]["error"] == "GraphRecursionError"


@pytest.mark.parametrize("field", ["interrupt_before", "interrupt_after"])
async def test_unknown_interrupt_nodes_are_422_naming_them(client, http, thread_id, field):
    """langgraph-api 0.16.7 accepts them and never pauses; they are refused, naming
    the unknown names and the graph's nodes; nothing is written."""
    before = await _snapshot(client, thread_id)
    for path in (f"/threads/{thread_id}/runs/wait", f"/threads/{thread_id}/runs", "/runs/stream"):
        r = http.post(path, json={**RUN_BODY, field: ["step1", "nope"]})
        assert (r.status_code, r.json()) == (
            422, {"detail": f"{field}: graph 'chain' has no node(s) ['nope']; its nodes: ['step1', 'step2', 'step3']"}
        ), path
    with pytest.raises(UnprocessableEntityError):
        await client.runs.create(thread_id, "chain", input={}, **{field: ["nope"]})
    assert await _snapshot(client, thread_id) == before
    # known nodes and "*" are taken
    r = http.post(f"/threads/{thread_id}/runs/wait", json={**RUN_BODY, field: ["step2"]})
    assert r.status_code == 200 and (await client.threads.get(thread_id))["status"] == "interrupted"
    r = http.post(f"/threads/{thread_id}/runs/wait", json={**RUN_BODY, field: "*"})
    assert r.status_code == 200


async def test_join_of_a_missing_run_is_404_like_get(client, http, thread_id):
    """``join`` and the stream join answer an unknown run 404 ``Not Found``, as
    ``get`` does (langgraph-api 0.16.7 answers join with 200 and an error body)."""
    missing = str(uuid.uuid4())
    for path in (f"/threads/{thread_id}/runs/{missing}", f"/threads/{thread_id}/runs/{missing}/join",
                 f"/threads/{thread_id}/runs/{missing}/stream"):
        r = http.get(path)
        assert (r.status_code, r.json()) == (404, {"detail": "Not Found"}), path
    # the SDK's runs.join raises a plain httpx.HTTPStatusError (langgraph-sdk 0.4.14)
    with pytest.raises(httpx.HTTPStatusError) as err:
        await client.runs.join(thread_id, missing)
    assert err.value.response.status_code == 404
    other = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "chain", input={"log": []})
    with pytest.raises(httpx.HTTPStatusError) as err:  # the run is not of that thread
        await client.runs.join(other, run["run_id"])
    assert err.value.response.status_code == 404
    assert (await client.runs.join(thread_id, run["run_id"]))["n"] == 3
