"""The API reference page: reached from the account page, every operation of the OpenAPI
document rendered by the server, nothing loaded from anywhere but the app."""

from __future__ import annotations

from urllib.parse import urlsplit


def test_api_reference_renders_the_openapi_document_from_the_app(page, live, log_in):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    log_in(page, "responder")
    page.goto(f"{live}/account")
    page.click("#api-reference")
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/account/api"
    doc = page.request.get(f"{live}/api/v1/openapi.json").json()
    shown = {(h.split()[0], h.split()[1]) for h in page.locator("article.api-op h3").all_inner_texts()}
    expected = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert shown == expected and len(shown) >= 15
    override = page.locator("#op-create_override")
    assert "Roles: admin, rota_manager" in override.inner_text()
    assert override.locator("table.api-responses td", has_text="422").count() == 1
    page.locator("#op-list_overrides table.api-responses a", has_text="Override").first.click()
    assert page.evaluate("() => location.hash") == "#schema-Override"
    fields = page.locator("#schema-Override table.api-schema code").all_inner_texts()
    assert {"rota", "start", "end"} <= {f.strip("· ") for f in fields}
    params = page.locator("#op-list_calls table.api-params").inner_text()
    assert "limit" in params and "1–500" in params
    page.shot("reference")
    hosts = {urlsplit(u).netloc for u in requests}
    assert hosts == {urlsplit(live).netloc}, hosts
