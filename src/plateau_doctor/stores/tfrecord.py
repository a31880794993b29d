"""TensorBoard event files: TFRecord framing and the few Event/Summary fields a loss table needs.

A TFRecord is `uint64 length | uint32 masked-crc32c(length) | data | uint32 masked-crc32c(data)`,
little-endian; each `data` is a serialized tensorflow.Event. The Event, Summary and TensorProto
messages are declared here with only the fields we read (protobuf skips the others), so neither
TensorFlow nor the `tensorboard` package is needed: protobuf alone (the `tensorboard` extra) is
~3 MB and imports in ~30 ms, where `tensorboard` pulls ~80 MB (grpcio, its data server, pillow)
and reads a 400,000-point file 19x slower (its pure-Python CRC).

Every record is read: no reservoir sampling, unlike TensorBoard's own loader. CRCs are checked
where it matters: the first record (is this a TFRecord file at all?) and any record that does not
fit or does not decode (corruption, or a writer still at work).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ..read import InputError

CHUNK = 4 << 20  # bytes read at a time: event files can be gigabytes
HEADER = 12  # length (8) + its masked CRC (4)
FOOTER = 4  # the data's masked CRC
MAX_RECORD = 1 << 30  # a longer record is a corrupt length, not an event

# tensorflow/core/framework/types.proto: the dtypes a scalar summary's tensor is written in
DT_FLOAT, DT_DOUBLE, DT_STRING, DT_HALF = 1, 2, 7, 19
SCALAR_FORMATS = {DT_FLOAT: "<f", DT_DOUBLE: "<d", DT_HALF: "<e"}


@dataclass
class FileScan:
    """What one event file held, in file order."""

    scalars: list[tuple[int, str, float]] = field(default_factory=list)  # (step, tag, value)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (tag, text)
    records: int = 0
    problem: str | None = None  # why reading stopped before the end of the file


def scan_file(handle: BinaryIO, name: str) -> FileScan:
    """Every scalar and text summary of an event file. A file that is not a TFRecord file raises
    InputError; a record cut short or corrupt ends the scan there, and `problem` says so."""
    event_class = _event_class(name)
    event = event_class()
    scan = FileScan()
    for data in _records(handle, name, scan):
        try:
            event.ParseFromString(data)
        except Exception as exc:  # protobuf's DecodeError; its module path differs by backend
            scan.problem = f"record {scan.records + 1} does not decode as an event ({exc})"
            break
        scan.records += 1
        if event.HasField("summary"):
            _read_summary(event, scan)
    return scan


def _read_summary(event, scan: FileScan) -> None:
    step = int(event.step)
    for value in event.summary.value:
        kind = value.WhichOneof("value")
        if kind == "simple_value":
            scan.scalars.append((step, value.tag, float(value.simple_value)))
        elif kind == "tensor":
            tensor = value.tensor
            if tensor.dtype == DT_STRING:
                if tensor.string_val:
                    scan.texts.append((value.tag, bytes(tensor.string_val[0]).decode("utf-8", "replace")))
                continue
            number = _tensor_scalar(tensor)
            if number is not None:
                scan.scalars.append((step, value.tag, number))


def _tensor_scalar(tensor) -> float | None:
    """The one number of a scalar tensor (tf.summary.scalar, torch's new_style scalars), else None."""
    if tensor.dtype == DT_FLOAT and len(tensor.float_val) == 1:
        return float(tensor.float_val[0])
    if tensor.dtype == DT_DOUBLE and len(tensor.double_val) == 1:
        return float(tensor.double_val[0])
    if tensor.dtype == DT_HALF and len(tensor.half_val) == 1:
        return struct.unpack("<e", struct.pack("<H", tensor.half_val[0] & 0xFFFF))[0]
    fmt = SCALAR_FORMATS.get(tensor.dtype)
    if fmt and len(tensor.tensor_content) == struct.calcsize(fmt):
        return struct.unpack(fmt, tensor.tensor_content)[0]
    return None


def _records(handle: BinaryIO, name: str, scan: FileScan) -> Iterator[bytes]:
    """The data of each complete record. Stops, setting scan.problem, at a record that is cut
    short (a writer still at work, or a truncated copy) or whose length is corrupt."""
    buffer = _Buffer(handle, name)
    checked = False  # the first record's length CRC proves this is a TFRecord file
    while buffer.have(HEADER):
        at = buffer.at
        length = struct.unpack_from("<Q", buffer.data, at)[0]
        if not checked or length > MAX_RECORD:
            if not _length_crc_ok(buffer.data, at):
                if not checked:
                    raise InputError(name, "not a TensorBoard event file (no TFRecord header)")
                scan.problem = f"corrupt record length at byte {buffer.offset + at:,}"
                return
            checked = True
        if not buffer.have(HEADER + length + FOOTER):
            break
        start = buffer.at + HEADER
        yield bytes(buffer.data[start : start + length])
        buffer.at = start + length + FOOTER
    left = len(buffer.data) - buffer.at
    if left:
        scan.problem = (
            f"the last record is cut short ({left} bytes at byte {buffer.offset + buffer.at:,}): "
            "a run still writing, or a truncated copy"
        )


class _Buffer:
    """The file's bytes from the current record on, read a chunk at a time."""

    def __init__(self, handle: BinaryIO, name: str) -> None:
        self.handle, self.name = handle, name
        self.data = bytearray()
        self.at = 0  # start of the current record in data
        self.offset = 0  # file offset of data[0]
        self.eof = False

    def have(self, n: int) -> bool:
        """Are there n bytes from `at` on? Reads more as needed; False at end of file."""
        while len(self.data) - self.at < n and not self.eof:
            del self.data[: self.at]
            self.offset += self.at
            self.at = 0
            try:
                chunk = self.handle.read(max(CHUNK, n))
            except OSError as exc:
                raise InputError(self.name, f"cannot read: {exc}") from None
            self.eof = not chunk
            self.data += chunk
        return len(self.data) - self.at >= n


# -- CRC32C (Castagnoli), only for the few records checked ----------------------------------------
@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _crc32c(data: bytes) -> int:
    table = _crc_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant."""
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _length_crc_ok(buffer: bytearray, at: int) -> bool:
    if len(buffer) - at < HEADER:
        return False
    return masked_crc(bytes(buffer[at : at + 8])) == struct.unpack_from("<I", buffer, at + 8)[0]


# -- the messages, declared at run time with only the fields read ---------------------------------
NO_PROTOBUF = "reading TensorBoard event files needs protobuf: pip install 'plateau-doctor[tensorboard]'"


def _event_class(name: str):
    try:
        return _build_event_class()
    except ImportError:
        raise InputError(name, NO_PROTOBUF) from None


@functools.cache  # once per process: a descriptor pool is not cheap to rebuild
def _build_event_class():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="plateau_doctor_event.proto", package="plateau_doctor", syntax="proto3"
    )

    def message(msg_name, fields, oneof=None):
        msg = proto.message_type.add(name=msg_name)
        if oneof:
            msg.oneof_decl.add(name=oneof)
        for field_name, number, kind, repeated, type_name, in_oneof in fields:
            f = msg.field.add(
                name=field_name,
                number=number,
                type=kind,
                label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL,
            )
            if type_name:
                f.type_name = f".plateau_doctor.{type_name}"
            if in_oneof:
                f.oneof_index = 0

    # tensorflow/core/framework/tensor.proto (TensorProto), summary.proto, util/event.proto
    message(
        "Tensor",
        [
            ("dtype", 1, F.TYPE_INT32, False, None, False),
            ("tensor_content", 4, F.TYPE_BYTES, False, None, False),
            ("float_val", 5, F.TYPE_FLOAT, True, None, False),
            ("double_val", 6, F.TYPE_DOUBLE, True, None, False),
            ("string_val", 8, F.TYPE_BYTES, True, None, False),
            ("half_val", 13, F.TYPE_INT32, True, None, False),
        ],
    )
    message(
        "Value",
        [
            ("tag", 1, F.TYPE_STRING, False, None, False),
            ("simple_value", 2, F.TYPE_FLOAT, False, None, True),
            ("image", 4, F.TYPE_BYTES, False, None, True),
            ("histo", 5, F.TYPE_BYTES, False, None, True),
            ("audio", 6, F.TYPE_BYTES, False, None, True),
            ("tensor", 8, F.TYPE_MESSAGE, False, "Tensor", True),
        ],
        oneof="value",
    )
    message("Summary", [("value", 1, F.TYPE_MESSAGE, True, "Value", False)])
    message(
        "Event",
        [
            ("wall_time", 1, F.TYPE_DOUBLE, False, None, False),
            ("step", 2, F.TYPE_INT64, False, None, False),
            ("summary", 5, F.TYPE_MESSAGE, False, "Summary", False),
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    descriptor = pool.FindMessageTypeByName("plateau_doctor.Event")
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.21
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)
