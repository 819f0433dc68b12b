"""The static server of ``learnstream demo --serve-example`` (app/example.py): the page and
the compiled client's folder only, and the bare address leads to the page with its query."""

from __future__ import annotations

import httpx

from app.example import JS_DIR, PAGE, _listen, _static_server


def test_serves_the_example_folder_and_redirects_the_bare_address_to_the_page() -> None:
    sock = _listen("127.0.0.1", 0)
    site = f"http://127.0.0.1:{sock.getsockname()[1]}"
    page_url = f"{site}/{PAGE}?endpoint=http://127.0.0.1:1&key=lsk_x"
    with _static_server(sock, page_url), httpx.Client(timeout=10) as http:
        home = http.get(f"{site}/")
        assert (home.status_code, home.headers["location"]) == (302, page_url)
        page = http.get(f"{site}/{PAGE}")
        assert page.status_code == 200
        assert page.text == (JS_DIR / PAGE).read_text()
        for hidden in ("/src/client.ts", "/package.json", "/node_modules/.package-lock.json",
                       "/examples/../package.json", "/%2e%2e/README.md",
                       "/examples/%2e%2e/package.json"):
            assert http.get(f"{site}{hidden}").status_code == 404, hidden
