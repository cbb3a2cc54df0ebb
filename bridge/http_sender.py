"""The httpx client :class:`bridge.http.HttpClient` builds and sends requests through, with two things httpx
does for every request made cheap, both without changing what is sent or received:

- the base URL joined with a request's url, parsed once per distinct url (:class:`UrlJoiner`): httpx parses
  and percent-checks both, character by character, for every request, about half of building one, and most
  requests of a run go to a handful of urls (the creates of a migration, all to one);
- cookies looked at only in answers that set one (:class:`SenderClient`): httpx wraps every answer and its
  request in urllib's types for :mod:`http.cookiejar`, which then finds no ``Set-Cookie`` in an API's answer.
"""

from __future__ import annotations

from typing import Any

import httpx

#: distinct urls remembered per client; beyond it the memory starts over (urls with ids in them, read once)
URL_CACHE_SIZE = 2048


class UrlJoiner:
    """``base_url`` joined with relative urls the way httpx's Client does it, remembering each result."""

    def __init__(self, base_url: httpx.URL) -> None:
        self._base = base_url
        self._joined: dict[str, httpx.URL] = {}

    def __call__(self, url: str) -> httpx.URL:
        joined = self._joined.get(url)
        if joined is None:
            if len(self._joined) >= URL_CACHE_SIZE:
                self._joined.clear()  # threads may race here: at worst a url is joined twice, both the same
            joined = self._joined[url] = self._join(url)
        return joined

    def _join(self, url: str) -> httpx.URL:
        # httpx's BaseClient._merge_url: the path is appended to the base's (which httpx ends with a "/"),
        # whatever it starts with; an absolute url is taken as it is
        parsed = httpx.URL(url)
        if not parsed.is_relative_url:
            return parsed
        return self._base.copy_with(raw_path=self._base.raw_path + parsed.raw_path.lstrip(b"/"))


class _AnswerCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        # http.cookiejar takes cookies from Set-Cookie only (Set-Cookie2 is off in its default policy)
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class SenderClient(httpx.Client):
    """An httpx.Client whose cookie jar skips answers that set no cookie."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._answer_cookies = _AnswerCookies(super().cookies)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._answer_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:  # what httpx.Cookies() takes
        self._answer_cookies = _AnswerCookies(cookies)
