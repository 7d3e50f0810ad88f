"""What an agent's code does, read from its source without importing it.

`ds1ray check` compares this with the agent's entry in `agent_config.yaml`: the ports the
code reaches (`self.ports.<port>`), the events it publishes (`self.emit("EVENT", …)`) and
the events it handles (`on_<event>` methods, which `Agent.handle` dispatches to). Reading
the source keeps the check free of imports (no Ray, no NumPy start-up) and lets it point
at the line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from ds1ray.config.manifests import PORTS

AGENT_CODE = Path(__file__).resolve().parent.parent / "agents"
"""Where `ds1ray/agents/<id>.py` live."""


@dataclass(frozen=True)
class AgentCode:
    """Ports, published and handled events of one agent module, each with its first line."""

    path: Path
    ports: dict[str, int] = field(default_factory=dict)
    emits: dict[str, int] = field(default_factory=dict)
    handlers: dict[str, int] = field(default_factory=dict)
    dynamic_emits: bool = False
    """Some `emit` names its event by a variable: what is published cannot be listed in full."""


def read_agent_code(agent_id: str, folder: Path | None = None) -> AgentCode | None:
    """The module `<folder>/<agent_id>.py` read, or None if there is none (or it does not parse:
    importing it reports that better)."""
    path = (folder or AGENT_CODE) / f"{agent_id}.py"
    if not path.is_file():
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError:
        return None
    code = AgentCode(path)
    dynamic = False
    for node in ast.walk(tree):
        if _is_port_access(node):
            assert isinstance(node, ast.Attribute)
            code.ports.setdefault(node.attr, node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit":
            event = node.args[0] if node.args else None
            if isinstance(event, ast.Constant) and isinstance(event.value, str):
                code.emits.setdefault(event.value, node.lineno)
            else:
                dynamic = True
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("on_"):
            code.handlers.setdefault(node.name.removeprefix("on_").upper(), node.lineno)
    return AgentCode(code.path, code.ports, code.emits, code.handlers, dynamic)


def _is_port_access(node: ast.AST) -> bool:
    # `self.ports.shop`, `self.ctx.ports.shop`, `ports.shop` … : an attribute named after a port
    # read from something called `ports`.
    if not isinstance(node, ast.Attribute) or node.attr not in PORTS:
        return False
    owner = node.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "ports") or (
        isinstance(owner, ast.Name) and owner.id == "ports"
    )
