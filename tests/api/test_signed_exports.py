"""Signed public files: with TALLY_SIGNING_KEY set, each published version has a manifest (every
file's size and SHA-256, the chain heads, the runs) signed with Ed25519, served by the API beside
the public key, written by `tally export`; `tally verify --public-key` checks the signature and each
file against the manifest, and names a missing or bad signature. Files rewritten consistently
(verify alone cannot tell) no longer pass."""

from __future__ import annotations

import json
import warnings

import pytest

from cli.main import main

from .conftest import make_election
from .report_site import publish

pytestmark = pytest.mark.integration

FILES = ("ballots.json", "audit.json", "results.json")


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = tmp_path_factory.mktemp("key") / "signing.pem"
    assert main(["key", "create", "--out", str(path)]) == 0
    return path


def _client():
    """The app in-process, with the settings of the environment as it is now."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*")
        from fastapi.testclient import TestClient
    from api.app import create_app

    return TestClient(create_app())


@pytest.fixture(scope="module")
def signed_client(db, key):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TALLY_SIGNING_KEY", str(key))
        with _client() as client:
            yield client


@pytest.fixture(scope="module")
def published(db, signed_client, admin, tmp_path_factory):
    """An election published, and its files, manifest and signature as the API serves them."""
    election = publish(db, signed_client, admin, "signed")
    folder = tmp_path_factory.mktemp("downloaded")
    for name in (*FILES, "manifest.json", "manifest.json.sig"):
        response = signed_client.get(f"/elections/{election.key}/public/{name}")
        assert response.status_code == 200, response.text
        (folder / name).write_bytes(response.content)
    public = signed_client.get("/signing-key.pem")
    assert public.status_code == 200 and public.text.startswith("-----BEGIN PUBLIC KEY-----")
    (folder / "office.pem").write_text(public.text)
    return election, folder


def _verify(capsys, folder, *extra: str) -> tuple[int, str]:
    code = main(["verify", *(str(folder / f) for f in FILES), *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_served_files_verify_with_the_offices_public_key(published, capsys, key):
    election, folder = published
    code, out = _verify(capsys, folder, "--public-key", str(folder / "office.pem"))
    assert code == 0, out
    assert "verify: OK: signature checked" in out
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [f["name"] for f in manifest["files"]] == list(FILES)
    assert manifest["election"]["key"] == election.key and manifest["runs"][0]["ballots_chain_head"]
    assert main(["key", "public"]) == 0  # the key this process serves with (TALLY_SIGNING_KEY)
    assert capsys.readouterr().out == (folder / "office.pem").read_text()


def test_files_rewritten_consistently_pass_verify_alone_but_not_the_signed_manifest(published, capsys, tmp_path):
    """Re-serialized results.json (the same values, other bytes) re-derives fine; its bytes are not
    the signed ones. A manifest rewritten to match has no valid signature."""
    _, folder = published
    forged = tmp_path / "forged"
    forged.mkdir()
    for name in (*FILES, "manifest.json", "manifest.json.sig", "office.pem"):
        (forged / name).write_bytes((folder / name).read_bytes())
    (forged / "results.json").write_text(json.dumps(json.loads((folder / "results.json").read_text()), indent=1))
    code, out = _verify(capsys, forged)
    assert code == 0, out
    code, out = _verify(capsys, forged, "--public-key", str(forged / "office.pem"))
    assert code == 1
    assert "manifest: results.json: not the file the signed manifest lists" in out

    manifest = json.loads((forged / "manifest.json").read_text())
    data = (forged / "results.json").read_bytes()
    import hashlib

    manifest["files"][2].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (forged / "manifest.json").write_text(json.dumps(manifest))
    code, out = _verify(capsys, forged, "--public-key", str(forged / "office.pem"))
    assert code == 1
    assert "signature: bad: the manifest was not signed by this key, or was changed after it was signed" in out


def test_a_missing_signature_and_another_key_are_named(published, capsys, tmp_path):
    _, folder = published
    code, out = _verify(capsys, folder, "--public-key", str(folder / "office.pem"), "--signature", str(tmp_path / "none.sig"))
    assert code == 1 and f"signature: missing: no {tmp_path / 'none.sig'}" in out
    other = tmp_path / "other.pem"
    assert main(["key", "create", "--out", str(other)]) == 0
    public = capsys.readouterr().out
    (tmp_path / "other-public.pem").write_text(public)
    code, out = _verify(capsys, folder, "--public-key", str(tmp_path / "other-public.pem"))
    assert code == 1 and "signature: bad" in out
    code, out = _verify(capsys, folder, "--public-key", str(other))  # the private key file is no public key
    assert code == 2 and "not a PEM public key" in out


def test_tally_export_writes_the_signed_manifest(db, published, key, capsys, tmp_path, monkeypatch):
    election, folder = published
    monkeypatch.setenv("TALLY_SIGNING_KEY", str(key))
    assert main(["export", election.key, "--out", str(tmp_path)]) == 0
    assert "manifest.json.sig" in capsys.readouterr().out
    code, out = _verify(capsys, tmp_path, "--public-key", str(folder / "office.pem"))
    assert code == 0, out
    names = [f["name"] for f in json.loads((tmp_path / "manifest.json").read_text())["files"]]
    assert names == [*FILES, "nist-err.json"]
    (tmp_path / "broken.pem").write_text("not a key")
    monkeypatch.setenv("TALLY_SIGNING_KEY", str(tmp_path / "broken.pem"))
    assert main(["export", election.key, "--out", str(tmp_path / "again")]) == 2
    assert "not an unencrypted PEM private key" in capsys.readouterr().err


def test_a_server_without_a_key_serves_the_manifest_unsigned_and_says_so(db, admin, monkeypatch):
    monkeypatch.delenv("TALLY_SIGNING_KEY", raising=False)
    with _client() as client:
        _unsigned(db, client, admin)


def _unsigned(db, client, admin):
    election = make_election(db, "unsigned-export")
    client.post(election.base().removesuffix("/tally") + "/seal", headers=admin)
    assert client.post(election.base() + "/run", json={"force": True}, headers=admin).status_code == 202
    manifest = client.get(f"/elections/{election.key}/public/manifest.json")
    assert manifest.status_code == 200 and manifest.json()["key_id"] is None
    for path in (f"/elections/{election.key}/public/manifest.json.sig", "/signing-key.pem"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["message"] == "This server signs nothing: no TALLY_SIGNING_KEY is set"
