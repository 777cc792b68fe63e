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
    """``Invalid <kind> ID: must be a UUID``, a graph id included, on every route, as
    langgraph-api 0.16.7 answers; nothing is written."""
    before = await _snapshot(client, thread_id)
    cases = (
        [(m, p.format(bad=bad), b, "thread") for m, p, b in THREAD_PATHS]
        + [(m, p.format(bad=bad, tid=thread_id), b, "run") for m, p, b in RUN_PATHS]
        + [(m, p.format(bad=bad), b, "assistant") for m, p, b in ASSISTANT_PATHS]
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
        ("/threads/{tid}/runs/stream", "stream_mode", "tools"),  # in the SDK's type; langgraph-api 0.16.7 says 422
        ("/threads/{tid}/runs/stream", "stream_mode", "lifecycle"),
        ("/threads/{tid}/runs/stream", "stream_mode", ["values", "tools"]),
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
    bad_value = value if isinstance(value, str) else "tools"
    assert field in detail and bad_value in detail, detail
    assert await _snapshot(client, thread_id) == before


async def test_unsupported_stream_modes_through_the_sdk(client, thread_id):
    """``tools`` and ``lifecycle`` are in the SDK's ``StreamMode`` type, but
    langgraph-api 0.16.7 says 422 to them as run stream modes."""
    before = await _snapshot(client, thread_id)
    for mode in ("tools", "lifecycle"):
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


async def test_input_with_command_and_unknown_interrupt_node_are_accepted(client, http, thread_id):
    """As in langgraph-api 0.16.7, both ``input`` and ``command`` are accepted (the
    command wins); an unknown node in ``interrupt_before`` is accepted and never fires."""
    r = http.post(f"/threads/{thread_id}/runs/wait", json=RUN_BODY)
    assert r.json() == {"log": ["step1", "step2", "step3"], "n": 3}
    r = http.post(
        f"/threads/{thread_id}/runs/wait", json={**RUN_BODY, "input": {"log": ["x"]}, "command": {"resume": 1}}
    )
    assert r.status_code == 200
    assert r.json() == {"log": ["step1", "step2", "step3"], "n": 3}
    r = http.post(
        f"/threads/{thread_id}/runs/wait", json={**RUN_BODY, "input": {"log": ["y"]}, "interrupt_before": ["nope"]}
    )
    assert r.status_code == 200
    assert r.json()["log"] == ["step1", "step2", "step3", "y", "step1", "step2", "step3"]
    assert (await client.threads.get(thread_id))["status"] == "idle"
