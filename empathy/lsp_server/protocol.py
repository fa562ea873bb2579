"""The JSON-RPC protocol with one fix: a request whose params cannot be read gets an error answer.

pygls 2.1 logs such a request and drops it, so the client waits forever for
a response; the specification wants an ``InvalidParams`` error with the
request's id.  Notifications (no id) are still dropped, as they must be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol

__all__ = ["EmpathyProtocol"]


@dataclass
class _Unreadable:
    """A request that could not be structured; answered with ``error``."""

    id: int | str
    method: str
    error: JsonRpcException
    jsonrpc: str = "2.0"


class EmpathyProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            msg_id = data.get("id")
            if isinstance(msg_id, int | str) and "method" in data and "error" not in data:
                return _Unreadable(msg_id, str(data.get("method")), exc)
            raise

    def handle_message(self, message: Any) -> Any:
        if isinstance(message, _Unreadable):
            error = message.error.to_response_error()
            error.message = f"{error.message}: the params of {message.method} could not be read"
            self._send_response(message.id, error=error)
            return None
        return super().handle_message(message)
