"""`MemoryStorage`: where the tile pipeline writes files that are never stored (Process API windows, the
real-data sample of the analysis-time evalscript check): a dict with the write side of `ObjectStorage`."""

from __future__ import annotations


class MemoryStorage:
    """Files by URL, in this process's memory."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, url: str, data: bytes) -> int:
        self.files[url] = data
        return len(data)

    def exists(self, url: str) -> bool:
        return url in self.files

    def delete(self, url: str) -> None:
        self.files.pop(url, None)
