"""Stream a run of the example agent from a running `evergraph dev` with the stock
`langgraph_sdk` client. Usage: python examples/quickstart.py [URL]"""

import asyncio
import sys

from langgraph_sdk import get_client


async def main(url: str) -> None:
    client = get_client(url=url)
    thread = await client.threads.create()
    print("thread", thread["thread_id"])
    async for part in client.runs.stream(
        thread["thread_id"],
        "agent",
        input={"messages": [{"role": "user", "content": "What's the weather in Paris?"}]},
        stream_mode=["messages-tuple", "updates"],
    ):
        if part.event == "messages":
            chunk, _metadata = part.data
            print(chunk.get("content") or chunk.get("tool_call_chunks"), end=" | ", flush=True)
        else:
            print(f"\n[{part.event}] {part.data}")
    runs = await client.runs.list(thread["thread_id"])
    print(f"\nrun {runs[0]['run_id']}: {runs[0]['status']} — in the Temporal UI, open workflow run-{runs[0]['run_id']}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:2024"))
