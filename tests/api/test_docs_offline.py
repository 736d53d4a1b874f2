"""`/docs` works with no internet: the Swagger UI page refers only to this server (assets from the
installed Swagger UI 5 of fastapi-offline), every asset it names is served, and nothing else (ReDoc,
the online validator) would be fetched from elsewhere."""

from __future__ import annotations

import re


def test_docs_page_and_its_assets_come_from_this_server(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page.text), "the page names another host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets), assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 0, asset
    assert '"validatorUrl": null' in page.text
    assert "url: '/openapi.json'" in page.text and client.get("/openapi.json").status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc loads its script from a CDN: not offered
