"""The backup file: one uncompressed tar holding a signed manifest and its members.

Layout (in this order)::

    manifest.json        {"manifest": {...}, "signature": "<hex>"}
    database.pgdump      pg_dump -Fc of the database       (PostgreSQL)
    database.sqlite3     a copy by SQLite's online backup  (SQLite)
    audio-manifest.json  the audio files the database knows (not the files)

The manifest names the format and its version, when the backup was taken (UTC), the
product version, the schema revision, the backend, the installation's id, a fingerprint
of the secret key (an HMAC of a constant: it tells keys apart without revealing one),
row counts of the main tables, and the sha256 and size of every member. It is signed
with HMAC-SHA256 under a key derived from the installation's secret key, so a manifest
rewritten to agree with an altered dump is caught by whoever holds the key.

:func:`open_checked` reads the whole file before anything is restored: a file cut short,
a member whose bytes differ, a manifest rewritten or signed under another key are
refused with :class:`BackupRefused` (exit status 2 on the command line).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from broadcaster.errors import BroadcasterError

FORMAT = "broadcaster.backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
AUDIO_MANIFEST = "audio-manifest.json"
DUMPS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
MEMBERS = (MANIFEST, *DUMPS.values(), AUDIO_MANIFEST)
CHUNK = 1 << 20
_SIGNING = b"broadcaster.backup/1 manifest"
_FINGERPRINT = b"broadcaster.backup/1 key fingerprint"


class BackupRefused(BroadcasterError):
    """A backup file that must not be restored (nothing was touched)."""


@dataclass(frozen=True)
class BackupKey:
    """The manifest's signing key, derived from the installation's secret key."""

    key: bytes = field(repr=False)
    fingerprint: str

    @classmethod
    def from_secret(cls, secret: str) -> BackupKey:
        raw = secret.encode("utf-8")
        key = hmac.new(raw, _SIGNING, hashlib.sha256).digest()
        return cls(key, hmac.new(raw, _FINGERPRINT, hashlib.sha256).hexdigest()[:32])

    def sign(self, manifest: dict) -> str:
        return hmac.new(self.key, canonical(manifest), hashlib.sha256).hexdigest()

    def signed(self, manifest: dict, signature: str) -> bool:
        return hmac.compare_digest(self.sign(manifest), str(signature))


def canonical(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(path: Path) -> tuple[str, int]:
    """(sha256, size) of a file."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def write(path: Path, manifest: dict, members: dict[str, Path], key: BackupKey) -> int:
    """Write the backup file (atomically: a ``.partial`` renamed at the end); its size."""
    manifest = dict(manifest)
    manifest["members"] = {}
    for name, source in members.items():
        sha, size = digest(source)
        manifest["members"][name] = {"sha256": sha, "bytes": size}
    document = {"manifest": manifest, "signature": key.sign(manifest)}
    head = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode()
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(partial, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.addfile(_info(MANIFEST, len(head)), io.BytesIO(head))
                for name, source in members.items():
                    with open(source, "rb") as fh:
                        tar.addfile(_info(name, manifest["members"][name]["bytes"]), fh)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path.stat().st_size


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o600
    return info


@dataclass(frozen=True)
class Opened:
    """A backup file read in full and found whole: its manifest and extracted members."""

    path: Path
    manifest: dict
    files: dict[str, Path]  # member name -> extracted copy
    size: int

    @property
    def backend(self) -> str:
        return self.manifest["backend"]

    @property
    def dump(self) -> Path:
        return self.files[DUMPS[self.backend]]

    def audio(self) -> dict:
        return json.loads(self.files[AUDIO_MANIFEST].read_text(encoding="utf-8"))


def _cut(path: Path) -> BackupRefused:
    return BackupRefused(
        "Tệp sao lưu {path} bị cắt cụt hoặc hỏng (không đọc hết được): không khôi phục. "
        "Dùng một bản sao lưu khác.",
        path=str(path),
    )


def open_checked(path: Path, into: Path, key: BackupKey) -> Opened:
    """Read the whole file into ``into`` and check it; refuse anything not whole."""
    if not path.is_file():
        raise BackupRefused("Không thấy tệp sao lưu {path}.", path=str(path))
    if not tarfile.is_tarfile(path):
        raise BackupRefused(
            "Tệp {path} không phải tệp sao lưu của broadcaster (hoặc đã hỏng).", path=str(path)
        )
    found: dict[str, tuple[str, int]] = {}
    files: dict[str, Path] = {}
    document = None
    try:
        with tarfile.open(path, "r:") as tar:
            for member in tar:
                if member.name not in MEMBERS or member.name in found or not member.isfile():
                    raise BackupRefused(
                        "Tệp sao lưu {path} có phần lạ '{name}': không khôi phục.",
                        path=str(path),
                        name=member.name,
                    )
                source = tar.extractfile(member)
                assert source is not None
                target = into / member.name
                h, size = hashlib.sha256(), 0
                with open(target, "wb") as out:
                    while chunk := source.read(CHUNK):
                        h.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                if size != member.size:
                    raise _cut(path)
                found[member.name] = (h.hexdigest(), size)
                files[member.name] = target
                if member.name == MANIFEST:
                    document = _document(path, target)
    except (tarfile.TarError, EOFError):
        raise _cut(path) from None
    if document is None:
        raise (
            _cut(path)
            if found
            else BackupRefused(
                "Tệp {path} không có manifest.json: không phải bản sao lưu.", path=str(path)
            )
        )
    manifest, signature = document
    _check_signed(path, manifest, signature, key)
    listed = manifest.get("members") or {}
    for name, expected in listed.items():
        if name not in found:
            raise _cut(path)
        if found[name] != (expected.get("sha256"), expected.get("bytes")):
            raise BackupRefused(
                "Tệp sao lưu {path}: phần {name} không khớp mã băm ghi trong manifest "
                "(tệp đã bị sửa hoặc hỏng): không khôi phục.",
                path=str(path),
                name=name,
            )
    extra = sorted(set(found) - set(listed) - {MANIFEST})
    if extra or DUMPS.get(manifest.get("backend", "")) not in listed:
        raise BackupRefused(
            "Tệp sao lưu {path}: các phần không khớp manifest: không khôi phục.", path=str(path)
        )
    return Opened(path, manifest, files, path.stat().st_size)


def _document(path: Path, target: Path) -> tuple[dict, str]:
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
        manifest, signature = document["manifest"], document["signature"]
        if not isinstance(manifest, dict) or not isinstance(signature, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise BackupRefused(
            "Tệp sao lưu {path}: manifest.json không đọc được (tệp hỏng hoặc bị sửa).",
            path=str(path),
        ) from None
    if manifest.get("format") != FORMAT:
        raise BackupRefused("Tệp {path} không phải bản sao lưu của broadcaster.", path=str(path))
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupRefused(
            "Tệp sao lưu {path} theo định dạng số {version}, phiên bản này chỉ đọc định dạng "
            "số {known}: hãy nâng cấp broadcaster rồi khôi phục.",
            path=str(path),
            version=manifest.get("version"),
            known=FORMAT_VERSION,
        )
    return manifest, signature


def _check_signed(path: Path, manifest: dict, signature: str, key: BackupKey) -> None:
    if manifest.get("key_fingerprint") != key.fingerprint:
        raise BackupRefused(
            "Tệp sao lưu {path} được lập với khóa bí mật khác (dấu khóa {theirs}, khóa đang "
            "dùng có dấu {ours}): báo cáo đã lưu chỉ kiểm chứng được bằng đúng khóa đó. "
            "Chép tệp instance/secret_key (hoặc đặt BROADCASTER_SECRET_KEY) của cài đặt đã "
            "lập bản sao lưu rồi thử lại.",
            path=str(path),
            theirs=str(manifest.get("key_fingerprint"))[:12],
            ours=key.fingerprint[:12],
        )
    if not key.signed(manifest, signature):
        raise BackupRefused(
            "Tệp sao lưu {path}: chữ ký của manifest không đúng (manifest đã bị sửa): "
            "không khôi phục.",
            path=str(path),
        )
