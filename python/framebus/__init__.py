"""framebus: zero-copy numpy access to a framebus shared-memory frame bus.

    import framebus, numpy as np
    with framebus.Reader("cam0") as r:
        with r.read(timeout=1.0) as frame:
            img = np.asarray(frame)      # read-only view into shared memory, no copy
            ...                          # the slot stays held while `img` lives

A thin layer over libframebus (docs/python.md): Reader/Frame, Writer/Claim,
buses()/info(), and one exception hierarchy under framebus.Error mapped from
the library's codes.
"""
from ._framebus import (  # noqa: F401
    ABI,
    PROTOCOL,
    SLOTS_MAX,
    AgainError,
    BusyError,
    Claim,
    ClosedError,
    CollisionError,
    CorruptError,
    Error,
    ForeignError,
    FormatError,
    Frame,
    NameError,
    NoBusError,
    NoSlotError,
    OverwrittenError,
    PermissionError,
    Reader,
    RemovedError,
    SizeError,
    StateError,
    TimeoutError,
    VersionError,
    Writer,
    WriterGoneError,
    buses,
    info,
    library_version,
    strerror,
)

__version__ = library_version

FORMATS = ("YUYV", "UYVY", "NV12", "I420", "RGB24", "BGR24", "GREY", "MJPEG")
