"""/api/v1/docs: Swagger UI renders the generated document from gridgov's own
assets, breaks no rule of the CSP, asks nothing of another host (no validator
badge) and does not scroll sideways on a phone."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]

_WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.mark.parametrize("width", [375, 1280])
def test_docs_page_renders_the_document_locally(browser, live_server, artifacts,
                                                width):
    context = browser.new_context(viewport={"width": width, "height": 812},
                                  is_mobile=width < 400, locale="zh-CN")
    page = context.new_page()
    page.add_init_script(_WATCH_CSP)
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    try:
        page.goto(live_server + "/api/v1/docs", wait_until="networkidle")
        # the whole document is drawn at once: slow on a loaded machine
        page.wait_for_selector(".opblock", timeout=120_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any(p.replace("\u200b", "") == "/api/v1/grids" for p in paths)
        assert len(paths) > 50  # every operation is listed
        assert page.evaluate("window.__csp") == []
        assert not errors, errors
        assert all(url.startswith(live_server) for url in requests), requests
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(artifacts / f"api-docs-{width}.png"))
    finally:
        context.close()
