"""CSV files as city open-data portals publish them: any delimiter, any encoding."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator

from pydantic import Field, field_validator

from icity.connectors.base import ConnectorConfig, Record, SourceError
from icity.connectors.document import DocumentConnector
from icity.connectors.streams import refuse_html


class CsvConfig(ConnectorConfig):
    delimiter: str = Field(",", description="One character; ';' is common in Spanish and Italian open data.")
    encoding: str = Field("utf-8", description="e.g. latin-1 or cp1252 for older portals.")
    skip_rows: int = Field(0, ge=0, description="Rows before the header (titles, notes); blank lines not counted.")

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("The delimiter must be exactly one character, e.g. ',' or ';'.")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"Unknown encoding '{value}'; e.g. utf-8, latin-1, cp1252.") from None
        return value


class CsvConnector(DocumentConnector):
    """Rows after the header become records keyed by the header's names; values stay text
    (a decimal comma is the mapping's business). Record numbers count data rows from 1."""

    kind = "csv"
    Config = CsvConfig

    @classmethod
    def records(cls, config: CsvConfig, body: Iterable[bytes]) -> Iterator[Record]:
        lines = _decoded_lines(refuse_html(body, "The CSV source"), config.encoding)
        # csv.reader pulls line by line, so quoted fields spanning lines still work.
        reader = csv.reader(lines, delimiter=config.delimiter, strict=True)
        row_start = 1  # the line the row being read starts on: an unclosed quote is reported there, not at the end

        def rows() -> Iterator[list[str]]:
            nonlocal row_start
            while True:
                row_start = reader.line_num + 1
                row = next(reader, None)
                if row is None:
                    return
                if row:
                    yield row

        try:
            remaining = rows()
            for _ in range(config.skip_rows):
                next(remaining, None)
            yield from header_records(remaining, "The CSV source", lambda header: _delimiter_hint(header, config.delimiter))
        except csv.Error as error:
            # Past a broken quote the reader cannot tell where the next row starts: fail the run.
            raise SourceError(
                f"The CSV source is malformed in the row starting at line {row_start}: {error}"
                f"{' (a quoted field opened in that row is not closed)' if 'unexpected end of data' in str(error) else ''}."
            ) from None


DELIMITER_CANDIDATES = (",", ";", "\t", "|")


def _delimiter_hint(header: list[str], delimiter: str) -> str:
    """When the header is one field that another common delimiter splits into several, say so."""
    if len(header) != 1:
        return ""
    splits = {candidate: len(header[0].split(candidate)) for candidate in DELIMITER_CANDIDATES if candidate != delimiter}
    likely = max(splits, key=lambda candidate: splits[candidate])
    if splits[likely] < 2:
        return ""
    return (
        f" — the delimiter may be wrong: the header is one field with {delimiter!r} "
        f"but {splits[likely]} columns with {likely!r} (set connector.delimiter)"
    )


def header_records(
    rows: Iterator[list[str]], source: str, hint: Callable[[list[str]], str] | None = None
) -> Iterator[Record]:
    """The rows after the first (the header) as records keyed by its names; a row with
    another number of fields is flagged, with what `hint` says of the header (a likely wrong
    delimiter). Also reads the tables of a GTFS zip."""
    header = next(rows, None)
    if header is None:
        raise SourceError(f"{source} is empty: no header row.")
    names = _field_names(header, source)
    header_hint = hint(header) if hint else ""
    for number, row in enumerate(rows, start=1):
        data = {name: value for name, value in zip(names, row, strict=False) if name}
        problem = None
        if len(row) != len(names):
            problem = f"row has {_fields(len(row))}, the header {len(names)}{header_hint}"
        yield Record(number, data, problem)


def _fields(count: int) -> str:
    return "1 field" if count == 1 else f"{count} fields"


def _field_names(header: list[str], source: str) -> list[str]:
    names = [name.strip() for name in header]
    seen: set[str] = set()
    for name in names:
        # Empty names (a trailing delimiter) are dropped; a repeated name would make records ambiguous.
        if name and name in seen:
            raise SourceError(f"{source}'s header repeats the column '{name}'.")
        seen.add(name)
    return names


def _decoded_lines(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Decode chunk by chunk and yield lines with their line ends, as csv.reader expects."""
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # strips a BOM, which would otherwise glue itself to the first column name
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    decoded_bytes = 0  # bytes and lines handed to the decoder so far, to say where a bad byte is
    decoded_lines = 0
    pending = ""

    def decode(chunk: bytes, final: bool = False) -> str:
        nonlocal decoded_bytes, decoded_lines
        buffered = len(decoder.getstate()[0])  # an incomplete character kept from the previous chunk
        try:
            text = decoder.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            at = decoded_bytes - buffered + error.start
            line = decoded_lines + error.object[: error.start].count(b"\n") + 1
            name = encoding.removesuffix("-sig")
            raise SourceError(
                f"The CSV source is not valid {name} at byte {at} (line {line}): "
                "set connector.encoding (e.g. latin-1)."
            ) from None
        if "\x00" in text:
            line = decoded_lines + text[: text.index("\x00")].count("\n") + 1
            raise SourceError(
                f"The CSV source holds NUL characters (line {line}): it is not {encoding.removesuffix('-sig')} text "
                "but binary or UTF-16; set connector.encoding (e.g. utf-16) or check the URL."
            )
        decoded_bytes += len(chunk)
        decoded_lines += text.count("\n")
        return text

    for chunk in chunks:
        pending += decode(chunk)
        lines = pending.split("\n")
        pending = lines.pop()
        for line in lines:
            yield line + "\n"
    pending += decode(b"", final=True)
    if pending:
        yield pending
