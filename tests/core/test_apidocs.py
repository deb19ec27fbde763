"""/docs and /redoc load nothing from other hosts (the browser test renders them offline)."""

from __future__ import annotations

import re

import httpx

# Where FastAPI's and ReDoc's defaults fetch from.
CDNS = (b"cdn.jsdelivr.net", b"cdn.redoc.ly", b"fonts.googleapis.com", b"unpkg.com")


async def test_docs_pages_and_their_assets_are_served_here(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assets = re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', response.text)
        assert assets, response.text
        for body, name in [(response.content, page)] + [
            ((await client.get(a)).content, a) for a in assets
        ]:
            assert body, name
            assert [cdn for cdn in CDNS if cdn in body] == [], name
