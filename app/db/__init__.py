"""Database: table definitions, the engine, tenant-scoped transactions, migrations."""
