"""A tool-calling agent built with LangChain's own `create_agent`.

Nothing here knows about Evergraph: the server loads `graph` as it is.

The model is the offline `FakeChatModel` (see fake_model.py) unless the
environment variable EVERGRAPH_EXAMPLE_MODEL names a real one, e.g.
``EVERGRAPH_EXAMPLE_MODEL=openai:gpt-4o-mini`` (needs the provider package
and its API key). No checkpointer is set: the server provides one.
"""

from __future__ import annotations

import ast
import operator
import os
import sys
from pathlib import Path

from langchain.agents import create_agent
from langchain_core.tools import tool

# Make the sibling module importable however this file is loaded
# (`langgraph dev`, the Evergraph loader, or `import agent`).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
from fake_model import FakeChatModel  # noqa: E402

_CANNED_WEATHER = {
    "paris": "sunny, 22°C",
    "london": "light rain, 14°C",
    "tokyo": "cloudy, 18°C",
    "new york": "windy, 16°C",
}


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    conditions = _CANNED_WEATHER.get(city.strip().lower(), "clear skies, 20°C")
    return f"The weather in {city} is {conditions}"


_BIN_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY_OPS = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_MAX_EXPONENT = 100
_MAX_BITS = 4096  # keeps "9 ** 99 ** 99"-style inputs from eating the CPU


def _eval_node(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _eval_node(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN_OPS:
        left, right = _eval_node(node.left), _eval_node(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ValueError(f"exponent too large (max {_MAX_EXPONENT})")
        result = _BIN_OPS[type(node.op)](left, right)
        if isinstance(result, complex):
            raise ValueError("result is not a real number")
        if isinstance(result, int) and result.bit_length() > _MAX_BITS:
            raise ValueError("number too large")
        return result
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPS:
        return _UNARY_OPS[type(node.op)](_eval_node(node.operand))
    raise ValueError(f"unsupported element {type(node).__name__}")


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression with numbers, + - * / ** and parentheses."""
    try:
        value = _eval_node(ast.parse(expression, mode="eval"))
    except ZeroDivisionError:
        return "Error: division by zero"
    except (SyntaxError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        return (
            f"Error: cannot evaluate {expression!r} ({exc}); only numbers, "
            "+ - * / ** and parentheses are allowed"
        )
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _make_model():
    name = os.environ.get("EVERGRAPH_EXAMPLE_MODEL")
    if name:
        from langchain.chat_models import init_chat_model

        return init_chat_model(name)
    return FakeChatModel()


graph = create_agent(
    _make_model(),
    tools=[get_weather, calculator],
    system_prompt="You are a helpful assistant. Use the tools when they help.",
)
