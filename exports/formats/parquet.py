"""Parquet: typed columns, zstd, written row group by row group so memory stays flat.

The writer streams CSV rows (exports.formats.csv: on PostgreSQL the database writes them);
pyarrow's CSV reader turns each block into typed Arrow columns, and blocks are gathered into row
groups of about ROW_GROUP_BYTES before they are written. created_at is a UTC timestamp in
microseconds, whole numbers are int64, cost a double, is_success a boolean; ids, text and the
JSON payloads (their JSON text, as in the JSONL export) are strings. The file's metadata names
the field catalogue's version and the fields.
"""

from __future__ import annotations

from exports.fields import FIELD_CATALOGUE_VERSION, ExportField
from exports.formats.base import ExportFormat, Write
from exports.formats.csv import CSV_ROWS

ROW_GROUP_BYTES = 32 * 1024 * 1024  # Arrow bytes gathered per row group (~20k logs of 1.5 KB)
METADATA_VERSION_KEY = b"log_exports.fields_version"
METADATA_FIELDS_KEY = b"log_exports.fields"


def arrow_schema(fields: list[ExportField]):
    import pyarrow as pa

    types = {
        "uuid": pa.string(),
        "text": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "json": pa.string(),
        "integer": pa.int64(),
        "decimal": pa.float64(),
        "boolean": pa.bool_(),
    }
    columns = [
        pa.field(field.name, types[field.kind],
                 metadata={b"log_exports.kind": field.kind.encode(),
                           b"description": field.description.encode()})
        for field in fields
    ]
    return pa.schema(columns, metadata={
        METADATA_VERSION_KEY: str(FIELD_CATALOGUE_VERSION).encode(),
        METADATA_FIELDS_KEY: ",".join(field.name for field in fields).encode(),
    })


class _WriteFile:
    """The file object ParquetWriter writes to: each write goes straight on to the sink."""

    closed = False

    def __init__(self, write: Write):
        self.out = write
        self.position = 0

    def write(self, data) -> int:
        data = bytes(data)
        self.out(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class ParquetEncoder:
    skipped = 0

    def __init__(self, fields: list[ExportField], write: Write, header: bool = True):
        import pyarrow.csv
        import pyarrow.parquet

        self.schema = arrow_schema(fields)
        self.csv = pyarrow.csv
        self.parse = pyarrow.csv.ParseOptions(newlines_in_values=True)
        self.convert = pyarrow.csv.ConvertOptions(
            column_types=self.schema, strings_can_be_null=True, quoted_strings_can_be_null=False,
            null_values=[""],
        )
        self.names = self.schema.names
        self.file = _WriteFile(write)
        self.writer = pyarrow.parquet.ParquetWriter(self.file, self.schema, compression="zstd")
        self.pending: list = []
        self.pending_bytes = 0

    def feed(self, data: bytes) -> None:
        import pyarrow as pa

        read = self.csv.ReadOptions(column_names=self.names, block_size=len(data) + 1,
                                    use_threads=False)
        table = self.csv.read_csv(pa.py_buffer(data), read_options=read,
                                  parse_options=self.parse, convert_options=self.convert)
        # The parsed table has the columns' types but not their metadata: the file's schema.
        self.pending.append(pa.Table.from_arrays(table.columns, schema=self.schema))
        self.pending_bytes += table.nbytes
        if self.pending_bytes >= ROW_GROUP_BYTES:
            self._write_row_group()

    def _write_row_group(self) -> None:
        import pyarrow as pa

        if self.pending:
            table = pa.concat_tables(self.pending)
            self.writer.write_table(table, row_group_size=table.num_rows)
        self.pending, self.pending_bytes = [], 0

    def close(self) -> None:
        self._write_row_group()
        self.writer.close()


PARQUET = ExportFormat(
    name="parquet", member="PARQUET", label="Parquet",
    summary="Typed columns, zstd-compressed: for DuckDB, pandas, polars, Spark and warehouses.",
    content_type="application/vnd.apache.parquet", rows=CSV_ROWS, open_encoder=ParquetEncoder,
)
