"""New-code gates on a real package: itsdangerous 2.2.0 from the package index, planted
defects committed on top of it.

The sdist of itsdangerous 2.2.0 (Pallets, pinned by its SHA-256) is downloaded the way
the truth benchmark does (``pip download --no-binary :all: --no-deps``), cached for the
session, unpacked and given what phasegate judges beside the code: requirements and a
design that describe itsdangerous, test references to the requirements, a Dockerfile and
a ``phasegate.toml``. The package's own ruff configuration is extended with pydocstyle
(``D``, PEP 257 convention): the real code then has well over 50 lint findings, committed
before any reference, so every plant is judged among genuine legacy debt. That base is
committed once per module (a template); each test copies it.

* at the base, ``validate --since HEAD`` passes every gate;
* each planted defect, committed on top, fails ``validate --since HEAD~1`` in the phase it
  belongs to, with the finding ``new`` at the planted file and line;
* a harmless commit leaves every legacy IMPL-LINT finding ``unchanged`` and the
  Implementation gate passing;
* SARIF output carries each result's ``baselineState``;
* (expected to fail until fixed) a requirement titled "Deprecated ..." is still a
  requirement: DES-TRACE must ask for its design.

The sdist's ``tests/test_itsdangerous/test_timed.py`` imports ``freezegun``, which
phasegate's environments do not install: a small stand-in (``tests/freezegun.py``, on the
path pytest gives the test package) provides the ``freeze_time`` these tests use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from phasegate.cli import cli

pytestmark = pytest.mark.timeout(900)

PACKAGE = "itsdangerous"
VERSION = "2.2.0"
SDIST = f"{PACKAGE}-{VERSION}.tar.gz"
SDIST_SHA256 = "e0050c0b7da1eea53ffaf149c0cfbb5c6e2e2b69c4bef22c81fa6eb73e5f6173"
# pip's messages when the package index cannot be reached (and only then: any other
# failure of the download fails the test)
UNREACHABLE = re.compile(
    r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution"
    r"|Name or service not known|Network is unreachable|Connection refused|ConnectTimeout"
    r"|Read timed out|ProxyError|No route to host|Failed to establish a new connection",
    re.IGNORECASE,
)
CONFIG = """\
# phasegate on the itsdangerous 2.2.0 sdist: the built-in phases, checks, thresholds and
# new-code settings (GATE-INTEGRITY joins the testing gate in new-code mode). The suite
# runs in the interpreter running this test, which has pytest and coverage.
interpreter = {interpreter}
"""

GITIGNORE = """\
.phasegate/
__pycache__/
"""

DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md LICENSE.txt ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --create-home app
USER app
CMD ["python", "-c", "import itsdangerous"]
"""

REQUIREMENTS = """\
# ItsDangerous — requirements

## Overview

ItsDangerous lets a web application pass data to an untrusted environment (a cookie, a
link in an e-mail, a hidden form field) and get it back safe: the data is signed with a
secret key, so any change made on the way is detected when it comes back. It is one of
the Pallets projects; Flask signs its session cookie with it.

## Functional requirements

### REQ-001: Sign and verify values

A `Signer` appends to a value a signature computed from a secret key and a salt; `unsign`
gives the value back when the signature matches.

Acceptance criteria:
- Unsigning what `sign` returned gives the original value back.
- A changed value or a changed signature raises `BadSignature`.
- A signed value without the separator raises `BadSignature`.

### REQ-002: Secret key rotation

A signer can be given a list of secret keys, oldest first, so that a key can be replaced
without invalidating every token at once.

Acceptance criteria:
- New values are signed with the last (newest) key of the list.
- A value signed with any key of the list is verified.

### REQ-003: Signed serialization

A `Serializer` serializes a Python object (as JSON by default, or with any module that
has `dumps` and `loads`) and signs the result.

Acceptance criteria:
- `loads(dumps(obj))` gives `obj` back for any JSON-compatible object.
- A token whose payload was changed raises `BadSignature`; a payload that cannot be
  deserialized raises `BadPayload`.
- Fallback signers let tokens signed with older parameters still be loaded.

### REQ-004: Timestamped signatures

A `TimestampSigner` (and a `TimedSerializer`) adds the time of signing, and verification
can require a maximum age.

Acceptance criteria:
- A value unsigned within `max_age` seconds of signing is accepted.
- A value older than `max_age` raises `SignatureExpired`, which says when it was signed.
- A missing or malformed timestamp raises `BadTimeSignature`.

### REQ-005: URL-safe tokens

`URLSafeSerializer` and `URLSafeTimedSerializer` produce tokens that can be put in a URL
as they are, compressed with zlib when that makes them shorter.

Acceptance criteria:
- Tokens hold only letters, digits, `-`, `_` and `.`.
- A long, repetitive payload is compressed, and loads back unchanged.

### REQ-006: Encoding helpers

The helpers the tokens are built with are public.

Acceptance criteria:
- `base64_encode` gives URL-safe base64 without padding; `base64_decode` reverses it.
- Invalid base64 raises `BadData`.
- `int_to_bytes` writes an integer as big-endian bytes without leading zeros, and
  `bytes_to_int` reads it back.

## Non-functional requirements

- The library needs only the Python standard library, on Python 3.8 or newer.
- Signatures are compared in constant time (`hmac.compare_digest`).
- Tokens are signed with HMAC-SHA1 by default; the digest can be chosen.
"""

DESIGN = """\
# ItsDangerous — design

## Architecture

ItsDangerous is a pure-Python library in two layers. The signing layer
(`itsdangerous.signer`, `itsdangerous.timed`) turns bytes into signed bytes and back. The
serialization layer (`itsdangerous.serializer`, `itsdangerous.url_safe`) turns Python
objects into payloads and signs them through a signer it makes for each call. The
helpers live in `itsdangerous.encoding`, the exceptions in `itsdangerous.exc`.

## Components

- **Signer** (`signer.py`): derives a key from the secret key and the salt
  (`django-concat` by default), computes the signature with a `SigningAlgorithm`
  (`HMACAlgorithm`, SHA-1 by default) and appends it after the separator (REQ-001).
  Given a list of secret keys it signs with the last one and verifies with each, newest
  first (REQ-002).
- **Serializer** (`serializer.py`): dumps the object with its serializer module (JSON by
  default) and signs the payload; `loads` tries each signer of `iter_unsigners` (its own,
  then the fallback signers) before loading the payload (REQ-003).
- **TimestampSigner, TimedSerializer** (`timed.py`): put the current time, as an integer
  in base64, between the value and the signature; `unsign` compares its age with
  `max_age` (REQ-004).
- **URLSafeSerializer** (`url_safe.py`): compact JSON, compressed with zlib when that is
  shorter (marked by a leading `.`), in base64 without padding (REQ-005).
- **Encoding helpers** (`encoding.py`): `base64_encode`, `base64_decode`,
  `int_to_bytes`, `bytes_to_int`, `want_bytes` (REQ-006).

## Data model

A signed value is the value, the separator and the signature; a timestamped one is the
value, the separator, the timestamp, the separator and the signature. A URL-safe token
is an optional `.` (compressed), the payload in URL-safe base64, then the timestamp (for
the timed serializer) and the signature.

## Interfaces

```python
Signer(secret_key, salt=b"itsdangerous.Signer", sep=b".", key_derivation=None,
       digest_method=None, algorithm=None)
Signer.sign(value) -> bytes
Signer.unsign(signed_value) -> bytes
TimestampSigner.unsign(signed_value, max_age=None, return_timestamp=False)
Serializer(secret_key, salt=b"itsdangerous", serializer=None, signer=None,
           fallback_signers=None)
Serializer.dumps(obj, salt=None)
Serializer.loads(s, salt=None)
TimedSerializer.loads(s, max_age=None, return_timestamp=False, salt=None)
```

## Risks

- A leaked secret key lets anyone forge tokens: replace it; a list of keys keeps the
  tokens of the old key valid while they expire.
- Signing is not encryption: anyone can read the payload of a token.
- `loads_unsafe` returns data whose signature did not match: for debugging only.
"""

# The sdist's tests use freezegun's `freeze_time`, which is not installed here.
FREEZEGUN = '''\
"""A stand-in for the part of freezegun these tests use: ``freeze_time``."""

from __future__ import annotations

import contextlib
import time
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import timezone


class FrozenTime:
    """The frozen clock, moved on by :meth:`tick`."""

    def __init__(self, now: datetime) -> None:
        """Freeze the clock at ``now``."""
        self.now = now

    def tick(self, delta: timedelta = timedelta(seconds=1)) -> None:
        """Move the clock on by ``delta``."""
        self.now += delta

    def time(self) -> float:
        """Return the frozen time, as ``time.time`` does."""
        return self.now.timestamp()


@contextlib.contextmanager
def freeze_time(when: str | datetime) -> t.Iterator[FrozenTime]:
    """Make ``time.time`` return ``when`` (UTC when naive) until the block ends."""
    now = datetime.fromisoformat(when) if isinstance(when, str) else when
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    frozen = FrozenTime(now)
    real = time.time
    time.time = frozen.time
    try:
        yield frozen
    finally:
        time.time = real
'''

# What the test files of the sdist verify, said in their own words: module docstrings,
# and a marker on the test of key rotation.
TEST_DOCSTRINGS = {
    "test_signer.py": "Signing and verifying values (REQ-001).",
    "test_serializer.py": "Signed serialization (REQ-003).",
    "test_timed.py": "Timestamped signatures and their maximum age (REQ-004).",
    "test_url_safe.py": "URL-safe tokens (REQ-005).",
    "test_encoding.py": "The encoding helpers (REQ-006).",
}

# An untested module of real logic: key rings with rotation, for plant (h).
KEYRING = r'''
"""Secret key rings: several versions of a secret key, rotated on a schedule.

A :class:`KeyRing` holds the secret keys of one application, each with a
version id, the time it was created and, once it is retired, the time it
stops verifying. The newest active key signs new tokens; every key that is
not retired yet still verifies old ones, so a key can be rotated without
invalidating every token at once. A key ring is written to and read from a
compact text form that fits in an environment variable, and keys for one
purpose are derived from the ring's keys with HKDF (RFC 5869).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
import typing as t
from dataclasses import dataclass

from .encoding import base64_decode
from .encoding import base64_encode
from .encoding import want_bytes
from .exc import BadData
from .exc import BadSignature
from .signer import Signer

#: Prefix of the text form of a key ring, naming its format version.
FORMAT_PREFIX = "ikr1:"

#: Separator between the key id and the signed value in a token with a key id.
KID_SEPARATOR = "$"

_KID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_DURATION_PATTERN = re.compile(r"(\d+)\s*([wdhms])", re.IGNORECASE)
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


class KeyRingError(BadData):
    """Raised when a key ring is malformed or cannot do what was asked."""


def parse_duration(text: str | int | float) -> int:
    """Return the number of seconds a duration such as ``"1w 2d 12h"`` names.

    A number is taken as seconds. Units are ``w`` (weeks), ``d`` (days),
    ``h`` (hours), ``m`` (minutes) and ``s`` (seconds); a duration may
    combine several of them. Anything else raises :exc:`KeyRingError`.
    """
    if isinstance(text, (int, float)):
        if text < 0:
            raise KeyRingError("A duration cannot be negative.")
        return int(text)

    rest = text.strip()

    if not rest:
        raise KeyRingError("An empty duration is not a duration.")

    if rest.isdigit():
        return int(rest)

    total = 0
    position = 0

    for match in _DURATION_PATTERN.finditer(rest):
        if rest[position : match.start()].strip():
            raise KeyRingError(f"Cannot read the duration {text!r}.")

        total += int(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
        position = match.end()

    if position == 0 or rest[position:].strip():
        raise KeyRingError(f"Cannot read the duration {text!r}.")

    return total


def format_duration(seconds: int) -> str:
    """Return ``seconds`` written the way :func:`parse_duration` reads it."""
    if seconds < 0:
        raise KeyRingError("A duration cannot be negative.")

    if seconds == 0:
        return "0s"

    parts = []

    for unit, size in _DURATION_UNITS.items():
        count, seconds = divmod(seconds, size)

        if count:
            parts.append(f"{count}{unit}")

    return " ".join(parts)


def hkdf_extract(salt: bytes, key_material: bytes, digest: str = "sha256") -> bytes:
    """Extract a pseudorandom key from ``key_material`` (RFC 5869, step 1)."""
    size = hashlib.new(digest).digest_size

    if not salt:
        salt = b"\x00" * size

    return hmac.new(salt, key_material, digest).digest()


def hkdf_expand(prk: bytes, info: bytes, length: int, digest: str = "sha256") -> bytes:
    """Expand a pseudorandom key to ``length`` bytes (RFC 5869, step 2)."""
    size = hashlib.new(digest).digest_size

    if length <= 0:
        raise KeyRingError("A derived key must have at least one byte.")

    if length > 255 * size:
        raise KeyRingError(f"HKDF cannot derive more than {255 * size} bytes.")

    blocks = []
    previous = b""
    counter = 1

    while sum(len(b) for b in blocks) < length:
        previous = hmac.new(prk, previous + info + bytes([counter]), digest).digest()
        blocks.append(previous)
        counter += 1

    return b"".join(blocks)[:length]


def derive_key(
    secret: str | bytes,
    purpose: str | bytes,
    length: int = 32,
    salt: str | bytes = b"itsdangerous.keyring",
    digest: str = "sha256",
) -> bytes:
    """Derive a key for one ``purpose`` from ``secret`` with HKDF.

    Two purposes never share a key, and a derived key tells nothing about
    the secret it came from or about the keys of other purposes.
    """
    prk = hkdf_extract(want_bytes(salt), want_bytes(secret), digest)
    return hkdf_expand(prk, want_bytes(purpose), length, digest)


def _check_kid(kid: str) -> str:
    if not _KID_PATTERN.match(kid):
        raise KeyRingError(
            f"A key id must be 1 to 32 letters, digits, '-' or '_', not {kid!r}."
        )

    return kid


@dataclass(frozen=True)
class KeyVersion:
    """One version of a secret key.

    :param kid: The key id, written in front of tokens signed with it.
    :param secret: The secret key itself.
    :param created: When the key was created, in seconds since the epoch.
    :param retires: When the key stops verifying tokens, or ``None``
        while it has not been retired.
    """

    kid: str
    secret: bytes
    created: int
    retires: int | None = None

    def __post_init__(self) -> None:
        """Validate the fields."""
        _check_kid(self.kid)

        if len(self.secret) < 16:
            raise KeyRingError(
                f"The secret of key {self.kid!r} is too short: use 16 bytes or more."
            )

        if self.retires is not None and self.retires < self.created:
            raise KeyRingError(f"Key {self.kid!r} cannot retire before it was created.")

    def is_retired(self, now: int) -> bool:
        """Tell whether the key no longer verifies tokens at ``now``."""
        return self.retires is not None and now >= self.retires

    def age(self, now: int) -> int:
        """Return how many seconds old the key is at ``now``."""
        return max(0, now - self.created)

    def fingerprint(self) -> str:
        """Return a short, non-secret name of the key, for logs."""
        digest = hashlib.sha256(b"itsdangerous.keyring.fp" + self.secret).digest()
        return base64_encode(digest[:9]).decode("ascii")

    def retired_at(self, when: int) -> KeyVersion:
        """Return a copy of the key that retires at ``when``."""
        return KeyVersion(self.kid, self.secret, self.created, when)

    def to_dict(self) -> dict[str, t.Any]:
        """Return the key as a JSON-compatible dict."""
        out: dict[str, t.Any] = {
            "kid": self.kid,
            "key": base64_encode(self.secret).decode("ascii"),
            "created": self.created,
        }

        if self.retires is not None:
            out["retires"] = self.retires

        return out

    @classmethod
    def from_dict(cls, data: t.Any) -> KeyVersion:
        """Read a key from what :meth:`to_dict` returned."""
        if not isinstance(data, dict):
            raise KeyRingError("A key must be a JSON object.")

        try:
            kid = data["kid"]
            secret = base64_decode(data["key"])
            created = data["created"]
        except KeyError as e:
            raise KeyRingError(f"A key lacks the field {e.args[0]!r}.") from e

        retires = data.get("retires")

        if not isinstance(kid, str):
            raise KeyRingError("A key id must be a string.")

        if not isinstance(created, int) or isinstance(created, bool):
            raise KeyRingError(f"Key {kid!r} has no valid creation time.")

        if retires is not None and (
            not isinstance(retires, int) or isinstance(retires, bool)
        ):
            raise KeyRingError(f"Key {kid!r} has no valid retirement time.")

        return cls(kid, secret, created, retires)


@dataclass(frozen=True)
class RotationPolicy:
    """When the keys of a ring are rotated and retired.

    :param rotate_after: Age at which the newest key is replaced by a new
        one, in seconds.
    :param verify_for: How long a replaced key keeps verifying tokens
        after its replacement was created, in seconds. Set it to at least
        the longest ``max_age`` tokens are loaded with.
    :param keep: How many retired keys are kept in the ring (for audits)
        before :meth:`KeyRing.prune` removes them.
    """

    rotate_after: int = 30 * 86400
    verify_for: int = 7 * 86400
    keep: int = 2

    def __post_init__(self) -> None:
        """Validate the fields."""
        if self.rotate_after <= 0:
            raise KeyRingError("Keys must be rotated after a positive time.")

        if self.verify_for < 0:
            raise KeyRingError("A replaced key cannot verify for a negative time.")

        if self.keep < 0:
            raise KeyRingError("The number of retired keys kept cannot be negative.")

    @classmethod
    def parse(cls, rotate_after: str, verify_for: str, keep: int = 2) -> RotationPolicy:
        """Build a policy from durations such as ``"30d"`` and ``"1w"``."""
        return cls(parse_duration(rotate_after), parse_duration(verify_for), keep)

    def rotation_due(self, ring: KeyRing, now: int) -> bool:
        """Tell whether the newest key of ``ring`` is old enough to replace."""
        try:
            newest = ring.active(now)
        except KeyRingError:
            return True

        return newest.age(now) >= self.rotate_after

    def next_rotation(self, ring: KeyRing, now: int) -> int:
        """Return when the next rotation is due, in seconds since the epoch."""
        try:
            newest = ring.active(now)
        except KeyRingError:
            return now

        return newest.created + self.rotate_after


class KeyRing:
    """The versions of one application's secret key, oldest first.

    :param versions: The key versions. Their ids must be unique.
    """

    def __init__(self, versions: t.Iterable[KeyVersion] = ()) -> None:
        """Create a key ring holding ``versions``."""
        self._versions: list[KeyVersion] = []

        for version in versions:
            self._insert(version)

    def _insert(self, version: KeyVersion) -> None:
        if version.kid in self:
            raise KeyRingError(f"The key id {version.kid!r} is already in the ring.")

        self._versions.append(version)
        self._versions.sort(key=lambda v: (v.created, v.kid))

    def __len__(self) -> int:
        """Return the number of key versions."""
        return len(self._versions)

    def __iter__(self) -> t.Iterator[KeyVersion]:
        """Iterate over the key versions, oldest first."""
        return iter(list(self._versions))

    def __contains__(self, kid: object) -> bool:
        """Tell whether a key with the id ``kid`` is in the ring."""
        return any(v.kid == kid for v in self._versions)

    def __repr__(self) -> str:
        """Return the ids and fingerprints of the keys, never the keys."""
        keys = ", ".join(f"{v.kid}={v.fingerprint()}" for v in self._versions)
        return f"<KeyRing {keys}>"

    def get(self, kid: str) -> KeyVersion:
        """Return the key with the id ``kid``."""
        for version in self._versions:
            if version.kid == kid:
                return version

        raise KeyRingError(f"No key with the id {kid!r} in the ring.")

    def new_kid(self, now: int) -> str:
        """Return an unused key id made from the date of ``now``."""
        stamp = time.strftime("%Y%m%d", time.gmtime(now))
        kid = stamp
        n = 1

        while kid in self:
            n += 1
            kid = f"{stamp}-{n}"

        return kid

    def add(
        self,
        secret: str | bytes | None = None,
        now: int | None = None,
        kid: str | None = None,
    ) -> KeyVersion:
        """Add a new key, random unless ``secret`` is given, and return it."""
        when = int(time.time()) if now is None else now
        key = secrets.token_bytes(32) if secret is None else want_bytes(secret)
        version = KeyVersion(kid or self.new_kid(when), key, when)
        self._insert(version)
        return version

    def verifying(self, now: int) -> list[KeyVersion]:
        """Return the keys that verify tokens at ``now``, oldest first."""
        return [v for v in self._versions if v.created <= now and not v.is_retired(now)]

    def active(self, now: int) -> KeyVersion:
        """Return the key that signs new tokens at ``now``: the newest one."""
        keys = self.verifying(now)

        if not keys:
            raise KeyRingError("The key ring has no key that is not retired.")

        return keys[-1]

    def rotate(
        self,
        policy: RotationPolicy,
        now: int | None = None,
        secret: str | bytes | None = None,
    ) -> KeyVersion | None:
        """Rotate the keys if ``policy`` says a rotation is due.

        A new key becomes the active one, and every older key that has no
        retirement time yet is given one, ``policy.verify_for`` from now.
        Returns the new key, or ``None`` when no rotation was due.
        """
        when = int(time.time()) if now is None else now

        if not policy.rotation_due(self, when):
            return None

        retire_at = when + policy.verify_for
        self._versions = [
            v if v.retires is not None else v.retired_at(retire_at)
            for v in self._versions
        ]
        return self.add(secret, when)

    def retire(self, kid: str, now: int | None = None) -> KeyVersion:
        """Retire the key ``kid`` at once (it leaked) and return it."""
        when = int(time.time()) if now is None else now
        old = self.get(kid)
        new = old.retired_at(max(when, old.created))
        self._versions[self._versions.index(old)] = new
        return new

    def prune(self, policy: RotationPolicy, now: int) -> list[KeyVersion]:
        """Remove all but the ``policy.keep`` newest retired keys.

        Returns the keys removed.
        """
        retired = [v for v in self._versions if v.is_retired(now)]
        removed = retired[: max(0, len(retired) - policy.keep)]
        self._versions = [v for v in self._versions if v not in removed]
        return removed

    def signer(
        self, salt: str | bytes | None = b"itsdangerous.Signer", **kwargs: t.Any
    ) -> Signer:
        """Return a :class:`.Signer` that signs with the active key.

        It verifies with every key that is not retired, as
        :class:`.Signer` does with a list of secret keys.
        """
        now = int(time.time())
        keys = [v.secret for v in self.verifying(now)]

        if not keys:
            raise KeyRingError("The key ring has no key that is not retired.")

        return Signer(keys, salt=salt, **kwargs)

    def sign(
        self, value: str | bytes, now: int | None = None, **kwargs: t.Any
    ) -> bytes:
        """Sign ``value`` with the active key and put its key id in front.

        The key id lets :meth:`unsign` pick the right key at once, and tells
        an operator which key signed a token.
        """
        when = int(time.time()) if now is None else now
        key = self.active(when)
        signed = Signer(key.secret, **kwargs).sign(value)
        return key.kid.encode("ascii") + KID_SEPARATOR.encode("ascii") + signed

    def unsign(
        self, token: str | bytes, now: int | None = None, **kwargs: t.Any
    ) -> bytes:
        """Verify a token made by :meth:`sign` and return its value.

        Raises :exc:`.BadSignature` when the key id is unknown, the key is
        retired, or the signature does not match.
        """
        when = int(time.time()) if now is None else now
        raw = want_bytes(token)
        kid, sep, signed = raw.partition(KID_SEPARATOR.encode("ascii"))

        if not sep:
            raise BadSignature("The token has no key id.")

        try:
            key = self.get(kid.decode("ascii"))
        except (KeyRingError, UnicodeDecodeError) as e:
            raise BadSignature("The token was signed with an unknown key.") from e

        if key.is_retired(when) or key.created > when:
            raise BadSignature(f"The key {key.kid!r} is not valid at this time.")

        return Signer(key.secret, **kwargs).unsign(signed)

    def derive(self, purpose: str | bytes, now: int, length: int = 32) -> list[bytes]:
        """Derive a key for ``purpose`` from every verifying key, oldest first.

        The list can be given as ``secret_key`` to any signer or serializer,
        which then signs with the key derived from the active key.
        """
        return [derive_key(v.secret, purpose, length) for v in self.verifying(now)]

    def to_dict(self) -> dict[str, t.Any]:
        """Return the ring as a JSON-compatible dict."""
        return {"keys": [v.to_dict() for v in self._versions]}

    @classmethod
    def from_dict(cls, data: t.Any) -> KeyRing:
        """Read a ring from what :meth:`to_dict` returned."""
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise KeyRingError("A key ring must be an object with a list of keys.")

        return cls(KeyVersion.from_dict(item) for item in data["keys"])

    def dumps(self) -> str:
        """Return the ring in its compact text form."""
        text = json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)
        return FORMAT_PREFIX + base64_encode(text).decode("ascii")

    @classmethod
    def loads(cls, text: str | bytes) -> KeyRing:
        """Read a ring from the text form :meth:`dumps` wrote."""
        raw = want_bytes(text).strip()
        prefix = FORMAT_PREFIX.encode("ascii")

        if not raw.startswith(prefix):
            raise KeyRingError(f"A key ring must start with {FORMAT_PREFIX!r}.")

        try:
            data = json.loads(base64_decode(raw[len(prefix) :]))
        except (BadData, ValueError) as e:
            raise KeyRingError("The key ring is not readable.") from e

        return cls.from_dict(data)

    @classmethod
    def from_env(cls, name: str = "SECRET_KEYRING") -> KeyRing:
        """Read a ring from the environment variable ``name``.

        A plain secret key (without the text form's prefix) gives a ring of
        that one key, so an application can move to a key ring without
        changing its configuration first.
        """
        value = os.environ.get(name)

        if value is None:
            raise KeyRingError(f"The environment variable {name!r} is not set.")

        if value.startswith(FORMAT_PREFIX):
            return cls.loads(value)

        return cls([KeyVersion("legacy", want_bytes(value), 0)])

    def report(self, now: int, policy: RotationPolicy | None = None) -> list[str]:
        """Describe every key for an operator, one line each, oldest first."""
        lines = []
        active = None

        try:
            active = self.active(now).kid
        except KeyRingError:
            lines.append("no active key: sign nothing until a key is added")

        for v in self._versions:
            if v.kid == active:
                state = "active"
            elif v.is_retired(now):
                state = "retired"
            elif v.created > now:
                state = "not yet valid"
            elif v.retires is not None:
                left = format_duration(v.retires - now)
                state = f"verifying for {left}"
            else:
                state = "verifying"

            age = format_duration(v.age(now))
            lines.append(f"{v.kid} {v.fingerprint()} {state}, {age} old")

        if policy is not None and active is not None:
            due = policy.next_rotation(self, now)
            wait = format_duration(max(0, due - now))
            lines.append(f"next rotation in {wait}")

        return lines
'''


# --------------------------------------------------------------------------- helpers


def git(root: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", message)


def read(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def replace_once(root: Path, rel: str, old: str, new: str) -> None:
    text = read(root, rel)
    assert text.count(old) == 1, f"{rel}: expected {old!r} once"
    write(root, rel, text.replace(old, new))


def line_of(root: Path, rel: str, needle: str) -> int:
    """The 0-based line of ``rel`` that holds ``needle`` (exactly one does)."""
    hits = [i for i, ln in enumerate(read(root, rel).splitlines()) if needle in ln]
    assert len(hits) == 1, f"{rel}: {needle!r} on lines {hits}"
    return hits[0]


def validate(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["validate", str(root), *args], catch_exceptions=False)


def validate_json(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    res = validate(root, "--format", "json", *args)
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


@dataclass(frozen=True)
class Seen:
    """A finding of the JSON output, flattened."""

    phase: str
    code: str
    path: str
    line: int
    severity: str
    state: str | None
    message: str


def findings(doc: dict[str, Any]) -> list[Seen]:
    return [
        Seen(
            ph["name"],
            f["code"],
            f["path"],
            f["range"]["start"]["line"],
            f["severity"],
            f.get("baseline_state"),
            f["message"],
        )
        for ph in doc["phases"]
        for c in ph["checks"]
        for f in c["findings"]
    ]


def failed_phases(doc: dict[str, Any]) -> set[str]:
    return {ph["name"] for ph in doc["phases"] if ph["status"] != "passed"}


def check(doc: dict[str, Any], phase: str, check_id: str) -> dict[str, Any]:
    gate = next(ph for ph in doc["phases"] if ph["name"] == phase)
    return next(c for c in gate["checks"] if c["id"] == check_id)


def describe(doc: dict[str, Any]) -> str:
    """What failed, for assertion messages."""
    out = []
    for ph in doc["phases"]:
        bad = [
            f"{c['id']}({c['status']}{': ' + c['reason'] if c.get('reason') else ''})"
            for c in ph["checks"]
            if not c["passed"]
        ]
        out.append(f"{ph['name']}: {ph['status']} held={ph.get('held')} {bad}")
    new = [f for f in findings(doc) if f.state == "new"]
    out += [f"  new: {f.code} {f.path}:{f.line + 1} {f.message[:160]}" for f in new]
    return "\n".join(out)


# --------------------------------------------------------------------------- the package


def _download(into: Path) -> Path:
    """The sdist, downloaded from the package index as benchmarks/corpus.py does."""
    into.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-binary",
        ":all:",
        "--no-deps",
        "--ignore-requires-python",
        "--disable-pip-version-check",
        f"{PACKAGE}=={VERSION}",
        "-d",
        str(into),
    ]
    res = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if res.returncode != 0:
        output = res.stdout + res.stderr
        if UNREACHABLE.search(output):
            pytest.skip(f"the package index is unreachable (pip download {PACKAGE}=={VERSION})")
        pytest.fail(f"pip download {PACKAGE}=={VERSION} failed:\n{output[-3000:]}")
    return into / SDIST


@pytest.fixture(scope="session")
def sdist(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """itsdangerous 2.2.0's sdist: from the pytest cache when it holds the right bytes."""
    cache = getattr(request.config, "cache", None)
    folder = (
        Path(cache.mkdir("phasegate-sdists"))
        if cache is not None
        else tmp_path_factory.mktemp("sdists")
    )
    path = folder / SDIST
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != SDIST_SHA256:
        path.unlink(missing_ok=True)
        path = _download(folder)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == SDIST_SHA256, f"{SDIST} from the index is not the published one"
    return path


def _unpack(archive: Path, dest: Path) -> None:
    """Unpack as the truth benchmark does (benchmarks/corpus.py: nothing lands outside)."""
    source = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus.py"
    spec = importlib.util.spec_from_file_location("_phasegate_bench_corpus", source)
    assert spec is not None and spec.loader is not None
    corpus = sys.modules.get(spec.name)
    if corpus is None:
        corpus = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = corpus  # its dataclasses look their module up
        spec.loader.exec_module(corpus)
    skipped = corpus.extract_tar(archive, dest, strip_top=True)
    assert not skipped, skipped


def prepare(root: Path, archive: Path) -> None:
    """The base: the sdist, what phasegate judges beside its code, one commit."""
    _unpack(archive, root)
    assert (root / "src" / PACKAGE / "signer.py").is_file()
    write(root, "docs/requirements.md", REQUIREMENTS)
    write(root, "docs/design.md", DESIGN)
    write(root, "Dockerfile", DOCKERFILE)
    write(root, ".gitignore", GITIGNORE)
    write(root, "tests/freezegun.py", FREEZEGUN)
    config = CONFIG.format(interpreter=json.dumps(sys.executable))
    write(root, "phasegate.toml", config)
    # pytest: the src layout importable, the requirement marker known (the suite turns
    # warnings, an unknown marker's too, into errors)
    replace_once(
        root,
        "pyproject.toml",
        'testpaths = ["tests"]\n',
        'testpaths = ["tests"]\npythonpath = ["src"]\n'
        'markers = ["req(id): the requirement a test verifies"]\n',
    )
    # the lint: pydocstyle on, as a project adopting it would, with its legacy not yet fixed
    replace_once(
        root,
        "pyproject.toml",
        '    "W",  # pycodestyle warning\n]\n',
        '    "W",  # pycodestyle warning\n]\nextend-select = ["D"]\n',
    )
    replace_once(
        root,
        "pyproject.toml",
        "[tool.ruff.lint.isort]\n",
        '[tool.ruff.lint.pydocstyle]\nconvention = "pep257"\n\n[tool.ruff.lint.isort]\n',
    )
    for name, doc in TEST_DOCSTRINGS.items():
        rel = f"tests/test_itsdangerous/{name}"
        write(root, rel, f'"""{doc}"""\n\n{read(root, rel)}')
    replace_once(
        root,
        "tests/test_itsdangerous/test_signer.py",
        "    def test_secret_keys(self):\n",
        '    @pytest.mark.req("REQ-002")\n    def test_secret_keys(self):\n',
    )
    git(root, "init", "-q")
    commit(root, "base: itsdangerous 2.2.0 with requirements, design and phasegate.toml")


@pytest.fixture(scope="module")
def template(sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The base repository, committed once for the module."""
    root = tmp_path_factory.mktemp("itsdangerous") / "repo"
    prepare(root, sdist)
    with pytest.MonkeyPatch.context() as mp:
        # The package's suite runs with pytest alone, as in its own test environment
        # (requirements/tests.in): the plugins of phasegate's environment stay out
        # (pytest-asyncio warns at start-up, and the suite makes every warning an error).
        mp.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        yield root


@pytest.fixture(scope="module")
def whole_code(template: Path) -> dict[str, Any]:
    """``validate --format json`` of the base, on the whole code (run once)."""
    code, doc = validate_json(template)
    assert code == 1, describe(doc)
    return doc


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the base repository (its git history included)."""
    root = tmp_path / "itsdangerous"
    shutil.copytree(template, root, symlinks=True, ignore=shutil.ignore_patterns(".phasegate"))
    return root


# --------------------------------------------------------------------------- the plants


@dataclass(frozen=True)
class Expected:
    """What a plant must do: fail ``phase`` through ``check`` with a finding at
    ``path``:``line`` (0-based) whose message holds ``message``, and nothing else new.

    ``state``: the planted finding's state (``unchanged`` for a test that a change of the
    source broke without touching it). ``held``: the check fails by holding the line (a
    new finding); TEST-PYTEST keeps its own verdict instead. ``also_failing``: checks of
    other gates that the defect fails by its nature, as (phase, check), whole-code
    verdicts on findings nobody touched."""

    phase: str
    check: str
    path: str
    line: int
    message: str = ""
    state: str = "new"
    held: bool = True
    also_failing: frozenset[tuple[str, str]] = frozenset()


def plant_stub_function(root: Path) -> Expected:
    """(a) A public function whose body is ``raise NotImplementedError``."""
    rel = "src/itsdangerous/encoding.py"
    write(
        root,
        rel,
        read(root, rel) + "\n\n"
        "def base32_encode(string: str | bytes) -> bytes:\n"
        '    """Encode a string of bytes or text as base32, without padding."""\n'
        "    raise NotImplementedError\n",
    )
    return Expected(
        "implementation", "IMPL-STUB", rel, line_of(root, rel, "def base32_encode"), "base32"
    )


def plant_pass_method(root: Path) -> Expected:
    """(b) A method of ``Signer`` whose body is only ``pass``."""
    rel = "src/itsdangerous/signer.py"
    text = read(root, rel)
    assert text.rstrip().endswith("return False")  # the end of class Signer
    write(
        root,
        rel,
        text + "\n"
        "    def add_key(self, secret_key: str | bytes) -> None:\n"
        '        """Sign with ``secret_key`` from now on; verify with the others too."""\n'
        "        pass\n",
    )
    return Expected(
        "implementation", "IMPL-STUB", rel, line_of(root, rel, "def add_key"), "add_key"
    )


def plant_failing_test(root: Path) -> Expected:
    """(c) A new test that fails."""
    rel = "tests/test_itsdangerous/test_encoding.py"
    write(
        root,
        rel,
        read(root, rel) + "\n\n"
        "def test_base64_keeps_padding() -> None:\n"
        '    """Encoding two bytes gives four characters, padding included."""\n'
        '    assert base64_encode(b"ab") == b"YWI="\n',
    )
    return Expected(
        "testing",
        "TEST-PYTEST",
        rel,
        line_of(root, rel, 'b"YWI="'),
        "test_base64_keeps_padding",
        held=False,
    )


def plant_broken_source(root: Path) -> Expected:
    """(c') A change of the source that breaks an existing test, which is not touched:
    TEST-PYTEST keeps its whole-code verdict, the failure sits on an unchanged line."""
    replace_once(
        root,
        "src/itsdangerous/encoding.py",
        'return _int_to_bytes(num).lstrip(b"\\x00")',
        "return _int_to_bytes(num)",
    )
    rel = "tests/test_itsdangerous/test_encoding.py"
    return Expected(
        "testing",
        "TEST-PYTEST",
        rel,
        line_of(root, rel, "assert enc == expect"),
        "test_int_bytes",
        state="unchanged",
        held=False,
    )


REQ_007 = """\
### REQ-007: Version attribute

Reading `itsdangerous.__version__` still gives the installed version, with a warning
that points to `importlib.metadata`.

Acceptance criteria:
- Reading `itsdangerous.__version__` emits a `DeprecationWarning`.
- The value is the version `importlib.metadata` reports for itsdangerous.

"""

REQ_008 = """\
### REQ-008: Loading without verification

`loads_unsafe` loads a token whose signature does not match, and says so, for debugging.

Acceptance criteria:
- A token signed with another key loads, together with `False` for its signature.

"""

NFR = "## Non-functional requirements\n"


def plant_untested_requirement(root: Path) -> Expected:
    """(d) A requirement, designed, that no test references."""
    replace_once(root, "docs/requirements.md", NFR, REQ_007 + NFR)
    replace_once(
        root,
        "docs/design.md",
        "## Data model\n",
        "- **Package** (`__init__.py`): a module `__getattr__` answers `__version__` from\n"
        "  `importlib.metadata`, with a `DeprecationWarning` (REQ-007).\n\n## Data model\n",
    )
    rel = "docs/requirements.md"
    return Expected("testing", "TEST-TRACE", rel, line_of(root, rel, "REQ-007"), "REQ-007")


def plant_undesigned_requirement(root: Path) -> Expected:
    """(e) A requirement, tested, that the design does not mention."""
    replace_once(root, "docs/requirements.md", NFR, REQ_008 + NFR)
    write(
        root,
        "tests/test_itsdangerous/test_unsafe.py",
        '"""Loading a token without trusting it."""\n'
        "\n"
        "import pytest\n"
        "\n"
        "from itsdangerous.serializer import Serializer\n"
        "\n"
        "\n"
        '@pytest.mark.req("REQ-008")\n'
        "def test_loads_unsafe_reports_a_bad_signature() -> None:\n"
        '    """A token signed with another key loads, and its signature is bad."""\n'
        '    token = Serializer("one key").dumps({"id": 5})\n'
        '    assert Serializer("another key").loads_unsafe(token) == (False, {"id": 5})\n',
    )
    rel = "docs/requirements.md"
    return Expected("design", "DES-TRACE", rel, line_of(root, rel, "REQ-008"), "REQ-008")


def plant_root_latest_dockerfile(root: Path) -> Expected:
    """(f) ``FROM python:latest``, running as root."""
    write(
        root,
        "Dockerfile",
        "FROM python:latest\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "RUN pip install --no-cache-dir .\n"
        'CMD ["python", "-c", "import itsdangerous"]\n',
    )
    return Expected("deployment", "DEP-DOCKERFILE", "Dockerfile", 0, "latest")


def plant_syntax_error(root: Path) -> Expected:
    """(g) A syntax error in the package: its modules no longer import, so the test suite
    cannot run either (TEST-PYTEST fails the testing gate as well)."""
    rel = "src/itsdangerous/encoding.py"
    replace_once(
        root,
        rel,
        'return base64.urlsafe_b64encode(string).rstrip(b"=")',
        'return base64.urlsafe_b64encode(string.rstrip(b"=")',
    )
    return Expected(
        "implementation",
        "IMPL-SYNTAX",
        rel,
        line_of(root, rel, "return base64.urlsafe_b64encode("),
        "never closed",
        also_failing=frozenset({("testing", "TEST-PYTEST")}),
    )


def plant_untested_module(root: Path) -> Expected:
    """(h) A module of some 550 lines of real logic that no test imports."""
    rel = "src/itsdangerous/keyring.py"
    write(root, rel, KEYRING.lstrip("\n"))
    assert len(KEYRING.splitlines()) > 500
    first = line_of(root, rel, "from __future__ import annotations")  # first statement
    return Expected("testing", "TEST-COVERAGE", rel, first, "coverage on new code")


PLANTS: dict[str, Callable[[Path], Expected]] = {
    "a-stub-function": plant_stub_function,
    "b-pass-method": plant_pass_method,
    "c-failing-test": plant_failing_test,
    "c-broken-by-source": plant_broken_source,
    "d-untested-requirement": plant_untested_requirement,
    "e-undesigned-requirement": plant_undesigned_requirement,
    "f-dockerfile-latest-root": plant_root_latest_dockerfile,
    "g-syntax-error": plant_syntax_error,
    "h-untested-module": plant_untested_module,
}


# --------------------------------------------------------------------------- the tests


def test_base_passes_on_new_code_whatever_its_legacy(
    repo: Path, whole_code: dict[str, Any]
) -> None:
    """At the base nothing is new: every gate passes on new code. On the whole code the
    real package fails where it has real debt: a TODO comment, docstrings pydocstyle
    wants, a README without an installation section, no CI workflow in the sdist."""
    code, doc = validate_json(repo, "--since", "HEAD")
    assert code == 0, describe(doc)
    assert failed_phases(doc) == set()
    seen = findings(doc)
    assert seen and {f.state for f in seen} == {"unchanged"}
    assert doc["new_code"]["new"] == 0 and doc["new_code"]["held"] == []
    assert doc["new_code"]["unchanged"] == len(seen)
    suite = check(doc, "testing", "TEST-PYTEST")  # the package's own suite runs, and passes
    assert suite["status"] == "passed" and suite["findings"] == []
    integrity = check(doc, "testing", "GATE-INTEGRITY")  # joins in new-code mode
    assert integrity["status"] == "passed", integrity

    assert "new_code" not in whole_code
    assert failed_phases(whole_code) == {"implementation", "deployment"}, describe(whole_code)
    failing = {c["id"] for ph in whole_code["phases"] for c in ph["checks"] if not c["passed"]}
    assert failing == {"IMPL-STUB", "IMPL-LINT", "DEP-README", "DEP-CI"}, describe(whole_code)
    stub = check(whole_code, "implementation", "IMPL-STUB")["findings"]
    assert [(f["path"], f["message"][:13]) for f in stub] == [
        ("src/itsdangerous/timed.py", "TODO comment:")
    ]
    lint = [f for f in findings(whole_code) if f.code == "IMPL-LINT"]
    assert len(lint) >= 50
    assert all(f.message.startswith("D") for f in lint), {f.message[:5] for f in lint}


@pytest.mark.parametrize("name", list(PLANTS))
def test_planted_defect_fails_its_gate(repo: Path, name: str) -> None:
    expected = PLANTS[name](repo)
    commit(repo, f"plant {name}")
    code, doc = validate_json(repo, "--since", "HEAD~1")
    report = describe(doc)
    assert code == 1, report
    also = {phase for phase, _ in expected.also_failing}
    assert failed_phases(doc) == {expected.phase, *also}, report

    result = check(doc, expected.phase, expected.check)
    assert not result["passed"], report
    gate = next(ph for ph in doc["phases"] if ph["name"] == expected.phase)
    assert (expected.check in gate["held"]) == expected.held, report

    seen = findings(doc)
    planted = [
        f
        for f in seen
        if f.code == expected.check and f.path == expected.path and f.line == expected.line
    ]
    assert planted, f"no {expected.check} finding at {expected.path}:{expected.line + 1}\n{report}"
    assert {f.state for f in planted} == {expected.state}, planted
    assert any(expected.message in f.message for f in planted), planted
    assert all(f.severity in ("error", "warning") for f in planted), planted
    # nothing else is new: the plant is found where it is, and only there
    stray = [f for f in seen if f.state == "new" and f.code != expected.check]
    assert not stray, report
    for phase, check_id in expected.also_failing:
        other = check(doc, phase, check_id)
        assert not other["passed"] and other["findings"], report
        assert {f["baseline_state"] for f in other["findings"]} == {"unchanged"}, report
        held = next(ph for ph in doc["phases"] if ph["name"] == phase)["held"]
        assert check_id not in held, report


REQ_DEPRECATION = """\
### REQ-009: Deprecated version attribute

Reading `itsdangerous.__version__` warns that the attribute is deprecated.

Acceptance criteria:
- Reading `itsdangerous.__version__` emits a `DeprecationWarning`.

"""


def test_a_requirement_about_a_deprecation_must_be_traced(repo: Path) -> None:
    """A requirement *about* a deprecation is a live requirement: with no design and no
    test, DES-TRACE must report it (TEST-TRACE too)."""
    replace_once(repo, "docs/requirements.md", NFR, REQ_DEPRECATION + NFR)
    commit(repo, "a requirement about a deprecation, neither designed nor tested")
    line = line_of(repo, "docs/requirements.md", "REQ-009")
    code, doc = validate_json(repo, "--since", "HEAD~1", "--phase", "design")
    new = [(f.code, f.line) for f in findings(doc) if f.state == "new"]
    assert code == 1 and new == [("DES-TRACE", line)], describe(doc)


def test_legacy_lint_stays_unchanged_after_a_harmless_commit(
    repo: Path, whole_code: dict[str, Any]
) -> None:
    legacy = [f for f in findings(whole_code) if f.code == "IMPL-LINT"]
    assert len(legacy) >= 50, len(legacy)
    # a harmless change: a comment of the package reworded
    replace_once(
        repo,
        "src/itsdangerous/timed.py",
        "        # If there is no timestamp in the result there is something\n",
        "        # Without a timestamp in the result, there is something\n",
    )
    commit(repo, "reword a comment")

    code, doc = validate_json(repo, "--since", "HEAD~1")
    assert code == 0, describe(doc)
    gate = next(ph for ph in doc["phases"] if ph["name"] == "implementation")
    assert gate["status"] == "passed" and gate["held"] == []
    lint = check(doc, "implementation", "IMPL-LINT")
    assert lint["passed"] and lint["new_code"]["overall_passed"] is False
    assert lint["new_code"]["unchanged"] == len(legacy) and lint["new_code"]["new"] == 0
    now = [f for f in findings(doc) if f.code == "IMPL-LINT"]
    assert sorted((f.path, f.line, f.message) for f in now) == sorted(
        (f.path, f.line, f.message) for f in legacy
    )
    assert {f.state for f in now} == {"unchanged"}

    res = validate(repo, "--since", "HEAD~1")
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if ": IMPL-LINT " in ln]
    assert len(lines) == len(legacy), res.stdout[-3000:]
    assert all(ln.endswith(" (unchanged)") for ln in lines), lines[:5]
    summary = " ".join(res.stdout.split())
    assert f"0 new, {doc['new_code']['unchanged']} unchanged" in summary


def test_sarif_results_carry_their_baseline_state(repo: Path) -> None:
    expected = plant_stub_function(repo)
    commit(repo, "plant a stub")
    res = validate(repo, "--since", "HEAD~1", "--format", "sarif")
    assert res.exit_code == 1, res.output
    log = json.loads(res.stdout)
    results = [r for run in log["runs"] for r in run["results"]]
    assert len(results) > 50
    missing = [r["ruleId"] for r in results if "baselineState" not in r]
    assert not missing, f"{len(missing)} results without baselineState: {missing[:10]}"
    states = {r["baselineState"] for r in results}
    assert states == {"new", "unchanged"}, states
    new = [r for r in results if r["baselineState"] == "new"]
    assert [r["ruleId"] for r in new] == [expected.check]
    where = new[0]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"].endswith(expected.path)
    assert where["region"]["startLine"] == expected.line + 1
