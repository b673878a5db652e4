"""Key pair files: the private key is 0600 from creation, never overwritten by accident."""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

import pytest

from pipeline.access.keypair import key_id_for, write_key_pair
from pipeline.access.signing import load_private_key, load_public_key

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that hides nothing: the 0600 must come from the code, not from the environment."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generate_writes_a_0600_private_key_and_a_public_key(tmp_path: Path, open_umask: None) -> None:
    files = write_key_pair(tmp_path / "keys")

    assert mode(files.private_key) == 0o600
    assert mode(files.public_key) == 0o644
    assert mode(tmp_path / "keys") == 0o700
    assert files.private_key.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert files.public_key.read_text() == files.public_key_pem
    assert files.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    private = load_private_key(files.private_key.read_bytes())
    public = load_public_key(files.public_key.read_bytes())
    assert private.key_size == 2048
    assert key_id_for(private.public_key()) == key_id_for(public) == files.key_id
    assert len(files.key_id) == 14 and files.key_id.startswith("K") and files.key_id.isalnum()


def test_existing_keys_are_kept_unless_forced(tmp_path: Path, open_umask: None) -> None:
    first = write_key_pair(tmp_path)
    with pytest.raises(FileExistsError, match="--force"):
        write_key_pair(tmp_path)
    assert first.private_key.read_text() == (tmp_path / "private_key.pem").read_text()

    # A private key file left world-readable is replaced by a new 0600 file, not rewritten in place.
    first.private_key.chmod(0o644)
    second = write_key_pair(tmp_path, force=True)

    assert second.key_id != first.key_id
    assert mode(second.private_key) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private_key.pem", "public_key.pem"]


def test_a_symlink_in_place_of_the_private_key_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.pem"
    (tmp_path / "private_key.pem").symlink_to(target)

    with pytest.raises(FileExistsError):
        write_key_pair(tmp_path)
    assert not target.exists()
