"""The FUSE adapter answers the requests it means to, and counts each one (sim/requests)."""
import pyfuse3

from procfs.fuse_adapter import ProcFSOperations

#: pyfuse3's defaults answer these (ENOSYS: the kernel stops asking; a FLUSH answered with
#: success instead would be sent again on every close).
LEFT_TO_PYFUSE3 = {"init", "flush", "fsync", "fsyncdir", "access", "getxattr", "setxattr", "listxattr",
                   "removexattr", "stacktrace"}


def test_every_request_the_adapter_overrides_is_a_counted_handler():
    handlers = {name for name in dir(pyfuse3.Operations) if not name.startswith("_")
                and callable(getattr(pyfuse3.Operations, name))}
    overridden = {name for name in handlers if getattr(ProcFSOperations, name) is not getattr(pyfuse3.Operations, name)}
    assert overridden, "the adapter overrides no request"
    assert not overridden & LEFT_TO_PYFUSE3, overridden & LEFT_TO_PYFUSE3
    uncounted = [name for name in overridden if not hasattr(getattr(ProcFSOperations, name), "__wrapped__")]
    assert uncounted == []


def test_the_requests_a_procfs_must_answer_are_overridden():
    for name in ("lookup", "forget", "getattr", "readlink", "opendir", "readdir", "releasedir", "open", "read",
                 "write", "release", "statfs", "setattr", "create", "mkdir", "unlink"):
        assert getattr(ProcFSOperations, name) is not getattr(pyfuse3.Operations, name), name


def test_taking_names_back_ignores_only_what_the_kernel_had_already_dropped(monkeypatch, caplog):
    """ENOENT: the kernel no longer had the name, which is what was asked.  Anything else is
    logged: a name the kernel keeps is a stale answer someone will read."""
    import errno

    from procfs import fuse_name_cache

    answers = {b"gone": errno.ENOENT, b"refused": errno.EIO}

    def invalidate_entry(ino: int, name: bytes) -> None:
        raise OSError(answers[name], "")

    monkeypatch.setattr(fuse_name_cache.pyfuse3, "invalidate_entry", invalidate_entry)
    monkeypatch.setattr(fuse_name_cache.pyfuse3, "invalidate_inode", lambda ino, attr_only: None)
    with caplog.at_level("WARNING", logger="procsim.fuse"):
        fuse_name_cache._invalidate([(1, "gone"), (1, "refused"), (7, None)])
    assert [r.getMessage() for r in caplog.records] == ["the kernel refused to drop refused in inode 1: "
                                                        "[Errno 5] "]
