"""The Chrome build's fixed identity: its manifest's `key`, and the extension ID Chrome derives
from it, so the service can admit that one extension's origin and no other (CORS).

Without a `key`, an unpacked extension's ID depends on the folder it was loaded from, and the
service had to admit every `chrome-extension://` origin: any installed extension could read its
answers. The key is a public key (its private half was never kept: nothing is signed with it);
Chrome's rule, as in its documentation of the manifest's `key`, is the first 128 bits of the
SHA-256 of the key, each hexadecimal digit written as a letter a–p. A build from the Chrome Web
Store carries the store's own ID: its origin goes in PASSERELLE_ALLOWED_ORIGINS. Firefox gives
each installation a random UUID, so any `moz-extension://` origin is admitted and a hosted
instance relies on its access token (PASSERELLE_API_TOKEN).
"""

from __future__ import annotations

import base64
import hashlib

CHROME_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAng4nFFAj4WWwumAGh7J2iP0Y45uZ8ixo0YvN"
    "w5YQIEYrdkZMHzJioMWcVXoFaQxxJdO3Z08DQMP2bGe/9MRaLkyN5pqOrU1IWUguC00H0kCqFuybd6Pg"
    "bREwTZp/RBXhL+YhVuj2RZWv13rkOAv6Lzom0oKKUrQFS3VGLap8r8H7lxZP9zrvd1OHE0AGXY/y6Wlo"
    "jWST8bs+FaMyqyMjm9AMAtl75zFXFBVztfFpCziv2ONYifNzjj6NZ4amJFHq/C1qJTzIu7D4kvN5e2T7"
    "OvmzF7B3/rX42Klnifb/p5eRLwryOHg7BCKLLX39SKCeVyAb7U9qmhfZAOlqDfb5MwIDAQAB"
)


def chrome_id(key: str) -> str:
    """The extension ID Chrome gives to an extension whose manifest has this `key`."""
    digest = hashlib.sha256(base64.b64decode(key)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


CHROME_ID = chrome_id(CHROME_KEY)
CHROME_ORIGIN = f"chrome-extension://{CHROME_ID}"
