"""The mail catcher's inbox over a real SMTP session (aiosmtpd) and its Starlette app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage

import httpx
import pytest
from aiosmtpd.controller import Controller

from tapwork.devstack.embedded_pg import free_port
from tapwork.devstack.mailcatcher import MailStore, create_inbox_app

PNG = b"\x89PNG\r\n\x1a\n-not-really-an-image"


@pytest.fixture
def store() -> Iterator[tuple[MailStore, int]]:
    mail_store = MailStore(limit=3)
    port = free_port()
    controller = Controller(mail_store, hostname="127.0.0.1", port=port)
    controller.start()
    yield mail_store, port
    controller.stop()


@pytest.fixture
async def inbox(store: tuple[MailStore, int]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_inbox_app(store[0]))
    async with httpx.AsyncClient(transport=transport, base_url="http://inbox") as client:
        yield client


def _send(port: int, to: str, subject: str, *, html: str | None = None) -> None:
    import smtplib

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "TAPWORK <no-reply@x.test>", to, subject
    message.set_content(f"text for {to}")
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(PNG, "image", "png", cid="<badge-qr>")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(message)


async def test_inline_badge_image_is_served_and_mail_html_is_sandboxed(
    store: tuple[MailStore, int], inbox: httpx.AsyncClient
) -> None:
    _send(store[1], "ana@example.com", "Welcome", html='<img src="cid:badge-qr"><script>x</script>')
    mail_id = (await inbox.get("/api/messages")).json()["items"][0]["id"]

    page = (await inbox.get(f"/messages/{mail_id}")).text
    assert '<iframe sandbox="allow-popups ' in page  # no allow-scripts: mail HTML cannot run
    assert "allow-scripts" not in page
    assert "<script>" not in page  # only ever inside the escaped srcdoc
    assert f"/messages/{mail_id}/cid/badge-qr" in page
    image = await inbox.get(f"/messages/{mail_id}/cid/badge-qr")
    assert (image.status_code, image.headers["content-type"], image.content) == (
        200, "image/png", PNG,
    )  # fmt: skip
    detail = (await inbox.get(f"/api/messages/{mail_id}")).json()
    assert detail["attachments"][0]["content_id"] == "badge-qr"
    assert detail["text"].strip() == "text for ana@example.com"


async def test_filter_by_recipient_limit_and_clear(
    store: tuple[MailStore, int], inbox: httpx.AsyncClient
) -> None:
    for n in range(4):
        _send(store[1], f"user{n}@example.com", f"Mail {n}")

    everything = (await inbox.get("/api/messages")).json()
    assert [m["subject"] for m in everything["items"]] == ["Mail 3", "Mail 2", "Mail 1"]
    only = (await inbox.get("/api/messages", params={"to": "USER2@example.com"})).json()
    assert [m["subject"] for m in only["items"]] == ["Mail 2"]
    assert (await inbox.get("/api/messages/1")).status_code == 404  # the oldest fell out

    assert (await inbox.delete("/api/messages")).status_code == 204
    assert (await inbox.get("/api/messages")).json() == {"total": 0, "items": []}
    assert "No mail yet" in (await inbox.get("/")).text


async def test_links_open_a_tab_and_long_mails_are_whole(
    store: tuple[MailStore, int], inbox: httpx.AsyncClient
) -> None:
    link = '<a href="http://127.0.0.1:3000/portal/accept-invite?token=t">Accept</a>'
    long = "".join(f"<p>Paragraph {n}</p>" for n in range(400))
    _send(store[1], "ana@example.com", "Invite", html=f"{link}{long}<p>The end</p>")
    mail_id = (await inbox.get("/api/messages")).json()["items"][0]["id"]
    page = (await inbox.get(f"/messages/{mail_id}")).text
    # A link in the preview opens a new tab (a normal page) instead of blanking the frame.
    assert "&lt;base target=&quot;_blank&quot;&gt;" in page
    assert "allow-popups-to-escape-sandbox" in page
    whole = await inbox.get(f"/messages/{mail_id}/html")
    assert whole.status_code == 200
    assert whole.text.startswith('<base target="_blank">')
    assert "Paragraph 399</p><p>The end</p>" in whole.text
    assert "sandbox allow-popups" in whole.headers["content-security-policy"]
    assert "script-src 'none'" in whole.headers["content-security-policy"]
