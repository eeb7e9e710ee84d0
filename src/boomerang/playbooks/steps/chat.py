"""``chat: {text: "{{ account.name }} needs a look"}``: a post to a chat channel."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from boomerang.errors import Invalid
from boomerang.playbooks.rendering import check_template, render
from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


class ChatStep(StepKind):
    """A message to a Slack-compatible incoming webhook (``{"text": ...}``); without ``url``
    the one of ``BOOMERANG_CHAT_WEBHOOK_URL``."""

    kind: ClassVar[str] = "chat"
    order: ClassVar[int] = 30

    text: str = Field(min_length=1, max_length=4000)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")

    _t = field_validator("text")(check_template)

    def urls(self) -> tuple[str, ...]:
        return (self.url,) if self.url else ()

    def run(self, runtime: Runtime) -> Outcome:
        """Queue the post as a job (retried with backoff by the workers), not sent inline."""
        from boomerang.jobs import service as jobs_service

        settings, run = runtime.settings, runtime.run
        url = self.url or (settings.chat_webhook_url if settings else None)
        if not url:
            raise Invalid("chat: no url in the step and BOOMERANG_CHAT_WEBHOOK_URL is not set")
        text = runtime.render(self.text, kind="chat")
        job = jobs_service.enqueue(
            session=runtime.session,
            kind="chat.post",
            payload={
                "url": url,
                "text": text,
                "account_id": runtime.account.id,
                "playbook": run.playbook,
            },
            unique_key=f"chat:{run.id}:{run.position}",
        )
        return Outcome({"chat": job.id if job else None, "text": text})

    def describe(self, values: dict[str, Any]) -> str:
        try:
            return f"post to chat: {render(self.text, values, kind='chat')}"
        except Invalid as exc:
            return f"post to chat (template error: {exc.message})"
