// A small chat + approval page driven by `useStream`, loaded by tests/test_browser.py
// from an origin other than the API's.
//
// Query parameters:
//   api  the Evergraph API's base URL, e.g. http://127.0.0.1:2024 (required)
//   lib  "sdk"   -> useStream from @langchain/langgraph-sdk/react (runs.stream protocol)
//        "react" -> useStream from @langchain/react (the v2 thread protocol)
//
// The page has two panels, each with its own useStream hook:
//   * agent    (graph "agent"): a text box and Send; renders every message, an AI
//     message's tool calls, and records each distinct text an AI message showed after
//     a render (window.__evergraph.growth[<message id>] = [text, ...]) so the test can
//     see tokens stream in.
//   * approval (graph "approval"): Request starts a run; the pending interrupt renders
//     its question with an Approve button; the run's final `result` renders when done.
// Every element the test waits on has a `data-testid`.

import { useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import { useStream as useSdkStream } from "@langchain/langgraph-sdk/react";
import { useStream as useReactStream } from "@langchain/react";

const params = new URLSearchParams(window.location.search);
const API_URL = params.get("api");
const LIB = params.get("lib") || "sdk";

window.__evergraph = { lib: LIB, growth: {}, errors: [] };

/** The message's type ("human", "ai", "tool", ...): plain dicts (sdk) or BaseMessage (react). */
function typeOf(message) {
  if (typeof message.type === "string") return message.type;
  if (typeof message.getType === "function") return message.getType();
  if (typeof message._getType === "function") return message._getType();
  return "unknown";
}

/** The text of a message's content: a string or a list of content blocks. */
function textOf(message) {
  const content = message.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((block) => (typeof block === "string" ? block : block && block.type === "text" ? block.text || "" : ""))
      .join("");
  }
  return "";
}

function describeError(error) {
  if (!error) return "";
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/**
 * One interface over both hooks. Returns {messages, values, interrupt, isLoading,
 * error, threadId, send(input), approve(answer)}.
 */
function useGraph(assistantId) {
  if (LIB === "react") {
    const stream = useReactStream({ assistantId, apiUrl: API_URL });
    return {
      messages: stream.messages,
      values: stream.values || {},
      interrupt: stream.interrupt,
      isLoading: stream.isLoading,
      error: stream.error,
      threadId: stream.threadId,
      send: (input) => stream.submit(input),
      approve: (answer) => stream.respond(answer),
    };
  }
  // this hook reports the thread it created through onThreadId
  const [threadId, setThreadId] = useState(null);
  const stream = useSdkStream({
    assistantId,
    apiUrl: API_URL,
    messagesKey: "messages",
    threadId,
    onThreadId: setThreadId,
  });
  return {
    messages: stream.messages,
    values: stream.values || {},
    interrupt: Array.isArray(stream.interrupt) ? stream.interrupt[0] : stream.interrupt,
    isLoading: stream.isLoading,
    error: stream.error,
    threadId,
    send: (input) => stream.submit(input),
    approve: (answer) => stream.submit(undefined, { command: { resume: answer } }),
  };
}

function useReportErrors(panel, error) {
  useEffect(() => {
    if (error) window.__evergraph.errors.push(`${panel}: ${describeError(error)}`);
  }, [panel, error]);
}

function Status({ panel, graph }) {
  return (
    <p>
      <span data-testid={`${panel}-status`}>{graph.isLoading ? "running" : "idle"}</span>
      {" · thread "}
      <span data-testid={`${panel}-thread`}>{graph.threadId || "-"}</span>
      {graph.error ? (
        <span className="error" data-testid={`${panel}-error`}>
          {" "}
          {describeError(graph.error)}
        </span>
      ) : null}
    </p>
  );
}

function AgentPanel() {
  const graph = useGraph("agent");
  const [text, setText] = useState("Paris");
  const renders = useRef(0);
  useReportErrors("agent", graph.error);

  // After each committed render: record each AI message's text when it changed.
  useEffect(() => {
    renders.current += 1;
    graph.messages.forEach((message, index) => {
      if (typeOf(message) !== "ai") return;
      const key = message.id || `#${index}`;
      const seen = (window.__evergraph.growth[key] ||= []);
      const now = textOf(message);
      if (seen[seen.length - 1] !== now) seen.push(now);
    });
  });

  return (
    <section data-testid="agent">
      <h2>agent ({LIB})</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          graph.send({ messages: [{ type: "human", content: text }] });
        }}
      >
        <input data-testid="agent-input" value={text} onChange={(e) => setText(e.target.value)} />
        <button data-testid="agent-send" type="submit" disabled={graph.isLoading}>
          Send
        </button>
      </form>
      <Status panel="agent" graph={graph} />
      <ol data-testid="agent-messages">
        {graph.messages.map((message, index) => {
          const type = typeOf(message);
          const key = message.id || `#${index}`;
          const calls = type === "ai" ? message.tool_calls || [] : [];
          return (
            <li key={key} className="msg" data-testid={`msg-${type}`} data-type={type} data-id={key}>
              <span className="text">{textOf(message)}</span>
              {calls.length ? (
                <ul>
                  {calls.map((call, i) => (
                    <li key={call.id || i} className="tool-call" data-testid="tool-call" data-name={call.name}>
                      {`${call.name}(${JSON.stringify(call.args)})`}
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function ApprovalPanel() {
  const graph = useGraph("approval");
  const [request, setRequest] = useState("refund order 42");
  useReportErrors("approval", graph.error);
  const pending = graph.interrupt && graph.interrupt.value;

  return (
    <section data-testid="approval">
      <h2>approval ({LIB})</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          graph.send({ request });
        }}
      >
        <input data-testid="approval-input" value={request} onChange={(e) => setRequest(e.target.value)} />
        <button data-testid="approval-send" type="submit" disabled={graph.isLoading}>
          Request
        </button>
      </form>
      <Status panel="approval" graph={graph} />
      {pending ? (
        <div data-testid="approval-interrupt">
          <span data-testid="approval-question">{pending.question}</span>{" "}
          <span data-testid="approval-action">{pending.action}</span>{" "}
          <button data-testid="approve" type="button" onClick={() => graph.approve("yes")}>
            Approve
          </button>
        </div>
      ) : null}
      <p>
        result: <span data-testid="approval-result">{graph.values.result || ""}</span>
      </p>
    </section>
  );
}

function App() {
  if (!API_URL) return <p className="error">missing ?api=</p>;
  return (
    <main>
      <AgentPanel />
      <ApprovalPanel />
    </main>
  );
}

createRoot(document.getElementById("root")).render(<App />);
