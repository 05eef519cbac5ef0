"""HTTP adapter for the Campaign API: the status call and file downloads (DESIGN §1).

Rules it enforces: the Bearer key goes only to the API's own origin; files come only from the API host or
FILE_HOSTS, over https (http only with ALLOW_PLAIN_HTTP); redirects are followed by hand and checked at every
hop; bodies are read with a cap. Exceptions it raises name the host, never a header, query or key.

Real networks: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case) from the environment are honoured per URL (an https
URL through an http:// proxy is tunnelled with CONNECT, so the key stays inside TLS); a request that would carry the
key over plain http never goes through a proxy. `.netrc` is never read (trust_env stays off). The secret's
`ca_bundle` (PEM) is trusted beside the public CAs, for the API and the file hosts alike.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from ..core.classify import ApiResponse
from ..core.ports import Credentials, FileMissing, FilePermission, FileRefused, TransportError

STATUS_PATH = "/campaignapi/resources/v3/profilequerystatus/"
MAX_STATUS_BODY = 1024 * 1024  # a status answer is a few hundred bytes; anything past 1 MiB is not one
MAX_REDIRECTS = 3


def build_session(pool_size: int) -> requests.Session:
    """One pooled session per container. urllib3 retries connection errors only; 429 is the sweep's job."""
    session = requests.Session()
    # Only what decides something (each pinned by a test): a connection never made is tried twice more (no request
    # reached the API); a read timeout or reset is never sent again, and raised as itself ("ReadTimeout talking
    # to ..."); nothing else is retried; a Retry-After is the sweep's to honour, never slept on here. urllib3's
    # status and redirect retries never start: no status_forcelist, and requests follows no redirect through urllib3.
    retry = Retry(total=2, read=False, other=0, respect_retry_after_header=False, backoff_factor=0.1)
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 1), max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False  # no .netrc: credentials come only from the secret; proxies are chosen per URL below
    return session


def _proxies(url: str, carries_key: bool) -> dict[str, str]:
    """The environment's proxy for this URL (none when NO_PROXY covers it). The key never crosses a proxy in clear:
    a plain-http request carrying it goes direct (https is tunnelled: the proxy sees only TLS)."""
    if carries_key and urlsplit(url).scheme != "https":
        return {}
    found = requests.utils.get_environ_proxies(url, no_proxy=None)
    return {k: v for k, v in found.items() if k != "no"}


def _verify(credentials: Credentials) -> str | bool:
    return True if credentials.ca_bundle is None else _bundle_file(credentials.ca_bundle)


@functools.lru_cache(maxsize=4)
def _bundle_file(pem: str) -> str:
    """The public CAs (certifi's, as requests uses) and the secret's ca_bundle in one file, written once per bundle
    per container (a private file under the temp folder: /tmp in Lambda)."""
    with open(requests.utils.DEFAULT_CA_BUNDLE_PATH, encoding="ascii", errors="replace") as public:
        text = public.read().rstrip("\n") + "\n" + pem
    import tempfile  # noqa: PLC0415 - lazy: only a secret with a ca_bundle needs it

    handle, path = tempfile.mkstemp(prefix="profile-poller-ca-", suffix=".pem")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _describe(exc: BaseException, url: str) -> str:
    return f"{type(exc).__name__} talking to {urlsplit(url).hostname}"


class _Download:
    """A streaming file body. read() maps urllib3 failures (reset, short body) to TransportError."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        self.url = response.url
        encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
        length = response.headers.get("content-length", "")
        self.content_length = int(length) if length.isdigit() and not encoded else None

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes: what has arrived (one socket read, waiting at most the read timeout), so a caller
        can check its deadline between reads of a slow server; b'' only at the end. Negative: the whole rest."""
        raw = self._response.raw
        try:
            if size < 0:
                return bytes(raw.read(None, decode_content=True))
            return bytes(raw.read1(size, decode_content=True))
        except (Urllib3Error, requests.RequestException, OSError) as exc:
            raise TransportError(f"download broke off: {_describe(exc, self.url)}") from None


class CampaignApi:
    def __init__(
        self,
        session: requests.Session,
        file_hosts: frozenset[str] = frozenset(),
        allow_plain_http: bool = False,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._session = session
        self._file_hosts = file_hosts
        self._schemes = {"https", "http"} if allow_plain_http else {"https"}
        self._timeout = (min(timeout_seconds, 5.0), timeout_seconds)

    @staticmethod
    def _auth(credentials: Credentials) -> dict[str, str]:
        return {"authorization": f"Bearer {credentials.api_key}", "content-type": "application/json"}

    def query(self, request_id: str, credentials: Credentials) -> ApiResponse:
        url = credentials.base_url + STATUS_PATH + quote(request_id, safe="")
        try:
            with self._session.get(
                url,
                headers=self._auth(credentials),
                timeout=self._timeout,
                stream=True,
                allow_redirects=False,
                proxies=_proxies(url, carries_key=True),
                verify=_verify(credentials),
            ) as response:
                body = response.raw.read(MAX_STATUS_BODY + 1, decode_content=True)
                if len(body) > MAX_STATUS_BODY:
                    raise TransportError(f"status answer over {MAX_STATUS_BODY} bytes from {urlsplit(url).hostname}")
                return ApiResponse(response.status_code, bytes(body), dict(response.headers))
        except (requests.RequestException, Urllib3Error, OSError) as exc:
            raise TransportError(_describe(exc, url)) from None

    def resolve(self, path: str, base_url: str) -> str:
        """Turn a `file` / `error-file` value into a URL we may fetch, or raise FileRefused."""
        text = path.strip()
        if text.startswith("//") or "\\" in text:
            raise FileRefused("file path is not a plain URL or API path")
        parts = urlsplit(text)
        url = text if parts.scheme else base_url.rstrip("/") + "/" + text.lstrip("/")
        self._check(url, base_url)
        return url

    def _check(self, url: str, base_url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in self._schemes:
            raise FileRefused(f"file URL scheme {parts.scheme or 'none'!r} is not allowed", host=parts.hostname)
        if parts.username or parts.password:
            raise FileRefused("file URL carries credentials")
        segments = unquote(parts.path).split("/")
        if ".." in segments or "." in segments:
            raise FileRefused("file path contains '.' or '..' segments")
        host = (parts.hostname or "").lower()
        if host != _origin(base_url)[1] and host not in self._file_hosts:
            raise FileRefused(f"file host {host!r} is not the API host nor in FILE_HOSTS", host=host)

    @contextmanager
    def open_file(self, path: str, credentials: Credentials) -> Iterator[_Download]:
        url = self.resolve(path, credentials.base_url)
        api_origin = _origin(credentials.base_url)
        for _ in range(MAX_REDIRECTS + 1):
            headers = self._auth(credentials) if _origin(url) == api_origin else {}
            try:
                response = self._session.get(
                    url,
                    headers=headers,
                    timeout=self._timeout,
                    stream=True,
                    allow_redirects=False,
                    proxies=_proxies(url, carries_key=bool(headers)),
                    verify=_verify(credentials),
                )
            except (requests.RequestException, Urllib3Error, OSError) as exc:
                raise TransportError(_describe(exc, url)) from None
            if response.is_redirect:
                location = response.headers.get("location", "")
                response.close()
                url = urljoin(url, location)
                self._check(url, credentials.base_url)
                continue
            try:
                _check_status(response.status_code, url, _origin(url) == api_origin)
                yield _Download(response)
            finally:
                response.close()
            return
        raise TransportError(f"more than {MAX_REDIRECTS} redirects fetching a file")


def _check_status(status: int, url: str, api_origin: bool) -> None:
    """200 is a file; 404/410 is a missing file (retried a few times, then not archived); 401/403 from a files
    host other than the API's is a permission refusal (not archived); anything else is transient."""
    if status == 200:
        return
    host = urlsplit(url).hostname
    if status in (404, 410):
        raise FileMissing(f"file not found: HTTP {status} from {host}")
    if status in (401, 403) and not api_origin:
        raise FilePermission(f"permission denied: HTTP {status} from files host {host}", host=host)
    raise TransportError(f"file download answered HTTP {status} from {host}")
