"""The development mail catcher: SMTP in, a web inbox out (what Mailhog gives the seed's devs).

Kept in memory (the newest `MAX_MESSAGES`), never relayed. One asyncio loop serves both the
aiosmtpd server and the Starlette inbox, so the store needs no locks. Run it with
`python -m tapwork.devstack.mailcatcher --smtp-port 1025 --http-port 8025`; `tapwork up` does.

Inbox: `/` (list), `/messages/{id}` (HTML in a sandboxed frame whose links open a new tab,
plain text, attachments), `/messages/{id}/html` (the HTML alone, at full length),
JSON at `/api/messages` (`?to=` filters by recipient) and `/api/messages/{id}`;
`DELETE /api/messages` empties it.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import html
import itertools
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tapwork.kit.clock import utcnow

MAX_MESSAGES = 1000


def _content_id(part: Any) -> str | None:
    value = part["Content-ID"]
    return str(value).strip().strip("<>") if value else None


@dataclass
class StoredMail:
    id: int
    received_at: datetime
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.message = parsed

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    def body(self, kind: str) -> str | None:
        part = self.message.get_body(preferencelist=(kind,))
        return str(part.get_content()) if part is not None else None

    def parts_with_content_id(self) -> dict[str, EmailMessage]:
        return {
            cid: part
            for part in self.message.walk()
            if (cid := _content_id(part)) and isinstance(part, EmailMessage)
        }

    def attachments(self) -> list[dict[str, Any]]:
        found = []
        for part in self.message.walk():
            if part.is_multipart():
                continue
            if part.get_content_maintype() == "text" and not (
                part.get_filename() or part["Content-ID"]
            ):
                continue  # a body, not an attachment
            payload = part.get_payload(decode=True)
            found.append(
                {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "content_id": str(part["Content-ID"]).strip("<>")
                    if part["Content-ID"]
                    else None,
                    "size": len(payload) if isinstance(payload, bytes) else 0,
                }
            )
        return found

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "from": self.header("From") or self.mail_from,
            "to": self.rcpt_tos,
            "subject": self.header("Subject"),
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "envelope_from": self.mail_from,
            "headers": {k: str(v) for k, v in self.message.items()},
            "text": self.body("plain"),
            "html": self.body("html"),
            "attachments": self.attachments(),
        }


class MailStore:
    """aiosmtpd handler and the inbox's data; newest first."""

    def __init__(self, limit: int = MAX_MESSAGES) -> None:
        self._mails: deque[StoredMail] = deque(maxlen=limit)
        self._ids = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self._mails.appendleft(
            StoredMail(
                id=next(self._ids),
                received_at=utcnow(),
                mail_from=str(envelope.mail_from),
                rcpt_tos=[str(r) for r in envelope.rcpt_tos],
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"

    def all(self, to: str | None = None) -> list[StoredMail]:
        mails = list(self._mails)
        if to:
            wanted = to.lower()
            mails = [m for m in mails if any(wanted in r.lower() for r in m.rcpt_tos)]
        return mails

    def get(self, mail_id: int) -> StoredMail | None:
        return next((m for m in self._mails if m.id == mail_id), None)

    def clear(self) -> None:
        self._mails.clear()


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}
<title>{title} · TAPWORK inbox</title><style>
body{{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}}
header{{background:#123;color:#fff;padding:.7rem 1.2rem}} header a{{color:#fff}}
main{{padding:1rem 1.2rem;max-width:72rem}}
table{{border-collapse:collapse;width:100%;background:#fff}}
td,th{{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #dde}}
tr:hover{{background:#eef3ff}}
pre{{white-space:pre-wrap;background:#fff;padding:1rem;border:1px solid #dde}}
iframe{{width:100%;height:80vh;resize:vertical;border:1px solid #dde;background:#fff}}
dt{{font-weight:600}}
</style></head><body><header><a href="/">TAPWORK inbox</a></header><main>{body}</main></body></html>
"""


def _page(title: str, body: str, *, refresh: bool = False) -> HTMLResponse:
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body, refresh=meta))


def _inline_images(mail: StoredMail, markup: str) -> str:
    # Browsers cannot resolve cid: references, so point them at the part's own URL.
    def replace(match: re.Match[str]) -> str:
        return f"/messages/{mail.id}/cid/{match.group(1)}"

    return re.sub(r"cid:([^\"'\s>)]+)", replace, markup)


# Links in a mail open in a new tab, as in a mail client: inside the frame they replaced the
# preview with a page whose scripts the sandbox blocks (a blank "Accept the invitation").
_LINKS_OPEN_A_TAB = '<base target="_blank">'
# Mail HTML never runs script here; the popups it opens are ordinary pages (the portal's).
_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"


def _mail_html(mail: StoredMail, markup: str) -> str:
    return _LINKS_OPEN_A_TAB + _inline_images(mail, markup)


def create_inbox_app(store: MailStore) -> Starlette:
    async def index(request: Request) -> Response:
        rows = "".join(
            f'<tr><td><a href="/messages/{m.id}">'
            f"{html.escape(m.header('Subject') or '(no subject)')}</a></td>"
            f"<td>{html.escape(', '.join(m.rcpt_tos))}</td>"
            f"<td>{html.escape(m.header('From'))}</td>"
            f"<td>{m.received_at:%Y-%m-%d %H:%M:%S}</td></tr>"
            for m in store.all(request.query_params.get("to"))
        )
        table = (
            f"<table><thead><tr><th>Subject</th><th>To</th><th>From</th><th>Received (UTC)</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>"
            if rows
            else "<p>No mail yet. Anything sent to this SMTP server shows up here.</p>"
        )
        return _page("Inbox", table, refresh=True)

    def _mail_or_404(request: Request) -> StoredMail | None:
        return store.get(int(request.path_params["mail_id"]))

    async def view(request: Request) -> Response:
        mail = _mail_or_404(request)
        if mail is None:
            return _page("Not found", "<p>No such message.</p>")
        headers = "".join(
            f"<dt>{name}</dt><dd>{html.escape(mail.header(name))}</dd>"
            for name in ("Subject", "From", "To", "Date")
        )
        parts = [f"<h1>{html.escape(mail.header('Subject'))}</h1><dl>{headers}</dl>"]
        markup = mail.body("html")
        if markup is not None:
            # A sandbox without allow-scripts: mail HTML can never run script in the inbox.
            srcdoc = html.escape(_mail_html(mail, markup), quote=True)
            parts.append(
                f'<h2>HTML</h2><p><a href="/messages/{mail.id}/html" target="_blank">'
                "Open the whole mail in a tab</a></p>"
                f'<iframe sandbox="{_SANDBOX}" title="HTML body" srcdoc="{srcdoc}"></iframe>'
            )
        text = mail.body("plain")
        if text is not None:
            parts.append(f"<h2>Text</h2><pre>{html.escape(text)}</pre>")
        attachments = mail.attachments()
        if attachments:
            items = "".join(
                f"<li>{html.escape(str(a['filename'] or a['content_id']))} "
                f"({html.escape(a['content_type'])}, {a['size']} bytes)</li>"
                for a in attachments
            )
            parts.append(f"<h2>Attachments</h2><ul>{items}</ul>")
        parts.append(f'<p><a href="/messages/{mail.id}/raw">Raw message</a></p>')
        return _page(mail.header("Subject") or "Message", "".join(parts))

    async def html_body(request: Request) -> Response:
        """The mail's HTML as a page of its own, at full length, sandboxed by CSP."""
        mail = _mail_or_404(request)
        markup = mail.body("html") if mail else None
        if mail is None or markup is None:
            return Response("not found", status_code=404)
        return HTMLResponse(
            _mail_html(mail, markup),
            headers={"Content-Security-Policy": f"sandbox {_SANDBOX}; script-src 'none'"},
        )

    async def raw(request: Request) -> Response:
        mail = _mail_or_404(request)
        if mail is None:
            return Response("not found", status_code=404)
        return Response(mail.raw, media_type="text/plain; charset=utf-8")

    async def inline_part(request: Request) -> Response:
        mail = _mail_or_404(request)
        part = mail.parts_with_content_id().get(request.path_params["cid"]) if mail else None
        if part is None:
            return Response("not found", status_code=404)
        payload = part.get_payload(decode=True)
        return Response(
            payload if isinstance(payload, bytes) else b"", media_type=part.get_content_type()
        )

    async def api_list(request: Request) -> Response:
        mails = store.all(request.query_params.get("to"))
        return JSONResponse({"total": len(mails), "items": [m.summary() for m in mails]})

    async def api_detail(request: Request) -> Response:
        mail = _mail_or_404(request)
        if mail is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(mail.detail())

    async def api_clear(request: Request) -> Response:
        store.clear()
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/health", health),
            Route("/messages/{mail_id:int}", view),
            Route("/messages/{mail_id:int}/raw", raw),
            Route("/messages/{mail_id:int}/html", html_body),
            Route("/messages/{mail_id:int}/cid/{cid:path}", inline_part),
            Route("/api/messages", api_list, methods=["GET"]),
            Route("/api/messages", api_clear, methods=["DELETE"]),
            Route("/api/messages/{mail_id:int}", api_detail),
        ]
    )


async def serve(host: str, smtp_port: int, http_port: int) -> None:
    """SMTP and the inbox until SIGINT/SIGTERM (uvicorn owns the signal handling)."""
    import uvicorn
    from aiosmtpd.smtp import SMTP

    store = MailStore()
    loop = asyncio.get_running_loop()
    smtp_server = await loop.create_server(
        lambda: SMTP(store, hostname="tapwork-mailcatcher", enable_SMTPUTF8=True),
        host=host,
        port=smtp_port,
    )
    config = uvicorn.Config(
        create_inbox_app(store), host=host, port=http_port, log_level="warning", access_log=False
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        smtp_server.close()
        await smtp_server.wait_closed()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="TAPWORK development mail catcher")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.smtp_port, args.http_port))


if __name__ == "__main__":
    main()
