"""A FUSE test never passes by skipping where FUSE should work."""
import pytest

from tests.conftest import skip_or_fail_without_fuse


def test_a_skipped_fuse_test_fails_where_fuse_should_work(monkeypatch):
    """On a machine like CI's (root, /dev/fuse) a FUSE test that would skip fails instead."""
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("os.path.exists", lambda path: path == "/dev/fuse")
    with pytest.raises(pytest.fail.Exception, match="FUSE should work here"):
        skip_or_fail_without_fuse("libfuse3.so.3 is not installed")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception, match="FUSE unavailable"):
        skip_or_fail_without_fuse("libfuse3.so.3 is not installed")
