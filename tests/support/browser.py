"""A stand-in for the system browser on the local stack's login page (managed-login stand-in):
given the authorization URL, it signs one account in from another thread, as a person would
in the browser, and the loopback redirect completes the app's PKCE sign-in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests


def login_page_browser(account: dict[str, Any],
                       opened: list[str] | None = None) -> Callable[[str], bool]:
    """``open_browser`` for ``CognitoAuth.sign_in_with_browser``: signs ``account``
    (``username``/``password``) in; every URL it is given is appended to ``opened``."""

    def open_url(url: str) -> bool:
        if opened is not None:
            opened.append(url)

        def run() -> None:
            with requests.Session() as web:
                web.trust_env = False
                web.get(url, timeout=10)
                web.post(url, data={"username": account["username"],
                                    "password": account["password"], "action": "sign-in"},
                         timeout=10)

        threading.Thread(target=run, daemon=True).start()
        return True

    return open_url
