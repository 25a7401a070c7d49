"""The file store when the disk says no: short writes, a full disk, I/O errors, a read-only
directory. A write is complete or it did not happen; the original file always stays."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from orchestrator.adapters.filestore import FileStore, WriteFailed
from tests.orchestrator.helpers.faults import Disk, fill, read_only, temp_files, tmpfs

PLAN = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)


def grow(text: str) -> str:
    """An edit that adds about 8 KB at the end, as a long retrospective does."""
    return text + "\n" + "Retrospective note.\n" * 420


def write_plan(directory: Path) -> Path:
    path = directory / "MULTI_AGENT_PLAN.md"
    path.write_text(PLAN, encoding="utf-8")
    return path


async def test_short_writes_are_completed(tmp_path: Path) -> None:
    """A disk that takes 4 KB per write() still gets every byte of the new plan."""
    path = write_plan(tmp_path)
    store = FileStore(writer=Disk(chunk=4096))
    written = await store.update(path, grow)
    assert written == grow(PLAN)
    assert path.read_text(encoding="utf-8") == grow(PLAN)
    assert temp_files(tmp_path) == []


async def test_a_disk_that_fills_up_mid_write_keeps_the_plan(tmp_path: Path) -> None:
    """8,192 bytes written, then ENOSPC: the plan stays whole and the temp file goes."""
    path = write_plan(tmp_path)
    assert len(grow(PLAN).encode()) > 20_000
    store = FileStore(writer=Disk(free=8192))
    with pytest.raises(WriteFailed) as failed:
        await store.update(path, grow)
    assert failed.value.file == path
    assert failed.value.reason == os.strerror(errno.ENOSPC)
    assert str(failed.value) == f"{path}: No space left on device"
    assert path.read_text(encoding="utf-8") == PLAN
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EACCES])
async def test_a_refused_write_keeps_the_plan(tmp_path: Path, code: int) -> None:
    """ENOSPC, EIO or EACCES on the first write: original kept, reason named, no temp."""
    path = write_plan(tmp_path)
    disk = Disk(fail=code)
    disk.full = True
    with pytest.raises(WriteFailed) as failed:
        await FileStore(writer=disk).update(path, grow)
    assert (failed.value.file, failed.value.reason) == (path, os.strerror(code))
    assert path.read_text(encoding="utf-8") == PLAN
    assert temp_files(tmp_path) == []


async def test_a_read_only_directory_keeps_the_plan(tmp_path: Path) -> None:
    """No temp file can be made in a read-only directory: WriteFailed, the plan as it was."""
    directory = tmp_path / "plan"
    directory.mkdir()
    path = write_plan(directory)
    with read_only(directory):
        with pytest.raises(WriteFailed) as failed:
            await FileStore().update(path, grow)
        assert failed.value.file == path
        assert failed.value.reason in (os.strerror(errno.EACCES), os.strerror(errno.EROFS))
    assert path.read_text(encoding="utf-8") == PLAN
    assert temp_files(directory) == []
    assert await FileStore().update(path, grow) == grow(PLAN)


async def test_a_real_full_tmpfs_keeps_the_plan_and_recovers(tmp_path: Path) -> None:
    """On a real 256 KB tmpfs with 8 KB left, a 28 KB plan write fails whole; freed, it lands."""
    with tmpfs(tmp_path / "small", "256k") as mount:
        path = write_plan(mount)
        filler = fill(mount, leave=8192)
        with pytest.raises(WriteFailed) as failed:
            await FileStore().update(path, grow)
        assert failed.value.reason == os.strerror(errno.ENOSPC)
        assert path.read_text(encoding="utf-8") == PLAN
        assert temp_files(mount) == []
        filler.unlink()
        assert await FileStore().update(path, grow) == grow(PLAN)
        assert path.read_text(encoding="utf-8") == grow(PLAN)


async def test_a_save_merged_in_survives_a_failed_second_swap(tmp_path: Path) -> None:
    """A person's save displaced by Baton's swap is put back when the merge cannot be written."""
    path = write_plan(tmp_path)
    theirs = PLAN.replace("Design auth architecture", "Design the auth architecture")
    disk = Disk()
    first = True

    def edit(text: str) -> str:
        nonlocal first
        if first:  # a person saves between Baton's read and its swap
            first = False
            path.write_text(theirs, encoding="utf-8")
        else:  # Baton merges its edit into their save; now the disk is full
            disk.full = True
        return grow(text)

    with pytest.raises(WriteFailed):
        await FileStore(writer=disk).update(path, edit)
    assert path.read_text(encoding="utf-8") == theirs
    assert temp_files(tmp_path) == []


async def test_a_new_file_is_created_whole_or_not_at_all(tmp_path: Path) -> None:
    """create() on a full disk leaves no file and no temp; later it writes it whole, once."""
    path = tmp_path / "INTER_AGENT_MESSAGES.md"
    disk = Disk(free=10)
    with pytest.raises(WriteFailed):
        await FileStore(writer=disk).create(path, PLAN)
    assert not path.exists()
    assert temp_files(tmp_path) == []
    await FileStore().create(path, PLAN)
    await FileStore().create(path, "something else")  # it exists now: left as it is
    assert path.read_text(encoding="utf-8") == PLAN
