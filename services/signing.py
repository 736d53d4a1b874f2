"""Ed25519 signatures of the public files (the `cryptography` package).

Each published version has a manifest (services/read/manifest.py): every public file with its
size and SHA-256, the audit log's head, the sealed periods' ballot chain heads and the completed
runs. The key named by TALLY_SIGNING_KEY signs the manifest's bytes; the signature is published
beside it, base64 on one line. Whoever holds the public key (from the election office, not from
the same server) checks the signature, then each file against the manifest: rewriting the files
consistently no longer passes `tally verify --public-key`. The key lives in a file, never in the
database; docs/operations.md says how to rotate it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.errors import ServiceError


class SigningError(ServiceError):
    """A key that cannot be made or read, with what to do about it."""


def create_key(path: Path) -> Ed25519PrivateKey:
    """A new key, written to `path` (PEM, PKCS#8, readable by its owner only); never over a key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningError(f"{path} already exists: a signing key is never overwritten (move it away first)") from None
    except OSError as exc:
        raise SigningError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"TALLY_SIGNING_KEY {path}: {exc.strerror} (`tally key create` makes one)") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SigningError(f"TALLY_SIGNING_KEY {path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"TALLY_SIGNING_KEY {path}: not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key: names the key in a manifest."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The signature file's bytes (Ed25519 signatures are deterministic: the same bytes each time)."""
    return base64.b64encode(key.sign(data)) + b"\n"


def read_public_key(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise SigningError(f"{where}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{where}: not an Ed25519 public key")
    return key


def signature_problem(key: Ed25519PublicKey, data: bytes, signature: bytes) -> str | None:
    """None when `signature` (the signature file's bytes) is the key's over `data`, else why not."""
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "the signature file is not base64"
    try:
        key.verify(raw, data)
    except InvalidSignature:
        return "the manifest was not signed by this key, or was changed after it was signed"
    return None


def manifest_differences(key: Ed25519PublicKey, manifest: tuple[str, bytes | None], signature: tuple[str, bytes | None],
                         files: dict[str, bytes]) -> list[str]:
    """What `tally verify --public-key` reports: a missing or bad signature, and each of `files`
    (public name -> bytes) that the signed manifest does not list with those bytes. `manifest` and
    `signature`: (where, the bytes or None when there are none)."""
    (where, manifest), (signature_at, signature) = manifest, signature
    if manifest is None:
        return [f"manifest: missing: no {where} (the signature covers the manifest)"]
    if signature is None:
        return [f"signature: missing: no {signature_at}: the manifest is not signed"]
    problem = signature_problem(key, manifest, signature)
    if problem is not None:
        return [f"signature: bad: {problem}"]
    try:
        listed = {f["name"]: f for f in json.loads(manifest)["files"]}
    except (ValueError, KeyError, TypeError):
        return ["manifest: signed but not a manifest (no files list)"]
    out = []
    for name, data in files.items():
        entry = listed.get(name)
        if entry is None:
            out.append(f"manifest: {name}: not in the signed manifest")
        elif entry.get("sha256") != hashlib.sha256(data).hexdigest() or entry.get("bytes") != len(data):
            out.append(f"manifest: {name}: not the file the signed manifest lists (its SHA-256 or size differs)")
    return out
