"""Record comments: ``/v0/{base}/{table}/{record}/comments[/{comment}]``.

Shapes follow Airtable's list/create/update/delete comment endpoints as pyairtable's
``Comment`` model parses them: ``id``, ``author`` (the token's user), ``text``,
``createdTime``, ``lastUpdatedTime``, optional ``parentCommentId``. Listing answers newest
first in one page. Comments live on the record (not persisted by ``--db``) and are what
``recordMetadata[]=commentCount`` counts.
"""

from __future__ import annotations

from typing import Any

from ..airtable_wire.errors import ApiError, invalid_request
from .clock import format_datetime
from .model import Record
from .state import State

__all__ = ["CommentHandlers"]


class CommentHandlers:
    """Handlers for one record's comments (callers hold the state lock)."""

    def __init__(self, state: State, record: Record) -> None:
        self.state = state
        self.record = record

    def _find(self, comment_id: str) -> dict[str, Any]:
        for comment in self.record.comments:
            if comment["id"] == comment_id:
                return comment
        raise ApiError(404, "NOT_FOUND", "Could not find comment")

    @staticmethod
    def _text(body: Any) -> str:
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise invalid_request("A comment needs a non-empty text")
        return text

    def list(self) -> dict[str, Any]:
        return {"comments": list(reversed(self.record.comments)), "offset": None}

    def create(self, body: Any) -> dict[str, Any]:
        comment: dict[str, Any] = {
            "id": self.state.ids.new("com"),
            "author": dict(self.state.collaborator),
            "text": self._text(body),
            "createdTime": format_datetime(self.state.clock.now()),
            "lastUpdatedTime": None,
        }
        parent = body.get("parentCommentId")
        if parent is not None:
            self._find(str(parent))
            comment["parentCommentId"] = parent
        self.record.comments.append(comment)
        self.record.invalidate()
        return comment

    def update(self, comment_id: str, body: Any) -> dict[str, Any]:
        comment = self._find(comment_id)
        comment["text"] = self._text(body)
        comment["lastUpdatedTime"] = format_datetime(self.state.clock.now())
        return comment

    def delete(self, comment_id: str) -> dict[str, Any]:
        self.record.comments.remove(self._find(comment_id))
        self.record.invalidate()
        return {"id": comment_id, "deleted": True}
